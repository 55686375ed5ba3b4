package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/internal/pulsetest"
	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
)

const (
	testQueue = "queue/herder/herder-test"
	testDLQ   = "queue/herder/herder-test-dead-letter"
)

// testRepos are the repositories of the fixtures, for the plugin's push
// routing and for the store.
var testRepos = []struct {
	name, url, dvcs string
	branches        []string
	prs             bool
}{
	{"autoland", "https://hg.mozilla.org/integration/autoland", "hg", nil, false},
	{"try", "https://hg.mozilla.org/try", "hg", nil, false},
	{"mozilla-inbound", "https://hg.mozilla.org/integration/mozilla-inbound", "hg", nil, false},
	{"android-components", "https://github.com/mozilla-mobile/android-components", "git", []string{"master"}, false},
	{"test_treeherder", "https://github.com/mozilla/test_treeherder", "git", []string{"master"}, true},
}

// rig is a fake internet, a fresh vhost with the exchanges a test uses, and
// a confirming publisher.
type rig struct {
	up     *pulsetest.Upstream
	broker *pulsetest.Broker
	pub    *pulsetest.Publisher
}

var allExchanges = []string{
	transform.ExchangeTaskDefined, transform.ExchangeTaskPending, transform.ExchangeTaskRunning,
	transform.ExchangeTaskCompleted, transform.ExchangeTaskFailed, transform.ExchangeTaskException,
	transform.ExchangeHgPushesV1, transform.ExchangeHgPushesV2,
	transform.ExchangeGitHubPush, transform.ExchangeGitHubPullRequest,
}

func newRig(t testing.TB, extraExchanges ...string) *rig {
	t.Helper()
	r := &rig{up: pulsetest.NewUpstream(t), broker: pulsetest.NewBroker(t, testenv.AMQPURL(t))}
	r.up.SetEnv(t)
	r.broker.DeclareExchanges(t, append(allExchanges, extraExchanges...)...)
	r.pub = r.broker.NewPublisher(t)
	return r
}

// declareQueue declares the plugin's queue bound to every exchange, so that
// messages published before the plugin has connected wait for it.
func (r *rig) declareQueue(t testing.TB) {
	t.Helper()
	r.broker.DeclareQueue(t, testQueue, allExchanges...)
}

// config is the plugin's settings for the rig, with overrides.
func (r *rig) config(t testing.TB, overrides map[string]any) []byte {
	t.Helper()
	var repos []map[string]any
	for _, tr := range testRepos {
		repos = append(repos, map[string]any{"name": tr.name, "url": tr.url, "branches": tr.branches, "accepts_pull_requests": tr.prs})
	}
	cfg := map[string]any{
		"sources":        []map[string]any{{"root_url": "https://taskcluster.net", "pulse_url": r.broker.URL, "hgmo": true, "github": true}},
		"queue_name":     "herder-test",
		"repositories":   repos,
		"allowed_hosts":  []string{"taskcluster.net", "hg.mozilla.org", "api.github.com"},
		"batch_wait":     "20ms",
		"http_backoff":   "10ms",
		"retry_backoff":  "50ms",
		"reconnect_min":  "100ms",
		"reconnect_max":  "1s",
		"stats_interval": "-1s",
	}
	for k, v := range overrides {
		cfg[k] = v
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (r *rig) publish(t testing.TB, exchange, key string, body []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.pub.Publish(ctx, exchange, key, body); err != nil {
		t.Fatal(err)
	}
}

// newStore opens a migrated store of backend ("sqlite" or "mysql") holding
// the test repositories.
func newStore(t testing.TB, backend string) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	var dsn string
	if backend == "mysql" {
		dsn = testenv.MySQLDSN(t)
	} else {
		dsn = filepath.Join(t.TempDir(), "herder.db")
	}
	st, err := sqlstore.Open(ctx, backend, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.SeedFailureClassifications(ctx); err != nil {
		t.Fatal(err)
	}
	dev := model.RepositoryGroup{Name: "development"}
	var repos []model.Repository
	for _, tr := range testRepos {
		repos = append(repos, model.Repository{Name: tr.name, Group: dev, DVCSType: tr.dvcs, URL: tr.url,
			ActiveStatus: "active", Branches: tr.branches, AcceptsPullRequests: tr.prs})
	}
	if err := st.UpsertRepositories(ctx, []model.RepositoryGroup{dev}, repos); err != nil {
		t.Fatal(err)
	}
	return st
}

func repoIDs(t testing.TB, st *sqlstore.Store) map[string]int64 {
	t.Helper()
	list, err := st.Repositories(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range list {
		out[r.Name] = r.ID
	}
	return out
}

// storePush stores a bare push for a revision, so jobs naming it are stored
// rather than parked.
func storePush(t testing.TB, p *ingest.Pipeline, project, revision string) {
	t.Helper()
	err := p.Accept(context.Background(), "test", []sdk.Event{{Push: &sdk.PushDatum{
		Project: project, Revision: revision, Author: "test@example.com", PushTimestamp: 1700000000,
		Revisions: []sdk.Revision{{Revision: revision, Author: "Test <test@example.com>", Comment: "test push"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s; %s", timeout, what, state)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// counter counts accepted events by key.
type counter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *counter) add(events []sdk.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	for _, e := range events {
		c.counts[eventKey(e)]++
	}
}

// total counts every accepted event, duplicates included.
func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.counts {
		n += v
	}
	return n
}

func (c *counter) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.counts)
}

// eventKey identifies what an event stores: a job by guid, a push by
// revision.
func eventKey(e sdk.Event) string {
	switch {
	case e.Job != nil:
		return "job/" + e.Job.Job.JobGUID
	case e.Push != nil:
		return "push/" + e.Push.Revision
	}
	return ""
}

// requireRabbitmqctl skips (or fails, in CI) without a usable rabbitmqctl.
func requireRabbitmqctl(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("rabbitmqctl"); err != nil || !pulsetest.HaveRabbitmqctl() {
		testenv.Missing(t, "rabbitmqctl not usable here: it reads exact queue counts and restarts the broker")
	}
}
