package main

import (
	"context"
	"strings"
	"testing"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/plugins/pulse/listener"
	"github.com/herder-ci/herder/plugins/taskcluster/poller"
)

// TestExampleConfig: the HCL example of docs/pulse-notes.md loads, and both
// plugins accept the JSON the host makes of their config blocks.
func TestExampleConfig(t *testing.T) {
	t.Setenv("HERDER_PULSE_URL", "amqps://herder:secret@pulse.example:5671")
	cfg, diags := config.Load("testdata/example.hcl")
	if diags.HasErrors() {
		var b strings.Builder
		_ = config.WriteDiagnostics(&b, nil, diags)
		t.Fatalf("example config:\n%s", b.String())
	}
	if len(cfg.Sources) != 2 {
		t.Fatalf("%d sources", len(cfg.Sources))
	}
	for _, s := range cfg.Sources {
		var err error
		switch s.Plugin {
		case "pulse":
			err = listener.New(nil).Configure(context.Background(), s.Config)
		case "taskcluster":
			_, err = poller.ParseConfig(s.Config)
		}
		if err != nil {
			t.Errorf("source %s: %v\nconfig: %s", s.Name, err, s.Config)
		}
	}
}
