// Command bugmatcher is herder's bug matcher processor plugin: it turns a
// job's error lines into search terms and picks, from the candidate bugs the
// host finds for each term, the ones Treeherder would suggest. See
// docs/bugmatcher-notes.md.
package main

import (
	"github.com/herder-ci/herder/plugins/bugmatcher/match"
	"github.com/herder-ci/herder/sdk"
)

func main() {
	sdk.ServeProcessor(match.New())
}
