// Command taskcluster is herder's polling source plugin: it follows one hg
// repository's pushlog and the Taskcluster tasks of its pushes through
// public HTTP APIs, for installations without Pulse credentials. See
// docs/pulse-notes.md.
package main

import (
	"github.com/herder-ci/herder/plugins/taskcluster/poller"
	"github.com/herder-ci/herder/sdk"
)

func main() {
	sdk.ServeSource(poller.New(nil))
}
