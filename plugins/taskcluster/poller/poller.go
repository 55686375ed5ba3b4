// Package poller is the taskcluster source plugin: for one configured hg
// repository it polls the pushlog for new pushes, finds each push's decision
// task through the Taskcluster index and turns the tasks of its task group
// into jobs, from public HTTP APIs only (no Pulse credentials). The pushlog
// cursor is kept in a file under state_dir, written atomically after the
// host accepted the pushes, so a restart neither loses nor repeats pushes.
package poller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/plugins/taskcluster/importer"
	"github.com/herder-ci/herder/sdk"
)

// Config is the plugin's settings.
type Config struct {
	// RootURL is the Taskcluster deployment (default firefox-ci's).
	RootURL string `json:"root_url"`
	// Repository is the hg repository to follow.
	Repository struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"repository"`
	// StateDir holds the cursor file (required: the plugin has no database).
	StateDir string `json:"state_dir"`
	// Interval between polls (default 2m).
	Interval Duration `json:"interval"`
	// AllTasks ingests each push's decision task group (default true);
	// false ingests pushes only.
	AllTasks *bool `json:"all_tasks"`
	// TrackFor is how long a push's task group is polled for new and
	// changed tasks (default 24h).
	TrackFor Duration `json:"track_for"`
	// InitialPushes is how many of the newest pushes the first poll takes
	// when there is no cursor yet (default 10).
	InitialPushes int `json:"initial_pushes"`
	// StartAfter, when set, makes the first poll without a cursor read the
	// pushes after this pushlog id (0: the whole pushlog, MaxPushes at a
	// time) instead of the newest InitialPushes.
	StartAfter *int `json:"start_after"`
	// MaxPushes bounds the pushes read per poll (default 100).
	MaxPushes int `json:"max_pushes"`
	// DecisionIndex is the decision task's index path template
	// (default importer.DefaultDecisionIndex).
	DecisionIndex string `json:"decision_index"`
	// AllowedHosts beyond the repository's and root URL's hosts.
	AllowedHosts []string `json:"allowed_hosts"`
	// Workers transform tasks concurrently (default 8).
	Workers int `json:"workers"`
	// BatchSize bounds events per Send (default 500).
	BatchSize int `json:"batch_size"`
	// HTTPAttempts and HTTPTimeout bound each request (defaults 4, 30s).
	HTTPAttempts int      `json:"http_attempts"`
	HTTPTimeout  Duration `json:"http_timeout"`
	HTTPBackoff  Duration `json:"http_backoff"`
}

// Duration is sdk.Duration: a Go duration string or a number of seconds.
type Duration = sdk.Duration

// ParseConfig decodes and checks the settings.
func ParseConfig(raw []byte) (*Config, error) {
	var c Config
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("taskcluster config: %w", err)
	}
	if c.RootURL == "" {
		c.RootURL = importer.DefaultRootURL
	}
	c.RootURL = strings.TrimRight(c.RootURL, "/")
	if !httpURL(c.RootURL) {
		return nil, fmt.Errorf("taskcluster config: root_url %q: want an absolute http(s) URL", c.RootURL)
	}
	if c.Repository.Name == "" || !httpURL(c.Repository.URL) {
		return nil, errors.New("taskcluster config: repository: name and an absolute http(s) url are required")
	}
	c.Repository.URL = strings.TrimRight(c.Repository.URL, "/")
	if c.StateDir == "" {
		return nil, errors.New("taskcluster config: state_dir is required (the pushlog cursor is kept there)")
	}
	if c.Interval == 0 {
		c.Interval = Duration(2 * time.Minute)
	}
	if c.Interval < Duration(10*time.Millisecond) {
		return nil, fmt.Errorf("taskcluster config: interval %s is too short", time.Duration(c.Interval))
	}
	if c.AllTasks == nil {
		t := true
		c.AllTasks = &t
	}
	if c.TrackFor == 0 {
		c.TrackFor = Duration(24 * time.Hour)
	}
	if c.InitialPushes <= 0 {
		c.InitialPushes = 10
	}
	if c.MaxPushes <= 0 {
		c.MaxPushes = 100
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.HTTPAttempts <= 0 {
		c.HTTPAttempts = 4
	}
	if c.HTTPTimeout == 0 {
		c.HTTPTimeout = Duration(30 * time.Second)
	}
	if c.HTTPBackoff == 0 {
		c.HTTPBackoff = Duration(500 * time.Millisecond)
	}
	return &c, nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// Hosts is the configured allowed_hosts plus the repository's and the root
// URL's hosts.
func (c *Config) Hosts() []string {
	hosts := append([]string(nil), c.AllowedHosts...)
	for _, s := range []string{c.RootURL, c.Repository.URL} {
		u, _ := url.Parse(s)
		hosts = append(hosts, u.Host)
	}
	return hosts
}

// State is what the cursor file holds.
type State struct {
	// LastPushID is the pushlog id of the last push the host accepted.
	LastPushID int `json:"last_push_id"`
	// Tracked are recent pushes whose task groups are still polled.
	Tracked []Tracked `json:"tracked,omitempty"`
}

// Tracked is a push whose tasks are followed.
type Tracked struct {
	Revision     string    `json:"revision"`
	PushID       int       `json:"push_id"`
	FirstSeen    time.Time `json:"first_seen"`
	DecisionTask string    `json:"decision_task,omitempty"`
}

// Source implements sdk.Source and sdk.Configurer.
type Source struct {
	log       *slog.Logger
	transport http.RoundTripper
	now       func() time.Time
}

// Option adjusts a Source.
type Option func(*Source)

// WithTransport sends HTTP requests through rt (embedding, tests).
func WithTransport(rt http.RoundTripper) Option { return func(s *Source) { s.transport = rt } }

// New returns the source.
func New(log *slog.Logger, opts ...Option) *Source {
	if log == nil {
		log = sdk.Logger()
	}
	s := &Source{log: log, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Configure checks the settings and that the state directory is usable.
func (s *Source) Configure(_ context.Context, raw []byte) error {
	c, err := ParseConfig(raw)
	if err != nil {
		return err
	}
	return os.MkdirAll(c.StateDir, 0o750)
}

// Run polls until ctx ends. A failed poll is logged and tried again at the
// next interval.
func (s *Source) Run(ctx context.Context, raw []byte, sink sdk.Sink) error {
	c, err := ParseConfig(raw)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.StateDir, 0o750); err != nil {
		return fmt.Errorf("state_dir: %w", err)
	}
	p, err := s.newPoll(c, sink)
	if err != nil {
		return err
	}
	p.log.Info("taskcluster poller started", "root_url", c.RootURL, "repository_url", c.Repository.URL,
		"last_push_id", p.state.LastPushID, "interval", time.Duration(c.Interval).String())
	for {
		if err := p.once(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("poll failed; trying again at the next interval", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Duration(c.Interval)):
		}
	}
}

func (s *Source) newPoll(c *Config, sink sdk.Sink) (*poll, error) {
	client, err := transform.NewHTTPClient(transform.HTTPOptions{
		AllowedHosts: c.Hosts(), MaxAttempts: c.HTTPAttempts, Timeout: time.Duration(c.HTTPTimeout),
		BaseBackoff: time.Duration(c.HTTPBackoff), UserAgent: "herder-taskcluster/" + sdk.SDKVersion, Transport: s.transport,
	})
	if err != nil {
		return nil, err
	}
	p := &poll{
		cfg: c, log: s.log.With("repository", c.Repository.Name), sink: sink, now: s.now,
		im: importer.New(client, transform.NewTaskCache(client, 20000, 6*time.Hour),
			importer.Options{DecisionIndex: c.DecisionIndex, Workers: c.Workers}),
		sent: map[string]bool{},
		path: filepath.Join(c.StateDir, "cursor-"+safeName(c.Repository.Name)+".json"),
	}
	if p.state, p.hasCursor, err = readState(p.path); err != nil {
		return nil, err
	}
	if !p.hasCursor && c.StartAfter != nil {
		p.state.LastPushID, p.hasCursor = *c.StartAfter, true
	}
	return p, nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}

// poll is the poller's working state.
type poll struct {
	cfg   *Config
	log   *slog.Logger
	sink  sdk.Sink
	im    *importer.Importer
	now   func() time.Time
	path  string
	state State
	// hasCursor: the state came from the cursor file (or start_after), so
	// LastPushID is where to go on from even when it is 0.
	hasCursor bool
	// sent remembers the task runs whose current state the host has, so
	// each poll of a task group only sends what changed. It is not kept on
	// disk: after a restart the tracked groups are sent again once (the
	// host stores them idempotently).
	sent map[string]bool
}

// once is one poll: new pushes, then the tracked pushes' tasks.
func (p *poll) once(ctx context.Context) error {
	if err := p.pushes(ctx); err != nil {
		return err
	}
	if *p.cfg.AllTasks {
		return p.tasks(ctx)
	}
	return nil
}

func (p *poll) pushes(ctx context.Context) error {
	c := p.cfg
	var pushes []importer.Push
	var last int
	var err error
	if !p.hasCursor {
		pushes, last, err = p.im.HgRecentPushes(ctx, c.Repository.URL, c.Repository.Name)
		if len(pushes) > c.InitialPushes {
			pushes = pushes[len(pushes)-c.InitialPushes:]
		}
	} else {
		pushes, last, err = p.im.HgPushesSince(ctx, c.Repository.URL, c.Repository.Name, p.state.LastPushID, c.MaxPushes)
		if err == nil && last < p.state.LastPushID {
			// The pushlog went backwards: the repository was reset. Start
			// over from its beginning, as Treeherder does.
			p.log.Warn("pushlog was reset; reading it from the start", "last_push_id", last, "cursor", p.state.LastPushID)
			p.state.LastPushID = 0
			pushes, last, err = p.im.HgPushesSince(ctx, c.Repository.URL, c.Repository.Name, 0, c.MaxPushes)
		}
	}
	if err != nil {
		return err
	}
	if len(pushes) == 0 {
		if !p.hasCursor {
			p.state.LastPushID = last
			p.hasCursor = true
			return writeState(p.path, p.state)
		}
		return nil
	}
	events := make([]sdk.Event, len(pushes))
	for i, push := range pushes {
		d := push.Data
		raw, _ := json.Marshal(d)
		events[i] = sdk.Event{ID: fmt.Sprintf("hg/%s/%d", c.Repository.Name, push.ID), Push: &d, Raw: raw}
	}
	if err := p.sink.Send(ctx, events...); err != nil {
		return fmt.Errorf("send %d pushes: %w", len(events), err)
	}
	now := p.now()
	for _, push := range pushes {
		p.state.Tracked = append(p.state.Tracked, Tracked{Revision: push.Data.Revision, PushID: push.ID, FirstSeen: now})
	}
	p.state.LastPushID = pushes[len(pushes)-1].ID
	p.hasCursor = true
	p.log.Info("pushes ingested", "count", len(pushes), "last_push_id", p.state.LastPushID)
	return writeState(p.path, p.state)
}

// tasks sends the new and changed runs of every tracked push's task group.
func (p *poll) tasks(ctx context.Context) error {
	c := p.cfg
	cutoff := p.now().Add(-time.Duration(c.TrackFor))
	kept := p.state.Tracked[:0]
	for _, t := range p.state.Tracked {
		if t.FirstSeen.After(cutoff) {
			kept = append(kept, t)
		}
	}
	p.state.Tracked = kept
	var errs []error
	for i := range p.state.Tracked {
		t := &p.state.Tracked[i]
		if t.DecisionTask == "" {
			id, err := p.im.DecisionTask(ctx, c.RootURL, c.Repository.Name, t.Revision)
			if errors.Is(err, importer.ErrNotFound) {
				continue // not scheduled yet
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			t.DecisionTask = id
			if err := writeState(p.path, p.state); err != nil {
				return err
			}
		}
		if err := p.group(ctx, t.DecisionTask); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *poll) group(ctx context.Context, groupID string) error {
	var pending []sdk.Event
	var keys []string
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := p.sink.Send(ctx, pending...); err != nil {
			return fmt.Errorf("send %d jobs: %w", len(pending), err)
		}
		for _, k := range keys {
			p.sent[k] = true
		}
		pending, keys = pending[:0], keys[:0]
		return nil
	}
	var failures []error
	err := p.im.GroupTasks(ctx, p.cfg.RootURL, groupID, func(entries []importer.TaskEntry) error {
		var fresh []importer.TaskEntry
		for _, e := range entries {
			if !p.sent[runsKey(e.Status)] {
				fresh = append(fresh, e)
			}
		}
		for i, r := range p.im.TasksJobs(ctx, p.cfg.RootURL, fresh, nil) {
			if r.Err != nil {
				failures = append(failures, r.Err)
				continue
			}
			keys = append(keys, runsKey(fresh[i].Status))
			pending = append(pending, r.Events...)
			if len(pending) >= p.cfg.BatchSize {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if len(failures) > 0 {
		p.log.Warn("some tasks could not be turned into jobs", "task_group", groupID, "count", len(failures), "first", failures[0])
	}
	return err
}

// runsKey identifies a task's runs and their states: when it changes, the
// task has news.
func runsKey(status json.RawMessage) string {
	var st struct {
		TaskID string `json:"taskId"`
		Runs   []struct {
			RunID json.Number `json:"runId"`
			State string      `json:"state"`
		} `json:"runs"`
	}
	_ = json.Unmarshal(status, &st)
	var b strings.Builder
	b.WriteString(st.TaskID)
	for _, r := range st.Runs {
		b.WriteString("/" + r.RunID.String() + ":" + r.State)
	}
	return b.String()
}

// readState reads the cursor file; found is false when there is none yet.
func readState(path string) (st State, found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("read cursor: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, fmt.Errorf("cursor file %s is corrupt (delete it to start from the newest pushes): %w", path, err)
	}
	return st, true, nil
}

// writeState replaces the cursor file atomically (sdk.WriteFileAtomic).
func writeState(path string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := sdk.WriteFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("write cursor: %w", err)
	}
	return nil
}
