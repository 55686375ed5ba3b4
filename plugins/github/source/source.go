// Package source is the GitHub source plugin: a webhook receiver (push,
// pull_request, workflow_job, workflow_run, check_run) that verifies
// signatures, refuses replays and answers 2xx only after the host accepted
// the events, and a poller for repositories without webhooks that reads the
// REST API with conditional requests and keeps its cursors in files under
// state_dir, moved only after the host accepted what they cover. Backfill
// reads a repository's history through the same transforms.
package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herder-ci/herder/plugins/github/api"
	"github.com/herder-ci/herder/plugins/github/events"
	"github.com/herder-ci/herder/sdk"
)

// Stats count what the plugin saw. A plugin cannot reach the host's
// Prometheus registry, so they are logged every stats_interval and at stop,
// and served as JSON on the receiver's GET /stats.
type Stats struct {
	Received    atomic.Int64 // webhook requests
	Accepted    atomic.Int64 // deliveries whose events the host accepted
	Forged      atomic.Int64 // bad or missing signature
	Replayed    atomic.Int64 // delivery id already accepted
	InFlight    atomic.Int64 // delivery id being handled by another request
	BadRequests atomic.Int64 // unusable headers or payload
	Ignored     atomic.Int64 // valid, but nothing to store (logged with the reason)
	Unsupported atomic.Int64 // event types not handled
	Upstream    atomic.Int64 // GitHub API failures
	RateLimited atomic.Int64 // GitHub rate limits met
	SendErrors  atomic.Int64 // host did not accept
	EventsSent  atomic.Int64 // events the host accepted (webhooks and polls)
	Polls       atomic.Int64 // repository polls
	PollErrors  atomic.Int64 // failed repository polls
}

// Snapshot returns the counters by name.
func (s *Stats) Snapshot() map[string]int64 {
	return map[string]int64{
		"webhooks_received": s.Received.Load(), "webhooks_accepted": s.Accepted.Load(),
		"webhooks_forged": s.Forged.Load(), "webhooks_replayed": s.Replayed.Load(),
		"webhooks_duplicate_in_flight": s.InFlight.Load(), "webhooks_bad_request": s.BadRequests.Load(),
		"webhooks_ignored": s.Ignored.Load(), "webhooks_unsupported": s.Unsupported.Load(),
		"api_errors": s.Upstream.Load(), "rate_limited": s.RateLimited.Load(),
		"send_errors": s.SendErrors.Load(), "events_sent": s.EventsSent.Load(),
		"polls": s.Polls.Load(), "poll_errors": s.PollErrors.Load(),
	}
}

// Source implements sdk.Source and sdk.Configurer.
type Source struct {
	log       *slog.Logger
	transport http.RoundTripper
	now       func() time.Time
	getenv    func(string) string
	stats     *Stats

	mu      sync.Mutex
	addr    net.Addr
	running chan struct{}
}

// Option adjusts a Source.
type Option func(*Source)

// WithTransport sends API requests through rt (tests, embedding).
func WithTransport(rt http.RoundTripper) Option { return func(s *Source) { s.transport = rt } }

// WithClock replaces time.Now.
func WithClock(now func() time.Time) Option { return func(s *Source) { s.now = now } }

// WithEnv replaces os.Getenv for the secret and token variables.
func WithEnv(getenv func(string) string) Option { return func(s *Source) { s.getenv = getenv } }

// New returns the source.
func New(log *slog.Logger, opts ...Option) *Source {
	if log == nil {
		log = sdk.Logger()
	}
	s := &Source{log: log, now: time.Now, getenv: os.Getenv, stats: &Stats{}, running: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Stats returns the source's counters.
func (s *Source) Stats() *Stats { return s.stats }

// Addr waits until the webhook receiver listens (or ctx ends) and returns
// its address; for tests that listen on port 0.
func (s *Source) Addr(ctx context.Context) (net.Addr, error) {
	select {
	case <-s.running:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr, nil
}

// Configure checks the settings, the routing table, the state directory
// and, with a receiver, that the secret is set.
func (s *Source) Configure(_ context.Context, raw []byte) error {
	c, err := ParseConfig(raw)
	if err != nil {
		return err
	}
	if _, err := c.Routes(); err != nil {
		return fmt.Errorf("github config: %w", err)
	}
	if c.Listen != "" && s.getenv(c.SecretEnv) == "" {
		return fmt.Errorf("github config: the webhook receiver needs a secret: environment variable %s is empty", c.SecretEnv)
	}
	return os.MkdirAll(c.StateDir, 0o750)
}

// Run serves webhooks and polls until ctx ends.
func (s *Source) Run(ctx context.Context, raw []byte, sink sdk.Sink) error {
	c, err := ParseConfig(raw)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.StateDir, 0o750); err != nil {
		return fmt.Errorf("state_dir: %w", err)
	}
	routes, err := c.Routes()
	if err != nil {
		return fmt.Errorf("github config: %w", err)
	}
	client, err := newClient(c, s.getenv(c.TokenEnv), s.transport, s.now, s.log)
	if err != nil {
		return err
	}
	b := newBuilder(routes, client)
	errc := make(chan error, 1)
	var srv *http.Server
	var seen *deliveries
	// Handlers finish what they started after ctx ends (a shutdown grace),
	// so an accepted delivery is answered 2xx rather than dropped half-way.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	if c.Listen != "" {
		secret := s.getenv(c.SecretEnv)
		if secret == "" {
			return fmt.Errorf("github webhook receiver: environment variable %s is empty: set the secret GitHub signs deliveries with", c.SecretEnv)
		}
		if seen, err = openDeliveries(c.StateDir, time.Duration(c.ReplayWindow), c.MaxDeliveries, s.now); err != nil {
			return err
		}
		defer seen.close()
		ln, err := net.Listen("tcp", c.Listen)
		if err != nil {
			return fmt.Errorf("github webhook receiver: %w", err)
		}
		rv := &receiver{cfg: c, secret: []byte(secret), b: b, sink: sink, seen: seen, stats: s.stats,
			log: s.log, base: hctx, sem: make(chan struct{}, c.MaxConcurrent), client: client}
		srv = &http.Server{
			Handler:           rv.handler(),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       time.Minute,
			WriteTimeout:      time.Duration(c.HandlerTimeout) + 30*time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
		}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("github webhook receiver: %w", err)
			}
		}()
		s.mu.Lock()
		s.addr = ln.Addr()
		s.mu.Unlock()
		s.log.Info("github webhook receiver listening", "addr", ln.Addr().String(), "path", c.Path,
			"remembered_deliveries", seen.size())
	}
	s.mu.Lock()
	select {
	case <-s.running:
	default:
		close(s.running)
	}
	s.mu.Unlock()

	var wg sync.WaitGroup
	if polled := c.Polled(); len(polled) > 0 {
		p := &poller{cfg: c, client: client, b: b, sink: sink, log: s.log, stats: s.stats, now: s.now, repos: polled}
		wg.Add(1)
		go func() { defer wg.Done(); p.loop(ctx) }()
		s.log.Info("github poller started", "repositories", len(polled), "interval", time.Duration(c.Interval).String())
	}
	if c.StatsInterval > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(time.Duration(c.StatsInterval))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					s.logStats("github source counts", client)
				}
			}
		}()
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	if srv != nil {
		grace, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = srv.Shutdown(grace)
		cancel()
	}
	hcancel()
	wg.Wait()
	s.logStats("github source stopped", client)
	return runErr
}

func (s *Source) logStats(msg string, client *api.Client) {
	snap := s.stats.Snapshot()
	keys := make([]string, 0, len(snap))
	for k := range snap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := make([]any, 0, 2*len(keys)+6)
	for _, k := range keys {
		args = append(args, k, snap[k])
	}
	st := client.Stats()
	args = append(args, "api_requests", st.Requests, "api_not_modified", st.NotModified, "rate_limit_remaining", st.Remaining)
	s.log.Info(msg, args...)
}

func newClient(c *Config, token string, rt http.RoundTripper, now func() time.Time, log *slog.Logger) (*api.Client, error) {
	return api.New(api.Options{
		BaseURL: c.APIURL, Token: token, UserAgent: "herder-github/" + sdk.SDKVersion,
		Timeout: time.Duration(c.HTTPTimeout), MaxResponseBytes: c.MaxResponseBytes, MaxPages: c.MaxPages,
		MaxBackoff: time.Duration(c.MaxBackoff), Transport: rt, Now: now, Logger: log,
	})
}

func newBuilder(routes *events.Routes, client *api.Client) *events.Builder {
	return events.NewBuilder(routes, client, client.BaseURL())
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
