package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/herder-ci/herder/plugins/github/api"
	"github.com/herder-ci/herder/plugins/github/ghtest"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

const testSecret = "It's a Secret to Everybody"

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2024, 9, 10, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sink records what a source sends; fail, when set, refuses batches.
type sink struct {
	mu      sync.Mutex
	batches [][]sdk.Event
	fail    func([]sdk.Event) error
}

var errRefused = errors.New("refused by the test host")

func (s *sink) Send(_ context.Context, evs ...sdk.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range evs {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("%w: %v", sdk.ErrRejected, err)
		}
	}
	if s.fail != nil {
		if err := s.fail(evs); err != nil {
			return err
		}
	}
	s.batches = append(s.batches, append([]sdk.Event(nil), evs...))
	return nil
}

func (s *sink) setFail(f func([]sdk.Event) error) {
	s.mu.Lock()
	s.fail = f
	s.mu.Unlock()
}

func (s *sink) events() []sdk.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sdk.Event
	for _, b := range s.batches {
		out = append(out, b...)
	}
	return out
}

func (s *sink) reset() {
	s.mu.Lock()
	s.batches = nil
	s.mu.Unlock()
}

// rig runs the source's webhook receiver against a fake GitHub.
type rig struct {
	t     *testing.T
	fake  *ghtest.Fake
	sink  *sink
	clk   *clock
	cfg   map[string]any
	src   *Source
	url   string
	stop  func()
	runCh chan error
}

func exampleRepos() []map[string]any {
	return []map[string]any{{"name": "example-app", "repo": "example-org/example-app", "branches": []string{"main", "release-*"},
		"accepts_pull_requests": true}}
}

func newRig(t *testing.T, extra map[string]any) *rig {
	t.Helper()
	r := &rig{t: t, fake: ghtest.New(t), sink: &sink{}, clk: newClock()}
	r.cfg = map[string]any{
		"listen": "127.0.0.1:0", "state_dir": t.TempDir(), "api_url": r.fake.URL(),
		"repositories": exampleRepos(), "stats_interval": -1,
	}
	for k, v := range extra {
		r.cfg[k] = v
	}
	r.start()
	return r
}

func (r *rig) config() []byte {
	b, err := json.Marshal(r.cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// start runs a fresh Source (a restarted plugin) on the same settings.
func (r *rig) start() {
	r.t.Helper()
	r.src = New(plugintest.TestLogger(r.t), WithClock(r.clk.now), WithEnv(func(k string) string {
		if k == DefaultSecretEnv {
			return testSecret
		}
		return ""
	}))
	if err := r.src.Configure(context.Background(), r.config()); err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.runCh = make(chan error, 1)
	go func() { r.runCh <- r.src.Run(ctx, r.config(), r.sink) }()
	actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer acancel()
	addr, err := r.src.Addr(actx)
	if err != nil {
		r.t.Fatalf("receiver did not start: %v", err)
	}
	r.url = "http://" + addr.String()
	stopped := false
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-r.runCh; err != nil {
			r.t.Errorf("Run: %v", err)
		}
	}
	r.t.Cleanup(r.stop)
}

func (r *rig) restart() {
	r.t.Helper()
	r.stop()
	r.start()
}

// post delivers body as GitHub would, signed with secret (none when
// empty), and returns the status and the decoded JSON reply.
func (r *rig) post(event, delivery string, body []byte, secret string) (int, map[string]any, http.Header) {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.url+"/webhook", bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/044aadd")
	if event != "" {
		req.Header.Set("X-GitHub-Event", event)
	}
	if delivery != "" {
		req.Header.Set("X-GitHub-Delivery", delivery)
	}
	if secret != "" {
		req.Header.Set("X-Hub-Signature-256", Sign([]byte(secret), body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var reply map[string]any
	if err := json.Unmarshal(raw, &reply); err != nil {
		r.t.Fatalf("reply is not JSON: %q", raw)
	}
	return resp.StatusCode, reply, resp.Header
}

// newPoller makes a poller over the fake for direct PollRepo calls.
func newPoller(t *testing.T, fake *ghtest.Fake, s *sink, clk *clock, extra map[string]any) (*poller, *Config) {
	t.Helper()
	cfg := map[string]any{"state_dir": t.TempDir(), "api_url": fake.URL(), "repositories": pollRepos()}
	for k, v := range extra {
		cfg[k] = v
	}
	raw, _ := json.Marshal(cfg)
	c, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	return pollerFor(t, c, fake, s, clk), c
}

func pollRepos() []map[string]any {
	r := exampleRepos()
	r[0]["poll"] = true
	return r
}

// pollerFor builds the poller Run would (a restart builds a new one).
func pollerFor(t *testing.T, c *Config, fake *ghtest.Fake, s *sink, clk *clock) *poller {
	t.Helper()
	src := New(plugintest.TestLogger(t), WithClock(clk.now))
	routes, err := c.Routes()
	if err != nil {
		t.Fatal(err)
	}
	client := newAPIClient(t, c, clk)
	return &poller{cfg: c, client: client, b: newBuilder(routes, client), sink: s, log: src.log, stats: src.stats, now: clk.now, repos: c.Polled()}
}

func readFileT(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return b
}

func newAPIClient(t *testing.T, c *Config, clk *clock) *api.Client {
	t.Helper()
	client, err := newClient(c, "", nil, clk.now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return client
}
