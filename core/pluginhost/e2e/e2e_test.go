// Package e2e_test runs a source plugin binary under the plugin supervisor
// with the real ingest pipeline and SQLite store as the durable sink. It is a
// package of its own so the supervisor's tests do not depend on the store.
package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/pluginhost"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

// TestSourceToStoreEndToEnd kills the plugin with SIGKILL mid-stream and
// checks the database holds every push and job exactly once.
func TestSourceToStoreEndToEnd(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "herder.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.SeedFailureClassifications(ctx); err != nil {
		t.Fatal(err)
	}
	dev := model.RepositoryGroup{ID: 1, Name: "development"}
	if err := st.UpsertRepositories(ctx, []model.RepositoryGroup{dev}, []model.Repository{
		{ID: 1, Name: "mozilla-central", Group: dev, DVCSType: "hg", URL: "https://hg.mozilla.org/mozilla-central", ActiveStatus: "active"},
	}); err != nil {
		t.Fatal(err)
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "host", Level: hclog.Warn, Output: testWriter{t}})
	pipeline := ingest.NewPipeline(st, log, nil)

	// The plugin directory: the test source plugin, pinned.
	dir := t.TempDir()
	bin, err := plugintest.BuildMain(dir, "github.com/herder-ci/herder/sdk/plugintest/internal/testplugins/source")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := pluginhost.FileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	lf, _ := pluginhost.ReadLockFile(dir)
	lf.Set(pluginhost.LockEntry{Name: "queue", Path: filepath.Base(bin), SHA256: sum})
	if err := lf.Write(); err != nil {
		t.Fatal(err)
	}

	const pushes, jobsPerPush = 10, 15
	q := plugintest.NewQueue(t)
	put := func(id string, e sdk.Event) {
		body, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		q.Put(id, body)
	}
	rev := func(p int) string { return fmt.Sprintf("%040x", p+1) }
	for p := 0; p < pushes; p++ {
		put("push-"+rev(p), sdk.Event{Push: &sdk.PushDatum{
			Project: "mozilla-central", Revision: rev(p), Author: "dev@example.org", PushTimestamp: 1700000000 + int64(p),
			Revisions: []sdk.Revision{{Author: "dev@example.org", Comment: "Bug 1 - change", Revision: rev(p)}},
		}})
	}

	cfg := &config.Config{PluginDir: dir, Sources: []config.Source{{Name: "pulse", Plugin: "queue",
		Config: []byte(fmt.Sprintf(`{"url": %q, "batch": 20, "lease_ms": 300, "poll_ms": 5}`, q.URL))}}}
	sup, err := pluginhost.New(cfg, pluginhost.Options{
		Sink:    pipeline,
		Logger:  log,
		Backoff: pluginhost.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	defer sup.Stop(context.Background())
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := sup.WaitRunning(wctx, "pulse"); err != nil {
		t.Fatal(err)
	}
	status := func() pluginhost.PluginStatus { return sup.Status()[0] }

	for p := 0; p < pushes; p++ {
		for j := 0; j < jobsPerPush; j++ {
			guid := fmt.Sprintf("job-%d-%d", p, j)
			put(guid, sdk.Event{Job: &sdk.JobDatum{Project: "mozilla-central", Revision: rev(p), Job: sdk.Job{
				JobGUID: guid, Name: "test-linux64/opt-mochitest-" + fmt.Sprint(j), JobSymbol: "M" + fmt.Sprint(j),
				State: sdk.StateCompleted, Result: sdk.ResultSuccess, Tier: 1, ProductName: "firefox",
				BuildPlatform:    sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"},
				MachinePlatform:  sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"},
				OptionCollection: map[string]bool{"opt": true},
				SubmitTimestamp:  1700000000, StartTimestamp: 1700000100, EndTimestamp: 1700000400,
			}}})
		}
		if p == pushes/2 {
			deadline := time.Now().Add(10 * time.Second)
			for status().Events < 40 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if err := syscall.Kill(status().PID, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(q.Unacked()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages never acked; status %+v", len(q.Unacked()), status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	counts, err := st.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts["push"] != pushes || counts["job"] != pushes*jobsPerPush {
		t.Errorf("database holds %d pushes and %d jobs, want %d and %d", counts["push"], counts["job"], pushes, pushes*jobsPerPush)
	}
	s := status()
	if s.Restarts < 1 {
		t.Errorf("the plugin was not restarted: %+v", s)
	}
	t.Logf("counts %v; queue %+v; status events=%d batches=%d nacks=%d restarts=%d", counts, q.Stats(), s.Events, s.Batches, s.Nacks, s.Restarts)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
