package processor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/herder-ci/herder/sdk"
)

// Defaults, Treeherder's values where it has one.
const (
	// DefaultMaxDownloadBytes is Treeherder's MAX_DOWNLOAD_SIZE_IN_BYTES: a
	// raw log whose compressed size is larger is skipped (skipped-size).
	DefaultMaxDownloadBytes = 5 << 20
	// DefaultMaxLogBytes caps the uncompressed size of any log.
	DefaultMaxLogBytes = 1 << 30
	// DefaultMaxPerfBytes is Treeherder's MAX_JSON_SIZE for perfherder-data
	// artifacts; it also bounds the PERFHERDER_DATA blobs kept from one log.
	DefaultMaxPerfBytes = 5 << 20
	// DefaultTimeout bounds one download and parse.
	DefaultTimeout = 2 * time.Minute
	// DefaultConcurrency is how many logs one plugin process parses at once.
	DefaultConcurrency = 4
	// maxResultBytes keeps a result well under the plugin protocol's 64 MiB
	// message limit (failure lines carry stacks of any length).
	maxResultBytes = 48 << 20
)

// Config is the processor block's `config { ... }`, as JSON.
type Config struct {
	// AllowedHosts are the hosts logs may be downloaded from: "host",
	// "host:port" or "*.example.org" (any subdomain); "*" allows every
	// host. An entry without a port matches any port. Empty refuses every
	// download.
	AllowedHosts []string `json:"allowed_hosts"`
	// MaxDownloadBytes caps a raw log's compressed (as sent) size.
	MaxDownloadBytes int64 `json:"max_download_bytes"`
	// MaxLogBytes caps any log's uncompressed size.
	MaxLogBytes int64 `json:"max_log_bytes"`
	// MaxPerfBytes caps a perfherder-data artifact and the PERFHERDER_DATA
	// blobs kept from one log.
	MaxPerfBytes int64 `json:"max_perf_bytes"`
	// Timeout bounds one log's download and parse, e.g. "2m".
	Timeout Duration `json:"timeout"`
	// MaxErrorLines is the number of error lines kept from a raw log
	// (Treeherder's MAX_ERROR_LINES, 40).
	MaxErrorLines int `json:"max_error_lines"`
	// MaxFailureLines is the errorsummary cutoff (Treeherder's
	// FAILURE_LINES_CUTOFF, 150).
	MaxFailureLines int `json:"max_failure_lines"`
	// Concurrency is the concurrency the processor declares (4).
	Concurrency int `json:"concurrency"`
	// UserAgent is sent with every download.
	UserAgent string `json:"user_agent"`
	// Credentials authorise downloads from hosts that serve logs only to
	// signed-in callers (GitHub's Actions logs API). The token comes from
	// the environment; it is sent only to the matching host, and Go's HTTP
	// client drops it when a redirect leaves that host (GitHub redirects to
	// pre-signed blob storage URLs).
	Credentials []Credential `json:"credentials"`
}

// Credential is one host's Authorization header: "<scheme> $token_env".
type Credential struct {
	Host     string `json:"host"`      // a host pattern, as in allowed_hosts
	TokenEnv string `json:"token_env"` // the environment variable holding the token
	Scheme   string `json:"scheme"`    // default "Bearer"
}

// Duration is sdk.Duration: a Go duration string or a number of seconds.
type Duration = sdk.Duration

// ParseConfig reads a processor block's settings; unknown keys are errors so
// that a misspelt setting does not silently fall back to its default.
func ParseConfig(raw []byte) (Config, error) {
	var c Config
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return Config{}, fmt.Errorf("logparser config: %w", err)
		}
	}
	return c.withDefaults()
}

func (c Config) withDefaults() (Config, error) {
	var errs []error
	neg := func(name string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", name))
		}
	}
	neg("max_download_bytes", c.MaxDownloadBytes)
	neg("max_log_bytes", c.MaxLogBytes)
	neg("max_perf_bytes", c.MaxPerfBytes)
	neg("timeout", int64(c.Timeout))
	neg("max_error_lines", int64(c.MaxErrorLines))
	neg("max_failure_lines", int64(c.MaxFailureLines))
	neg("concurrency", int64(c.Concurrency))
	for _, h := range c.AllowedHosts {
		if err := checkHostPattern(h); err != nil {
			errs = append(errs, err)
		}
	}
	for i, cr := range c.Credentials {
		if err := checkHostPattern(cr.Host); err != nil || cr.Host == "*" {
			errs = append(errs, fmt.Errorf("credentials[%d].host %q: want one host name, host:port or *.domain", i, cr.Host))
		}
		if cr.TokenEnv == "" {
			errs = append(errs, fmt.Errorf("credentials[%d]: token_env names the environment variable holding the token", i))
		}
		if c.Credentials[i].Scheme == "" {
			c.Credentials[i].Scheme = "Bearer"
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("logparser config: %w", err)
	}
	if c.MaxDownloadBytes == 0 {
		c.MaxDownloadBytes = DefaultMaxDownloadBytes
	}
	if c.MaxLogBytes == 0 {
		c.MaxLogBytes = DefaultMaxLogBytes
	}
	if c.MaxPerfBytes == 0 {
		c.MaxPerfBytes = DefaultMaxPerfBytes
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(DefaultTimeout)
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.UserAgent == "" {
		c.UserAgent = "herder-logparser/" + AlgorithmVersion
	}
	return c, nil
}

func checkHostPattern(h string) error {
	if h == "*" {
		return nil
	}
	if h == "" || strings.Contains(h, "/") {
		return fmt.Errorf("allowed_hosts entry %q: want a host name, host:port or *.domain, not a URL", h)
	}
	host := h
	if hh, port, err := net.SplitHostPort(h); err == nil {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return fmt.Errorf("allowed_hosts entry %q: bad port", h)
		}
		host = hh
	}
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		host = rest
	}
	if host == "" || strings.ContainsAny(host, "* ") {
		return fmt.Errorf("allowed_hosts entry %q: a wildcard is allowed only as a leading \"*.\"", h)
	}
	return nil
}
