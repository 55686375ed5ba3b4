package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/core/pluginhost"
	"github.com/herder-ci/herder/sdk/plugintest"
)

// A processor that never comes up (its binary no longer matches the lock)
// is passed over, and the log parser configured after it is still found:
// the log queues' consumer used to wait for every processor first and,
// on the first failure, consume nothing.
func TestParsesLogsPassesOverAProcessorThatNeverRuns(t *testing.T) {
	captureLogs(t)
	root := t.TempDir()
	pluginDir := filepath.Join(root, "plugins")
	if err := os.MkdirAll(pluginDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var bugmatcher string
	for _, p := range []string{"bugmatcher", "logparser"} {
		bin, err := plugintest.BuildMain(pluginDir, "github.com/herder-ci/herder/plugins/"+p)
		if err != nil {
			t.Fatal(err)
		}
		if p == "bugmatcher" {
			bugmatcher = bin
		}
	}
	cfgPath := filepath.Join(root, "herder.hcl")
	if err := os.WriteFile(cfgPath, []byte(`plugin_dir = "plugins"
data_dir   = "data"
plugin "bugmatcher" {}
plugin "logparser" {}
processor "bugmatcher" {
  plugin = "bugmatcher"
}
processor "logparser" {
  plugin = "logparser"
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runBugsCLI(t, "--config", cfgPath, "plugins", "lock"); code != 0 {
		t.Fatalf("plugins lock: exit %d: %s %s", code, out, errOut)
	}
	// Changed after it was pinned: the supervisor refuses to launch it.
	f, err := os.OpenFile(bugmatcher, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("tampered"))
	f.Close()

	cfg, diags := config.Load(cfgPath)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	sup, err := pluginhost.New(cfg, pluginhost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.Cleanup(func() { _ = sup.Stop(context.Background()) })
	log := hclog.NewNullLogger()
	if parsesLogs(ctx, sup, "bugmatcher", log) {
		t.Error("a processor that cannot start was taken for a log parser")
	}
	if ctx.Err() != nil {
		t.Fatal("waiting for the tampered processor did not end before the deadline")
	}
	if !parsesLogs(ctx, sup, "logparser", log) {
		t.Error("the log parser after it was not found")
	}
}
