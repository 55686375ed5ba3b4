// Command pulse is herder's Pulse source plugin: Taskcluster task messages
// and hg/GitHub pushes from Mozilla Pulse (RabbitMQ) become jobs and pushes
// exactly as Treeherder makes them. See docs/pulse-notes.md.
package main

import (
	"github.com/herder-ci/herder/plugins/pulse/listener"
	"github.com/herder-ci/herder/sdk"
)

func main() {
	sdk.ServeSource(listener.New(nil))
}
