package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/plugins/github/source"
)

// TestExampleConfig: the HCL example of docs/github-notes.md loads, and the
// plugin accepts the JSON the host makes of each source block.
func TestExampleConfig(t *testing.T) {
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
		c, err := source.ParseConfig(s.Config)
		if err != nil {
			t.Errorf("source %s: %v\nconfig: %s", s.Name, err, s.Config)
			continue
		}
		if _, err := c.Routes(); err != nil {
			t.Errorf("source %s: %v", s.Name, err)
		}
		env := func(k string) string {
			if k == source.DefaultSecretEnv {
				return "example secret"
			}
			return ""
		}
		src := source.New(nil, source.WithEnv(env))
		var m map[string]any
		if err := json.Unmarshal(s.Config, &m); err != nil {
			t.Fatal(err)
		}
		m["state_dir"] = t.TempDir()
		raw, _ := json.Marshal(m)
		if err := src.Configure(context.Background(), raw); err != nil {
			t.Errorf("source %s: Configure: %v", s.Name, err)
		}
	}
}
