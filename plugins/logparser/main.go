// Command logparser is herder's log parser plugin: a processor that takes
// log.parse tasks, downloads the job's log from an allowed host and returns
// Treeherder's error lines, failure lines, group results and performance
// data (see docs/logparser-plugin-notes.md).
package main

import (
	"github.com/herder-ci/herder/plugins/logparser/processor"
	"github.com/herder-ci/herder/sdk"
)

// version is the plugin's release, shown by `herder plugins list`; the
// parser's rules are versioned separately (processor.AlgorithmVersion).
var version = "1.0.0"

func main() {
	sdk.ServeProcessor(processor.New(sdk.Logger()), sdk.WithVersion(version))
}
