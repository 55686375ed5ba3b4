// Package bugs is the host side of bug matching: it keeps the bug cache in
// step with Bugzilla (Treeherder's update_bugscache), matches stored jobs'
// error lines to bugs through a bug matcher processor plugin and stores the
// suggestions, classifies new failures and intermittents, and writes the
// intermittent failure summaries to Bugzilla. The text rules live in the
// plugin (plugins/bugmatcher); everything that needs the database is here.
package bugs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/herder-ci/herder/sdk"
)

// DefaultBugzillaURL is Mozilla's Bugzilla, Treeherder's BZ_API_URL.
const DefaultBugzillaURL = "https://bugzilla.mozilla.org"

// BugzillaOptions configures a Bugzilla client.
type BugzillaOptions struct {
	// URL is the Bugzilla base URL (default DefaultBugzillaURL).
	URL string
	// APIKey is sent as X-BUGZILLA-API-KEY when set. Reading public bugs
	// needs none; posting comments and reopening bugs do.
	APIKey string
	// AllowedHosts limits where requests (and redirects) may go: "host",
	// "host:port" or "*.domain". Empty allows only the URL's own host.
	AllowedHosts []string
	// Timeout bounds one request (default 60 s); MaxBody one response
	// (default 32 MiB); Attempts the tries of a request that fails for a
	// reason retrying can cure (default 5), waiting Backoff (default 2 s),
	// doubled each time, in between.
	Timeout  time.Duration
	MaxBody  int64
	Attempts int
	Backoff  time.Duration
	// Transport replaces the HTTP transport (tests).
	Transport http.RoundTripper
	Log       hclog.Logger
}

// Bugzilla talks to Bugzilla's REST API.
type Bugzilla struct {
	base   *url.URL
	opts   BugzillaOptions
	client *http.Client
	log    hclog.Logger
}

// NewBugzilla checks the options and returns a client.
func NewBugzilla(opts BugzillaOptions) (*Bugzilla, error) {
	if opts.URL == "" {
		opts.URL = DefaultBugzillaURL
	}
	u, err := url.Parse(strings.TrimRight(opts.URL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("bugzilla url %q: want http(s)://host[/path]", opts.URL)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 32 << 20
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 5
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 2 * time.Second
	}
	if opts.Log == nil {
		opts.Log = hclog.NewNullLogger()
	}
	b := &Bugzilla{base: u, opts: opts, log: opts.Log}
	if !b.allowed(u) {
		return nil, fmt.Errorf("bugzilla host %s is not in allowed_hosts", u.Host)
	}
	b.client = &http.Client{
		Transport: opts.Transport,
		Timeout:   opts.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if !b.allowed(req.URL) {
				return fmt.Errorf("redirected to %s, which is not in allowed_hosts", req.URL.Host)
			}
			return nil
		},
	}
	return b, nil
}

// HasAPIKey reports whether writes (comments, reopening) are possible.
func (b *Bugzilla) HasAPIKey() bool { return b.opts.APIKey != "" }

// URL is the base URL, for messages.
func (b *Bugzilla) URL() string { return b.base.String() }

// allowed applies the allowed-host rules; with none, only the configured
// Bugzilla host itself.
func (b *Bugzilla) allowed(u *url.URL) bool {
	if len(b.opts.AllowedHosts) == 0 {
		return (u.Scheme == "https" || u.Scheme == "http") && strings.EqualFold(u.Host, b.base.Host)
	}
	return sdk.HostAllowed(b.opts.AllowedHosts, u)
}

// HTTPError is a response with a failing status.
type HTTPError struct {
	Status int
	Body   string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body)
}

// retryable says whether another attempt may succeed: network failures,
// timeouts, 429 and 5xx do; other statuses and refused hosts do not.
func retryable(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status == http.StatusTooManyRequests || he.Status >= 500
	}
	var ue *url.Error
	if errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "allowed_hosts") {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ue)
}

// refusedBeforeWork says whether a failed write certainly did nothing, so
// it can be sent again without, say, posting a comment twice.
func refusedBeforeWork(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status == http.StatusTooManyRequests || he.Status == http.StatusServiceUnavailable
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// do sends a request, retrying what may succeed later, and returns the body
// (at most MaxBody bytes).
func (b *Bugzilla) do(ctx context.Context, method, path string, query url.Values, body any) ([]byte, error) {
	u := *b.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = query.Encode()
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
	}
	var last error
	for attempt := 1; attempt <= b.opts.Attempts; attempt++ {
		out, err := b.once(ctx, method, u.String(), payload)
		if err == nil {
			return out, nil
		}
		last = err
		if ctx.Err() != nil || !retryable(err) || (method != http.MethodGet && !refusedBeforeWork(err)) || attempt == b.opts.Attempts {
			break
		}
		wait := b.opts.Backoff << (attempt - 1)
		wait += time.Duration(rand.Int64N(int64(wait)/5 + 1))
		b.log.Warn("bugzilla request failed, retrying", "method", method, "path", path, "attempt", attempt, "retry_in", wait, "error", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s %s: %w (last error: %v)", method, path, ctx.Err(), last)
		case <-time.After(wait):
		}
	}
	return nil, fmt.Errorf("%s %s%s: %w", method, b.base.Host, path, last)
}

func (b *Bugzilla) once(ctx context.Context, method, u string, payload []byte) ([]byte, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "herder-bugs")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if b.opts.APIKey != "" {
		req.Header.Set("X-BUGZILLA-API-KEY", b.opts.APIKey)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.ContentLength > b.opts.MaxBody {
		return nil, fmt.Errorf("response of %d bytes is over the %d byte limit", resp.ContentLength, b.opts.MaxBody)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, b.opts.MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if int64(len(data)) > b.opts.MaxBody {
		return nil, fmt.Errorf("response is over the %d byte limit", b.opts.MaxBody)
	}
	if resp.StatusCode/100 != 2 {
		msg := string(data)
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			msg = e.Message
		}
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return nil, &HTTPError{Status: resp.StatusCode, Body: msg}
	}
	return data, nil
}

// RawBug is a bug record as Bugzilla sent it, decoded field by field so one
// malformed record does not spoil a page.
type RawBug map[string]json.RawMessage

// FetchBugs runs GET /rest/bug with the given parameters and returns the
// page's records.
func (b *Bugzilla) FetchBugs(ctx context.Context, params url.Values) ([]RawBug, error) {
	data, err := b.do(ctx, http.MethodGet, "/rest/bug", params, nil)
	if err != nil {
		return nil, err
	}
	var page struct {
		Bugs []json.RawMessage `json:"bugs"`
	}
	if err := json.Unmarshal(data, &page); err != nil {
		return nil, fmt.Errorf("GET /rest/bug: response is not a bug list: %w", err)
	}
	out := make([]RawBug, 0, len(page.Bugs))
	for i, raw := range page.Bugs {
		var rb RawBug
		if err := json.Unmarshal(raw, &rb); err != nil || rb == nil {
			// Keep the slot so the caller can report it.
			out = append(out, RawBug{"_malformed": json.RawMessage(strconv.Quote(fmt.Sprintf("record %d is not an object", i)))})
			continue
		}
		out = append(out, rb)
	}
	return out, nil
}

// UpdateBug runs PUT /rest/bug/{id} (comments, whiteboard, status).
func (b *Bugzilla) UpdateBug(ctx context.Context, id int64, changes any) error {
	_, err := b.do(ctx, http.MethodPut, "/rest/bug/"+strconv.FormatInt(id, 10), nil, changes)
	return err
}
