// Package listener is the pulse source plugin: it consumes Taskcluster task
// messages and hg/GitHub push messages from Pulse (RabbitMQ), turns them into
// jobs and pushes with plugins/pulse/transform, hands them to the host in
// batches and acknowledges each message only after the host has durably
// accepted its event. Messages that can never be ingested go to a
// dead-letter queue with the reason; messages Treeherder ignores are acked.
package listener

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
)

// Listener implements sdk.Source and sdk.Configurer.
type Listener struct {
	log       *slog.Logger
	transport http.RoundTripper

	mu    sync.Mutex
	stats *stats
}

// Option adjusts a Listener.
type Option func(*Listener)

// WithTransport sends the listener's HTTP requests (Taskcluster, hg, GitHub)
// through rt instead of a transport of its own; for embedding and tests.
func WithTransport(rt http.RoundTripper) Option { return func(l *Listener) { l.transport = rt } }

// New returns a listener logging to log (sdk.Logger() when nil).
func New(log *slog.Logger, opts ...Option) *Listener {
	if log == nil {
		log = sdk.Logger()
	}
	l := &Listener{log: log}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Configure checks the settings without connecting anywhere, so a bad
// config stops the instance at once instead of crash-looping.
func (l *Listener) Configure(_ context.Context, config []byte) error {
	_, err := parseConfig(config)
	return err
}

// Stats returns the counters of the current or last run.
func (l *Listener) Stats() Snapshot {
	l.mu.Lock()
	s := l.stats
	l.mu.Unlock()
	if s == nil {
		return Snapshot{}
	}
	return s.snapshot()
}

// Run consumes every configured source until ctx is cancelled. Brokers that
// go away are reconnected with capped backoff, so Run only returns early for
// settings it cannot work with.
func (l *Listener) Run(ctx context.Context, config []byte, sink sdk.Sink) error {
	s, err := parseConfig(config)
	if err != nil {
		return err
	}
	hosts := s.allowedHosts()
	if s.GitHubAPI != "" {
		u, err := url.Parse(s.GitHubAPI)
		if err != nil || u.Host == "" {
			return fmt.Errorf("pulse config: github_api %q: want an absolute URL", s.GitHubAPI)
		}
		hosts = append(hosts, u.Host)
	}
	client, err := transform.NewHTTPClient(transform.HTTPOptions{
		AllowedHosts: hosts,
		Timeout:      time.Duration(s.HTTPTimeout),
		MaxAttempts:  s.HTTPAttempts,
		BaseBackoff:  time.Duration(s.HTTPBackoff),
		GitHubAPI:    s.GitHubAPI,
		GitHubToken:  s.GitHubToken,
		UserAgent:    "herder-pulse/" + sdk.SDKVersion,
		Transport:    l.transport,
	})
	if err != nil {
		return fmt.Errorf("pulse: %w", err)
	}
	cache := transform.NewTaskCache(client, s.TaskCacheSize, time.Duration(s.TaskCacheTTL))
	repos := s.repositories()
	h := newHandler(
		transform.NewTransformer(cache, transform.Options{ProjectsToIngest: s.ProjectsToIngest, FollowArtifactPages: s.FollowArtifactPages}),
		transform.NewPushTransformer(client, client, repos),
		repos, s.MaxMessageBytes)
	st := newStats()
	l.mu.Lock()
	l.stats = st
	l.mu.Unlock()

	var wg sync.WaitGroup
	for _, src := range s.sources {
		c := &consumer{cfg: s, src: src, handler: h, sink: sink, stats: st,
			log: l.log.With("source", src.index, "root_url", src.RootURL, "queue", src.queue)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(ctx)
		}()
	}
	if s.StatsInterval > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(time.Duration(s.StatsInterval))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					hits, misses, size := cache.Stats()
					l.log.Info("task cache", "hits", hits, "misses", misses, "size", size)
					st.log(l.log, "pulse counts")
				}
			}
		}()
	}
	if len(repos) == 0 {
		for _, src := range s.sources {
			for _, b := range src.bindings {
				if _, err := transform.PushKindOf(b.Exchange); err == nil && !strings.HasPrefix(b.Exchange, taskExchangePrefix) {
					l.log.Warn("push exchanges are bound but no repositories are configured: every push will be dead-lettered as unknown_repository",
						"exchange", b.Exchange)
					break
				}
			}
		}
	}
	l.log.Info("pulse listener started", "sources", len(s.sources), "allowed_hosts", hosts,
		"prefetch", s.Prefetch, "batch_size", s.BatchSize, "dead_letter_queue", s.DeadLetterQueue)
	wg.Wait()
	st.log(l.log, "pulse listener stopped")
	return nil
}
