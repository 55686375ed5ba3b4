// Command github is herder's GitHub source plugin: webhooks (push,
// pull_request, workflow_job, workflow_run, check_run) and REST polling for
// repositories without webhooks, turned into pushes shaped as Treeherder
// shapes GitHub pushes and GitHub Actions jobs. See docs/github-notes.md.
package main

import (
	"github.com/herder-ci/herder/plugins/github/source"
	"github.com/herder-ci/herder/sdk"
)

func main() {
	sdk.ServeSource(source.New(nil))
}
