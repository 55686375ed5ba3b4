package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/herder-ci/herder/plugins/github/api"
	"github.com/herder-ci/herder/plugins/github/events"

	"github.com/herder-ci/herder/sdk"
)

// Config is the source block's settings (the host hands them over as JSON).
type Config struct {
	// Repositories map GitHub repositories to herder repositories; events
	// of any other repository are ignored with a logged reason.
	Repositories []RepoConfig `json:"repositories"`

	// Listen is the webhook receiver's address ("127.0.0.1:8090"); empty
	// turns the receiver off.
	Listen string `json:"listen"`
	// Path is where GitHub posts (default /webhook). /stats and /healthz are
	// served beside it.
	Path string `json:"path"`
	// SecretEnv names the environment variable holding the webhook secret
	// (default HERDER_GITHUB_WEBHOOK_SECRET). The receiver refuses to start
	// without a secret.
	SecretEnv string `json:"secret_env"`
	// TokenEnv names the environment variable holding a GitHub token
	// (default HERDER_GITHUB_TOKEN). Unset or empty: unauthenticated calls
	// (60 an hour; public repositories only).
	TokenEnv string `json:"token_env"`
	// APIURL is the REST root (default https://api.github.com; GitHub
	// Enterprise Server: https://HOST/api/v3). Requests go to its host only.
	APIURL string `json:"api_url"`
	// WebURL is where repository URLs point (default https://github.com).
	WebURL string `json:"web_url"`
	// StateDir holds the delivery ids seen and the polling cursors
	// (required).
	StateDir string `json:"state_dir"`

	// Interval between polls (default 1m).
	Interval Duration `json:"interval"`
	// TrackFor is how long workflow runs are followed after they were
	// created, and how far back the first poll of a pull request list
	// looks (default 24h).
	TrackFor Duration `json:"track_for"`
	// InitialPushes is how many of the newest pushes the first poll of a
	// repository takes when there is no cursor yet (default 10).
	InitialPushes *int `json:"initial_pushes"`
	// MaxPages bounds the pages each listing follows (default 10, of 100).
	MaxPages int `json:"max_pages"`
	// BatchSize bounds events per Send (default 200).
	BatchSize int `json:"batch_size"`

	// ReplayWindow is how long a delivery id is remembered and a second
	// delivery with it refused (default 72h).
	ReplayWindow Duration `json:"replay_window"`
	// MaxDeliveries bounds the ids remembered (default 1,000,000).
	MaxDeliveries int `json:"max_deliveries"`
	// MaxBodyBytes caps a webhook body (default 25 MiB, GitHub's own cap).
	MaxBodyBytes int64 `json:"max_body_bytes"`
	// HandlerTimeout bounds one delivery's handling, API calls and the
	// host's accept included (default 60s).
	HandlerTimeout Duration `json:"handler_timeout"`
	// MaxConcurrent deliveries handled at once (default 16).
	MaxConcurrent int `json:"max_concurrent"`

	// MaxResponseBytes caps an API response (default 32 MiB); HTTPTimeout
	// bounds an API request (default 30s); MaxBackoff caps the wait after
	// repeated failures or secondary rate limits (default 15m).
	MaxResponseBytes int64    `json:"max_response_bytes"`
	HTTPTimeout      Duration `json:"http_timeout"`
	MaxBackoff       Duration `json:"max_backoff"`
	// StatsInterval is how often the counters are logged (default 5m; < 0
	// turns that off).
	StatsInterval Duration `json:"stats_interval"`
}

// RepoConfig is one repository mapping.
type RepoConfig struct {
	// Name is the herder repository.
	Name string `json:"name"`
	// Repo is "owner/name" on GitHub; URL ("https://github.com/owner/name")
	// may be given instead.
	Repo string `json:"repo"`
	URL  string `json:"url"`
	// Branches are the pushed branches taken: exact names or prefix
	// wildcards; default ["*"] (every branch, recorded on the push).
	Branches []string `json:"branches"`
	// AcceptsPullRequests makes pull requests pushes of this repository.
	AcceptsPullRequests bool `json:"accepts_pull_requests"`
	// Poll reads this repository through the REST API every interval
	// (for repositories that send no webhooks).
	Poll bool `json:"poll"`
	// Actions: polling also follows GitHub Actions workflow runs (default
	// true).
	Actions *bool `json:"actions"`
}

// Duration is sdk.Duration: a Go duration string or a number of seconds.
type Duration = sdk.Duration

// Defaults.
const (
	DefaultPath      = "/webhook"
	DefaultSecretEnv = "HERDER_GITHUB_WEBHOOK_SECRET"
	DefaultTokenEnv  = "HERDER_GITHUB_TOKEN"
)

// ParseConfig decodes and checks the settings; unknown keys are errors.
func ParseConfig(raw []byte) (*Config, error) {
	var c Config
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("github config: %w", err)
	}
	if err := c.defaults(); err != nil {
		return nil, fmt.Errorf("github config: %w", err)
	}
	return &c, nil
}

func (c *Config) defaults() error {
	var errs []error
	if c.StateDir == "" {
		errs = append(errs, errors.New("state_dir is required (delivery ids and polling cursors are kept there)"))
	}
	if c.APIURL == "" {
		c.APIURL = api.DefaultBaseURL
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	if !httpURL(c.APIURL) {
		errs = append(errs, fmt.Errorf("api_url %q: want an absolute http(s) URL", c.APIURL))
	}
	if c.WebURL == "" {
		c.WebURL = events.DefaultWebURL
	}
	c.WebURL = strings.TrimRight(c.WebURL, "/")
	if !httpURL(c.WebURL) {
		errs = append(errs, fmt.Errorf("web_url %q: want an absolute http(s) URL", c.WebURL))
	}
	if len(c.Repositories) == 0 {
		errs = append(errs, errors.New("repositories: at least one {name, repo} is required"))
	}
	polls := false
	for i := range c.Repositories {
		r := &c.Repositories[i]
		if err := r.normalise(c.WebURL); err != nil {
			errs = append(errs, fmt.Errorf("repositories[%d]: %w", i, err))
		}
		polls = polls || r.Poll
	}
	if c.Listen == "" && !polls {
		errs = append(errs, errors.New("nothing to do: set listen (webhooks) or poll = true on a repository"))
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("listen %q: want host:port", c.Listen))
		}
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if !strings.HasPrefix(c.Path, "/") || c.Path == "/stats" || c.Path == "/healthz" {
		errs = append(errs, fmt.Errorf("path %q: want an absolute path other than /stats and /healthz", c.Path))
	}
	if c.SecretEnv == "" {
		c.SecretEnv = DefaultSecretEnv
	}
	if c.TokenEnv == "" {
		c.TokenEnv = DefaultTokenEnv
	}
	setDur(&c.Interval, time.Minute)
	if c.Interval < Duration(10*time.Millisecond) {
		errs = append(errs, fmt.Errorf("interval %s is too short", time.Duration(c.Interval)))
	}
	setDur(&c.TrackFor, 24*time.Hour)
	if c.InitialPushes == nil {
		n := 10
		c.InitialPushes = &n
	}
	if c.MaxPages <= 0 {
		c.MaxPages = 10
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 200
	}
	setDur(&c.ReplayWindow, 72*time.Hour)
	if c.MaxDeliveries <= 0 {
		c.MaxDeliveries = 1_000_000
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 25 << 20
	}
	setDur(&c.HandlerTimeout, time.Minute)
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 16
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = 32 << 20
	}
	setDur(&c.HTTPTimeout, 30*time.Second)
	setDur(&c.MaxBackoff, 15*time.Minute)
	setDur(&c.StatsInterval, 5*time.Minute)
	return errors.Join(errs...)
}

func setDur(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}

func (r *RepoConfig) normalise(webURL string) error {
	if r.Name == "" {
		return errors.New("name (the herder repository) is required")
	}
	if r.Repo == "" && r.URL != "" {
		u, err := url.Parse(r.URL)
		if err != nil || u.Host == "" {
			return fmt.Errorf("url %q: want https://HOST/owner/name", r.URL)
		}
		r.Repo = strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git")
	}
	owner, name, ok := strings.Cut(r.Repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("%s: repo %q: want owner/name", r.Name, r.Repo)
	}
	if len(r.Branches) == 0 {
		r.Branches = []string{"*"}
	}
	if r.Actions == nil {
		t := true
		r.Actions = &t
	}
	return nil
}

// Routes builds the routing table.
func (c *Config) Routes() (*events.Routes, error) {
	repos := make([]events.Repo, len(c.Repositories))
	for i, r := range c.Repositories {
		repos[i] = events.Repo{Name: r.Name, FullName: r.Repo, Branches: r.Branches, AcceptsPullRequests: r.AcceptsPullRequests}
	}
	return events.NewRoutes(c.WebURL, repos)
}

// Polled lists the GitHub repositories to poll (lower-case owner/name),
// each once, and whether their Actions runs are followed.
func (c *Config) Polled() []PolledRepo {
	seen := map[string]int{}
	var out []PolledRepo
	for _, r := range c.Repositories {
		if !r.Poll {
			continue
		}
		full := strings.ToLower(r.Repo)
		if i, ok := seen[full]; ok {
			out[i].Actions = out[i].Actions || *r.Actions
			continue
		}
		seen[full] = len(out)
		out = append(out, PolledRepo{FullName: full, Actions: *r.Actions})
	}
	return out
}

// PolledRepo is a repository the poller reads.
type PolledRepo struct {
	FullName string
	Actions  bool
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
