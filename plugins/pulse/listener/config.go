package listener

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/herder-ci/herder/plugins/pulse/transform"

	"github.com/herder-ci/herder/sdk"
)

// Config is the pulse source's settings: the JSON the host makes of the HCL
// `source "x" { plugin = "pulse", config { ... } }` block.
type Config struct {
	// Sources are the brokers to read, as Treeherder's PULSE_SOURCES: each
	// has its Taskcluster root URL, its AMQP URL and vhost, and whether it
	// carries hg.mozilla.org (hgmo) and taskcluster-github (github) pushes.
	Sources []SourceConfig `json:"sources"`
	// User names queues queue/<user>/<name>, as Pulse requires. Default: the
	// user of the first source's pulse_url.
	User string `json:"user"`
	// QueueName is the <name> part (default "herder"); with several sources
	// the second and later get "-1", "-2"... unless they set their own.
	QueueName string `json:"queue_name"`
	// Exchanges replaces the default bindings: each entry is an exchange
	// name (bound with "#") or {exchange, routing_keys}.
	Exchanges []Binding `json:"exchanges"`
	// Prefetch is the AMQP prefetch count (default 100): how many
	// unacknowledged messages the broker hands out at once.
	Prefetch int `json:"prefetch"`
	// Durable queues survive broker restarts (default true).
	Durable *bool `json:"durable"`
	// AutoDelete deletes the queue when the last consumer goes (default false).
	AutoDelete bool `json:"auto_delete"`
	// DeclareExchanges declares the exchanges (topic, durable) instead of
	// checking passively that they exist. Pulse's exchanges belong to their
	// publishers, so the default is passive, as in Treeherder.
	DeclareExchanges bool `json:"declare_exchanges"`
	// Repositories route pushes to repository names (url and branch rules).
	// When set, task jobs naming a repository not listed (or inactive) are
	// dead-lettered too; when empty, the host judges jobs' repositories.
	Repositories []RepositoryConfig `json:"repositories"`
	// ProjectsToIngest, when set, skips tasks of other projects
	// (Treeherder's PROJECTS_TO_INGEST).
	ProjectsToIngest []string `json:"projects_to_ingest"`
	// AllowedHosts are the hosts HTTP fetches may reach besides the sources'
	// root URLs. Default: hg.mozilla.org when a source has hgmo, and
	// api.github.com when a source has github.
	AllowedHosts []string `json:"allowed_hosts"`
	// DeadLetterQueue receives messages that cannot be ingested, with
	// x-herder-reason, x-herder-exchange and x-herder-routing-key headers.
	// Default queue/<user>/<queue_name>-dead-letter.
	DeadLetterQueue string `json:"dead_letter_queue"`
	// DeadLetterMaxLength bounds the dead-letter queue; the oldest messages
	// are dropped beyond it (default 10000).
	DeadLetterMaxLength int `json:"dead_letter_max_length"`
	// BatchSize and BatchWait bound a batch handed to the host in one Send:
	// up to BatchSize messages, or what arrived within BatchWait of the
	// batch's first message (defaults: min(prefetch/2, 50) and 100ms).
	BatchSize int      `json:"batch_size"`
	BatchWait Duration `json:"batch_wait"`
	// Workers transform messages of a batch concurrently (default 8): task
	// definition fetches are I/O bound.
	Workers int `json:"workers"`
	// TaskCacheSize and TaskCacheTTL bound the task definition cache
	// (defaults 10000 and 1h).
	TaskCacheSize int      `json:"task_cache_size"`
	TaskCacheTTL  Duration `json:"task_cache_ttl"`
	// HTTPAttempts and HTTPTimeout bound each upstream request (defaults 4
	// and 30s); HTTPBackoff is the first retry's wait (default 500ms).
	HTTPAttempts int      `json:"http_attempts"`
	HTTPTimeout  Duration `json:"http_timeout"`
	HTTPBackoff  Duration `json:"http_backoff"`
	// RetryAttempts is how many times a message whose upstream fetch failed
	// (after the HTTP retries) is tried again, RetryBackoff apart at first,
	// doubling up to a minute, before it is dead-lettered (defaults 5, 2s).
	RetryAttempts int      `json:"retry_attempts"`
	RetryBackoff  Duration `json:"retry_backoff"`
	// ReconnectMin and ReconnectMax bound the wait between reconnections to
	// a broker that went away (defaults 500ms and 30s).
	ReconnectMin Duration `json:"reconnect_min"`
	ReconnectMax Duration `json:"reconnect_max"`
	// Heartbeat is the AMQP heartbeat interval (default 10s).
	Heartbeat Duration `json:"heartbeat"`
	// MaxMessageBytes dead-letters larger messages (default 8 MiB).
	MaxMessageBytes int `json:"max_message_bytes"`
	// StatsInterval is how often counts are logged (default 60s; 0 keeps
	// the default, a negative value turns the log off).
	StatsInterval Duration `json:"stats_interval"`
	// GitHubToken authenticates GitHub API calls (compare, PR commits).
	GitHubToken string `json:"github_token"`
	// GitHubAPI is the GitHub REST root (default https://api.github.com).
	GitHubAPI string `json:"github_api"`
	// FollowArtifactPages reads every page of an artifact list; Treeherder
	// records no links for paginated lists (see transform.Options).
	FollowArtifactPages bool `json:"follow_artifact_pages"`
}

// SourceConfig is one broker, as an entry of Treeherder's PULSE_SOURCES.
type SourceConfig struct {
	// RootURL is the Taskcluster deployment whose task messages this broker
	// carries (default https://firefox-ci-tc.services.mozilla.com).
	RootURL string `json:"root_url"`
	// PulseURL is amqp[s]://user:password@host[:port][/vhost].
	PulseURL string `json:"pulse_url"`
	// Vhost overrides the URL's vhost.
	Vhost string `json:"vhost"`
	// HgMO binds exchange/hgpushes/v1; GitHub binds taskcluster-github's
	// push and pull-request exchanges. Tasks binds the Taskcluster queue's
	// task exchanges (default true).
	HgMO   bool  `json:"hgmo"`
	GitHub bool  `json:"github"`
	Tasks  *bool `json:"tasks"`
	// QueueName overrides the queue name's <name> part for this source.
	QueueName string `json:"queue_name"`
}

// RepositoryConfig is a repository pushes may belong to.
type RepositoryConfig struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// Branches are exact names or prefixes ending in "*".
	Branches            []string `json:"branches"`
	ActiveStatus        string   `json:"active_status"` // active (default) | onhold
	AcceptsPullRequests bool     `json:"accepts_pull_requests"`
}

// Binding binds the queue to an exchange with routing keys.
type Binding struct {
	Exchange    string   `json:"exchange"`
	RoutingKeys []string `json:"routing_keys"`
}

// UnmarshalJSON accepts "exchange/name" (routing key "#") or an object.
func (b *Binding) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var name string
		if err := json.Unmarshal(data, &name); err != nil {
			return err
		}
		*b = Binding{Exchange: name}
		return nil
	}
	type plain Binding
	var p struct {
		plain
		RoutingKey string `json:"routing_key"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("binding: %w", err)
	}
	*b = Binding(p.plain)
	if p.RoutingKey != "" {
		b.RoutingKeys = append(b.RoutingKeys, p.RoutingKey)
	}
	return nil
}

// Duration is sdk.Duration: a Go duration string or a number of seconds.
type Duration = sdk.Duration

// Task exchanges bound by default, with "#" (Treeherder's TaskConsumer).
var defaultTaskExchanges = []string{
	transform.ExchangeTaskDefined,
	transform.ExchangeTaskPending,
	transform.ExchangeTaskRunning,
	transform.ExchangeTaskCompleted,
	transform.ExchangeTaskFailed,
	transform.ExchangeTaskException,
}

// DefaultRootURL is Treeherder's default Taskcluster deployment.
const DefaultRootURL = "https://firefox-ci-tc.services.mozilla.com"

// settings are Config with defaults applied and checked.
type settings struct {
	Config
	sources []sourceSettings
}

type sourceSettings struct {
	SourceConfig
	index    int
	uri      amqp.URI
	queue    string
	bindings []Binding
}

// parseConfig decodes and checks the settings. It never dials anything.
func parseConfig(raw []byte) (*settings, error) {
	var c Config
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("pulse config: %w", err)
	}
	if len(c.Sources) == 0 {
		return nil, errors.New("pulse config: sources: at least one source (root_url, pulse_url) is required")
	}
	if c.Prefetch == 0 {
		c.Prefetch = 100
	}
	if c.Prefetch < 1 || c.Prefetch > 65535 {
		return nil, fmt.Errorf("pulse config: prefetch %d: want 1 to 65535", c.Prefetch)
	}
	if c.Durable == nil {
		t := true
		c.Durable = &t
	}
	if c.QueueName == "" {
		c.QueueName = "herder"
	}
	if c.BatchSize == 0 {
		c.BatchSize = min(max(c.Prefetch/2, 1), 50)
	}
	if c.BatchSize < 1 || c.BatchSize > c.Prefetch {
		return nil, fmt.Errorf("pulse config: batch_size %d: want 1 to prefetch (%d)", c.BatchSize, c.Prefetch)
	}
	setDefault(&c.BatchWait, 100*time.Millisecond)
	if c.Workers == 0 {
		c.Workers = 8
	}
	if c.Workers < 1 || c.Workers > 256 {
		return nil, fmt.Errorf("pulse config: workers %d: want 1 to 256", c.Workers)
	}
	if c.TaskCacheSize == 0 {
		c.TaskCacheSize = 10000
	}
	setDefault(&c.TaskCacheTTL, time.Hour)
	if c.HTTPAttempts == 0 {
		c.HTTPAttempts = 4
	}
	setDefault(&c.HTTPTimeout, 30*time.Second)
	setDefault(&c.HTTPBackoff, 500*time.Millisecond)
	if c.RetryAttempts == 0 {
		c.RetryAttempts = 5
	}
	setDefault(&c.RetryBackoff, 2*time.Second)
	setDefault(&c.ReconnectMin, 500*time.Millisecond)
	setDefault(&c.ReconnectMax, 30*time.Second)
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	setDefault(&c.Heartbeat, 10*time.Second)
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 8 << 20
	}
	setDefault(&c.StatsInterval, time.Minute)
	if c.DeadLetterMaxLength == 0 {
		c.DeadLetterMaxLength = 10000
	}
	for i, r := range c.Repositories {
		if r.Name == "" || r.URL == "" {
			return nil, fmt.Errorf("pulse config: repositories[%d]: name and url are required", i)
		}
		if r.ActiveStatus != "" && r.ActiveStatus != "active" && r.ActiveStatus != "onhold" {
			return nil, fmt.Errorf("pulse config: repositories[%d] (%s): active_status %q: want active or onhold", i, r.Name, r.ActiveStatus)
		}
	}
	for _, b := range c.Exchanges {
		if b.Exchange == "" {
			return nil, errors.New("pulse config: exchanges: an entry has no exchange name")
		}
	}

	s := &settings{Config: c}
	queues := map[string]bool{}
	for i, sc := range c.Sources {
		ss, err := sourceFrom(i, sc, &s.Config)
		if err != nil {
			return nil, err
		}
		key := ss.uri.Host + "/" + ss.uri.Vhost + "/" + ss.queue
		if queues[key] {
			return nil, fmt.Errorf("pulse config: sources[%d]: queue %s on %s is used twice; give each source its own queue_name", i, ss.queue, ss.uri.Host)
		}
		queues[key] = true
		s.sources = append(s.sources, ss)
	}
	if s.User == "" {
		s.User = s.sources[0].uri.Username
	}
	if s.DeadLetterQueue == "" {
		s.DeadLetterQueue = "queue/" + s.User + "/" + s.QueueName + "-dead-letter"
	}
	for i := range s.sources {
		if s.sources[i].queue == "" {
			s.sources[i].queue = "queue/" + s.User + "/" + s.sources[i].QueueName
		}
	}
	return s, nil
}

func sourceFrom(i int, sc SourceConfig, c *Config) (sourceSettings, error) {
	if sc.RootURL == "" {
		sc.RootURL = DefaultRootURL
	}
	sc.RootURL = strings.TrimRight(sc.RootURL, "/")
	if u, err := url.Parse(sc.RootURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return sourceSettings{}, fmt.Errorf("pulse config: sources[%d]: root_url %q: want an absolute http(s) URL", i, sc.RootURL)
	}
	if sc.PulseURL == "" {
		return sourceSettings{}, fmt.Errorf("pulse config: sources[%d]: pulse_url is required", i)
	}
	uri, err := amqp.ParseURI(sc.PulseURL)
	if err != nil {
		// The URL holds a password: say what is wrong without repeating it.
		return sourceSettings{}, fmt.Errorf("pulse config: sources[%d]: pulse_url is not an amqp:// or amqps:// URL", i)
	}
	if sc.Vhost != "" {
		uri.Vhost = sc.Vhost
	}
	ss := sourceSettings{SourceConfig: sc, index: i, uri: uri}
	if ss.QueueName == "" {
		ss.QueueName = c.QueueName
		if i > 0 {
			ss.QueueName = fmt.Sprintf("%s-%d", c.QueueName, i)
		}
	}
	user := c.User
	if user == "" {
		user = uri.Username
	}
	if user == "" {
		return sourceSettings{}, fmt.Errorf("pulse config: sources[%d]: no user: set user, or put one in pulse_url", i)
	}
	ss.queue = "queue/" + user + "/" + ss.QueueName
	if len(c.Exchanges) > 0 {
		ss.bindings = c.Exchanges
	} else {
		if ss.Tasks == nil || *ss.Tasks {
			for _, e := range defaultTaskExchanges {
				ss.bindings = append(ss.bindings, Binding{Exchange: e})
			}
		}
		if ss.HgMO {
			ss.bindings = append(ss.bindings, Binding{Exchange: transform.ExchangeHgPushesV1})
		}
		if ss.GitHub {
			ss.bindings = append(ss.bindings,
				Binding{Exchange: transform.ExchangeGitHubPush},
				Binding{Exchange: transform.ExchangeGitHubPullRequest})
		}
	}
	if len(ss.bindings) == 0 {
		return sourceSettings{}, fmt.Errorf("pulse config: sources[%d]: nothing to bind (tasks = false and neither hgmo nor github)", i)
	}
	for j := range ss.bindings {
		if len(ss.bindings[j].RoutingKeys) == 0 {
			ss.bindings[j].RoutingKeys = []string{"#"}
		}
	}
	return ss, nil
}

func setDefault(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}

// allowedHosts is the configured list plus every source's root URL host,
// with hg.mozilla.org and api.github.com added by default when pushes from
// them are bound.
func (s *settings) allowedHosts() []string {
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		h = strings.ToLower(h)
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	for _, h := range s.AllowedHosts {
		add(h)
	}
	for _, src := range s.sources {
		u, _ := url.Parse(src.RootURL)
		add(u.Host)
		if len(s.AllowedHosts) == 0 {
			if src.HgMO {
				add("hg.mozilla.org")
			}
			if src.GitHub {
				add("api.github.com")
			}
		}
	}
	return out
}

// repositories is the push routing table.
func (s *settings) repositories() []transform.Repository {
	out := make([]transform.Repository, len(s.Repositories))
	for i, r := range s.Repositories {
		out[i] = transform.Repository{
			Name: r.Name, URL: strings.TrimRight(r.URL, "/"), Branches: r.Branches,
			Inactive: r.ActiveStatus == "onhold", AcceptsPullRequests: r.AcceptsPullRequests,
		}
	}
	return out
}
