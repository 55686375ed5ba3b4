package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/herder-ci/herder/sdk/plugintest"
)

// TestConformance runs the SDK's source conformance kit against the built
// plugin: through refused batches, kill -9 and restarts, every posted job
// reaches the host at least once and the duplicates collapse.
func TestConformance(t *testing.T) {
	bin := plugintest.Build(t, ".")
	plugintest.SourceKit{
		Plugin: bin,
		Setup: func(t *testing.T) (plugintest.Upstream, []byte) {
			addr := plugintest.FreeAddr(t)
			up := plugintest.NewHTTPUpstream(t, "http://"+addr+"/jobs", func(i int) (string, []byte, http.Header) {
				id := fmt.Sprintf("ci-%d", i)
				body := fmt.Sprintf(`{"id": %q, "revision": "abcdef", "name": "build", "platform": "linux64", "state": "completed", "result": "success"}`, id)
				return id + "/completed", []byte(body), nil
			})
			return up, []byte(fmt.Sprintf(`{"listen": %q, "project": "try"}`, addr))
		},
	}.Run(t)
}
