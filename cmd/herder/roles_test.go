package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/queue"
	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/sdk"
)

func TestParseRoles(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
		bad  bool
	}{
		{in: []string{"all"}, want: "web,ingest,worker,scheduler"},
		{in: []string{"web,scheduler"}, want: "web,scheduler"},
		{in: []string{"worker", "ingest"}, want: "ingest,worker"},
		{in: []string{"web, worker"}, want: "web,worker"},
		{in: []string{"chef"}, bad: true},
		{in: []string{""}, bad: true},
		{in: nil, bad: true},
	} {
		r, err := parseRoles(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("parseRoles(%q) = %v, want an error", c.in, r)
			}
			continue
		}
		if err != nil || r.String() != c.want {
			t.Errorf("parseRoles(%q) = %q, %v; want %q", c.in, r.String(), err, c.want)
		}
	}
	captureLogs(t)
	if code := run([]string{"serve", "--role", "chef"}); code != 2 {
		t.Fatalf("unknown role: exit code %d, want 2", code)
	}
}

// serveRoles runs serve in-process with some roles, the way `herder serve
// --role` does, and returns its base URL and a stop function.
func serveRoles(t *testing.T, r roles) (string, func()) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, addr, false, r) }()
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve %s did not answer: %v", r, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitReady(t, base)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve %s: %v", r, err)
			}
		}
	}
	t.Cleanup(stop)
	return base, stop
}

// A web,scheduler process and a worker process share MariaDB and RabbitMQ:
// a batch a source would publish is stored by the worker and served by the
// web process; the worker answers only health, readiness and metrics.
func TestRolesShareWorkOverTheQueue(t *testing.T) {
	dsn := testenv.MySQLDSN(t)
	amqpURL := testenv.AMQPURL(t)
	logs := captureLogs(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs)
		}
	})
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "herder-rolestest-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		queues, exchange := queue.Topology(prefix)
		testenv.DeleteRabbitTopology(t, amqpURL, queues, exchange)
	})
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "herder.hcl")
	src := fmt.Sprintf(`data_dir = %q
storage {
  driver = "mysql"
  dsn    = %q
}
queue {
  url    = %q
  prefix = %q
}
`, dir, dsn, amqpURL, prefix)
	if err := os.WriteFile(cfgPath, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	global.configPath = cfgPath
	t.Cleanup(func() { global.configPath = "" })

	web, _ := serveRoles(t, roles{web: true, scheduler: true})
	worker, stopWorker := serveRoles(t, roles{worker: true})

	var ready struct {
		Checks map[string]string `json:"checks"`
	}
	if code := getJSON(t, worker+"/readyz", &ready); code != 200 || ready.Checks["queue"] != "ok" {
		t.Fatalf("worker readyz = %d %+v", code, ready)
	}
	var nf struct {
		Detail string `json:"detail"`
	}
	if code := getJSON(t, worker+"/api/repository/", &nf); code != 404 || nf.Detail == "" {
		t.Fatalf("worker served the API: %d %+v", code, nf)
	}

	// What the ingest role's sink publishes for a source's batch.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	br, err := queue.Dial(ctx, queue.Options{URL: amqpURL, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	rev := fmt.Sprintf("%040x", 42)
	push := sdk.PushDatum{Project: "autoland", Revision: rev, Author: "someone@example.com", PushTimestamp: 1700000000,
		Revisions: []sdk.Revision{{Revision: rev, Author: "someone <someone@example.com>", Comment: "Bug 1 - fix"}}}
	job := sdk.JobDatum{Project: "autoland", Revision: rev, Job: sdk.Job{JobGUID: "roles/0", State: sdk.StateCompleted,
		Result: "testfailed", BuildPlatform: sdk.Platform{Platform: "linux64"}, MachinePlatform: sdk.Platform{Platform: "linux64"},
		Name: "test-linux64/opt-mochitest-1", JobSymbol: "M1"}}
	body, _ := json.Marshal(map[string]any{"source": "test", "events": []sdk.Event{{ID: "p", Push: &push}, {ID: "j", Job: &job}}})
	if err := br.Publish(ctx, queue.Store, queue.Message{Body: body}); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(20 * time.Second)
	for {
		var jobs struct {
			Results []struct {
				GUID string `json:"job_guid"`
			} `json:"results"`
		}
		if code := getJSON(t, web+"/api/project/autoland/jobs/", &jobs); code == 200 && len(jobs.Results) == 1 && jobs.Results[0].GUID == "roles/0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the job published to the store queue never reached the API")
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopWorker()
	list, err := br.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Messages != 0 || s.DeadMessages != 0 {
			t.Errorf("queue %s: %d ready, %d dead after the worker drained", s.Queue, s.Messages, s.DeadMessages)
		}
	}
}
