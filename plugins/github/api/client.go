// Package api is the GitHub plugin's REST client: conditional requests
// (If-None-Match, so an unchanged listing costs a 304 and no rate limit),
// Link-header pagination, rate-limit awareness (X-RateLimit-*, Retry-After,
// secondary limits), bounded responses and requests to the configured API
// host only. It never sleeps out a rate limit itself: it reports it as a
// *RateLimitError and refuses further calls until the limit lifts, so the
// caller decides (the poller waits; the webhook receiver answers 503).
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is github.com's REST root.
const DefaultBaseURL = "https://api.github.com"

// Options configure New. Zero values take the defaults noted.
type Options struct {
	// BaseURL is the REST root (default DefaultBaseURL; GitHub Enterprise
	// Server: https://HOST/api/v3). Requests go to its scheme and host only.
	BaseURL string
	// Token, if set, is sent as a bearer token. It never appears in errors
	// or logs.
	Token string
	// UserAgent (default "herder-github").
	UserAgent string
	// Timeout bounds each request, body included (default 30s).
	Timeout time.Duration
	// MaxResponseBytes caps every response body (default 32 MiB).
	MaxResponseBytes int64
	// MaxPages bounds the pages one listing follows (default 10).
	MaxPages int
	// Attempts bounds tries of a request failing with a 5xx or a network
	// error, the first included (default 3).
	Attempts int
	// Backoff is the wait before the second attempt, doubled each time with
	// jitter (default 1s).
	Backoff time.Duration
	// SecondaryBackoff is the first wait after a secondary rate limit that
	// names no Retry-After, doubled while they continue, up to MaxBackoff
	// (defaults 1m and 15m, as GitHub's documentation asks).
	SecondaryBackoff time.Duration
	MaxBackoff       time.Duration
	// Transport replaces the default transport.
	Transport http.RoundTripper
	// Now replaces time.Now (tests).
	Now func() time.Time
	// Logger (default discard).
	Logger *slog.Logger
}

// Client talks to one GitHub REST API. It is safe for concurrent use.
type Client struct {
	opts  Options
	base  *url.URL
	http  *http.Client
	log   *slog.Logger
	sleep func(context.Context, time.Duration) error

	mu           sync.Mutex
	blockedUntil time.Time
	blockedBy    *RateLimitError
	secondaryN   int
	remaining    int
	limit        int
	requests     int64
	notModified  int64
}

// New checks opts and returns a client.
func New(opts Options) (*Client, error) {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(opts.BaseURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || base.RawQuery != "" {
		return nil, fmt.Errorf("github api: bad base URL %q: want an absolute http(s) URL", opts.BaseURL)
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "herder-github"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = 32 << 20
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = 10
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.SecondaryBackoff <= 0 {
		opts.SecondaryBackoff = time.Minute
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 15 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	transport := opts.Transport
	if transport == nil {
		transport = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   15 * time.Second,
			ResponseHeaderTimeout: opts.Timeout,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   4,
			ForceAttemptHTTP2:     true,
		}
	}
	c := &Client{opts: opts, base: base, log: opts.Logger, sleep: sleepCtx, remaining: -1, limit: -1}
	c.http = &http.Client{
		Transport: transport,
		// GitHub redirects renamed repositories within the API host; a
		// redirect anywhere else is not followed (the token must not leak,
		// and requests stay on the configured host).
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if !c.sameHost(req.URL) {
				return fmt.Errorf("redirect to %s: %w", req.URL.Host, ErrHostNotAllowed)
			}
			return nil
		},
	}
	return c, nil
}

// BaseURL is the REST root in use, without a trailing slash.
func (c *Client) BaseURL() string { return c.base.String() }

// MaxPages is the configured page bound.
func (c *Client) MaxPages() int { return c.opts.MaxPages }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ErrHostNotAllowed refuses a URL outside the API host.
var ErrHostNotAllowed = errors.New("host is not the configured GitHub API host")

func (c *Client) sameHost(u *url.URL) bool {
	return u.Scheme == c.base.Scheme && strings.EqualFold(u.Host, c.base.Host)
}

// resolve turns a path relative to the base ("repos/o/r/pulls?state=open")
// or an absolute URL on the API host into a URL.
func (c *Client) resolve(target string) (*url.URL, error) {
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		u, err := url.Parse(target)
		if err != nil {
			return nil, fmt.Errorf("bad URL: %w", err)
		}
		if !c.sameHost(u) {
			return nil, fmt.Errorf("%s: %w", u.Host, ErrHostNotAllowed)
		}
		return u, nil
	}
	u, err := url.Parse(c.base.String() + "/" + strings.TrimLeft(target, "/"))
	if err != nil {
		return nil, fmt.Errorf("bad path %q: %w", target, err)
	}
	return u, nil
}

// Response is one answered request.
type Response struct {
	Status int
	Body   []byte
	Header http.Header
	// ETag is the validator to send as If-None-Match next time.
	ETag string
	// NotModified: the server answered 304 to If-None-Match; Body is empty.
	NotModified bool
	// Next is the rel="next" URL of a paginated listing, or "".
	Next string
}

// RateLimitError is a request refused (or not made) because of a rate
// limit. Until is when calls may resume.
type RateLimitError struct {
	URL       string
	Status    int
	Until     time.Time
	Secondary bool
	// Local: no request was made, the client still waits out an earlier
	// limit.
	Local bool
}

func (e *RateLimitError) Error() string {
	kind := "primary"
	if e.Secondary {
		kind = "secondary"
	}
	if e.Local {
		return fmt.Sprintf("GitHub %s rate limit: waiting until %s before calling %s", kind, e.Until.UTC().Format(time.RFC3339), e.URL)
	}
	return fmt.Sprintf("GitHub %s rate limit (HTTP %d) on %s: retry after %s", kind, e.Status, e.URL, e.Until.UTC().Format(time.RFC3339))
}

// AsRateLimit returns the rate limit err carries, if any.
func AsRateLimit(err error) (*RateLimitError, bool) {
	var rl *RateLimitError
	ok := errors.As(err, &rl)
	return rl, ok
}

// StatusError is an HTTP error status that retrying cannot fix (404, 401,
// 403 without a rate limit, 422...), or a 5xx after every attempt.
type StatusError struct {
	URL     string
	Status  int
	Message string
}

func (e *StatusError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("GitHub API %s: HTTP %d: %s", e.URL, e.Status, e.Message)
	}
	return fmt.Sprintf("GitHub API %s: HTTP %d", e.URL, e.Status)
}

// IsNotFound reports whether err is a 404 (or 410) from the API.
func IsNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusGone)
}

// Stats are the client's counters.
type Stats struct {
	Requests    int64 `json:"requests"`
	NotModified int64 `json:"not_modified"`
	// Remaining and Limit are the last X-RateLimit-* values seen (-1: none).
	Remaining    int       `json:"rate_limit_remaining"`
	Limit        int       `json:"rate_limit"`
	BlockedUntil time.Time `json:"blocked_until,omitzero"`
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Requests: c.requests, NotModified: c.notModified, Remaining: c.remaining, Limit: c.limit, BlockedUntil: c.blockedUntil}
}

// Get fetches target (a path relative to the base URL, or an absolute URL
// on the API host). etag, when set, makes the request conditional. 5xx and
// network errors are retried; rate limits are returned at once.
func (c *Client) Get(ctx context.Context, target, etag string) (*Response, error) {
	u, err := c.resolve(target)
	if err != nil {
		return nil, err
	}
	shown := redact(u)
	var last error
	for attempt := 1; attempt <= c.opts.Attempts; attempt++ {
		if attempt > 1 {
			d := c.opts.Backoff << (attempt - 2)
			d = time.Duration(float64(d) * (0.75 + 0.5*rand.Float64()))
			if err := c.sleep(ctx, min(d, c.opts.MaxBackoff)); err != nil {
				return nil, fmt.Errorf("%w (while retrying after: %v)", err, last)
			}
		}
		if err := c.waitingOut(shown); err != nil {
			return nil, err
		}
		resp, retry, err := c.do(ctx, u, shown, etag)
		if err == nil {
			return resp, nil
		}
		last = err
		if !retry || ctx.Err() != nil {
			break
		}
	}
	return nil, last
}

// waitingOut refuses a call while an earlier rate limit lasts.
func (c *Client) waitingOut(shown string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.blockedBy != nil && c.opts.Now().Before(c.blockedUntil) {
		return &RateLimitError{URL: shown, Status: c.blockedBy.Status, Until: c.blockedUntil, Secondary: c.blockedBy.Secondary, Local: true}
	}
	return nil
}

func (c *Client) do(ctx context.Context, u *url.URL, shown, etag string) (_ *Response, retry bool, _ error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, false, fmt.Errorf("GitHub API %s: %w", shown, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := c.http.Do(req)
	c.mu.Lock()
	c.requests++
	c.mu.Unlock()
	if err != nil {
		return nil, !errors.Is(err, ErrHostNotAllowed), fmt.Errorf("GitHub API %s: %w", shown, err)
	}
	defer resp.Body.Close()
	c.noteLimits(resp.Header)
	switch {
	case resp.StatusCode == http.StatusNotModified:
		c.mu.Lock()
		c.notModified++
		c.secondaryN = 0
		c.mu.Unlock()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return &Response{Status: resp.StatusCode, Header: resp.Header, ETag: etagOf(resp.Header, etag), NotModified: true}, false, nil
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests:
		msg := readMessage(resp.Body)
		if rl := c.rateLimited(resp, msg, shown); rl != nil {
			return nil, false, rl
		}
		return nil, false, &StatusError{URL: shown, Status: resp.StatusCode, Message: msg}
	case resp.StatusCode >= 500:
		msg := readMessage(resp.Body)
		return nil, true, &StatusError{URL: shown, Status: resp.StatusCode, Message: msg}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, false, &StatusError{URL: shown, Status: resp.StatusCode, Message: readMessage(resp.Body)}
	}
	if resp.ContentLength > c.opts.MaxResponseBytes {
		return nil, false, fmt.Errorf("GitHub API %s: response of %d bytes is over the %d-byte cap", shown, resp.ContentLength, c.opts.MaxResponseBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxResponseBytes+1))
	if err != nil {
		return nil, true, fmt.Errorf("GitHub API %s: read body: %w", shown, err)
	}
	if int64(len(body)) > c.opts.MaxResponseBytes {
		return nil, false, fmt.Errorf("GitHub API %s: response is over the %d-byte cap", shown, c.opts.MaxResponseBytes)
	}
	c.mu.Lock()
	c.secondaryN = 0
	c.mu.Unlock()
	return &Response{Status: resp.StatusCode, Body: body, Header: resp.Header, ETag: resp.Header.Get("ETag"), Next: NextLink(resp.Header.Get("Link"))}, false, nil
}

// etagOf is the validator after a 304: the server's, else the one sent.
func etagOf(h http.Header, sent string) string {
	if e := h.Get("ETag"); e != "" {
		return e
	}
	return sent
}

// noteLimits records X-RateLimit-Remaining/Limit; a remaining count of 0
// blocks further calls until X-RateLimit-Reset, without a wasted request.
func (c *Client) noteLimits(h http.Header) {
	rem, errR := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	lim, errL := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	c.mu.Lock()
	defer c.mu.Unlock()
	if errL == nil {
		c.limit = lim
	}
	if errR != nil {
		return
	}
	c.remaining = rem
	if rem == 0 {
		if reset, ok := resetTime(h); ok && reset.After(c.opts.Now()) {
			c.block(&RateLimitError{Until: reset}, reset)
		}
	}
}

func (c *Client) block(rl *RateLimitError, until time.Time) {
	if until.After(c.blockedUntil) {
		c.blockedUntil = until
	}
	c.blockedBy = rl
}

func resetTime(h http.Header) (time.Time, bool) {
	secs, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil || secs <= 0 {
		return time.Time{}, false
	}
	return time.Unix(secs, 0), true
}

// rateLimited classifies a 403/429 as GitHub documents it: Retry-After
// (secondary limit) wins; X-RateLimit-Remaining: 0 is the primary limit,
// until X-RateLimit-Reset; a 429, or a 403 whose message names a rate
// limit, is a secondary limit without a time, waited out with doubling
// backoff from one minute. Any other 403 is a permission error.
func (c *Client) rateLimited(resp *http.Response, msg, shown string) *RateLimitError {
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	rl := &RateLimitError{URL: shown, Status: resp.StatusCode}
	switch ra := parseRetryAfter(resp.Header.Get("Retry-After"), now); {
	case ra > 0:
		rl.Secondary, rl.Until = true, now.Add(ra)
	case resp.Header.Get("X-RateLimit-Remaining") == "0":
		reset, ok := resetTime(resp.Header)
		if !ok || !reset.After(now) {
			reset = now.Add(c.opts.SecondaryBackoff)
		}
		rl.Until = reset
	case resp.StatusCode == http.StatusTooManyRequests || strings.Contains(strings.ToLower(msg), "rate limit"):
		d := c.opts.SecondaryBackoff << min(c.secondaryN, 10)
		c.secondaryN++
		rl.Secondary, rl.Until = true, now.Add(min(d, c.opts.MaxBackoff))
	default:
		return nil
	}
	c.block(rl, rl.Until)
	c.log.Warn("GitHub rate limit", "url", shown, "status", resp.StatusCode, "secondary", rl.Secondary,
		"until", rl.Until.UTC().Format(time.RFC3339))
	return rl
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(secs, 1)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// readMessage reads an error body's "message" (bounded), for errors.
func readMessage(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 64<<10))
	s := strings.TrimSpace(string(b))
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &m) == nil && m.Message != "" {
		s = m.Message
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.ToValidUTF8(s, "")
}

// redact drops the query string and credentials from URLs put in errors.
func redact(u *url.URL) string {
	r := *u
	r.RawQuery, r.User, r.Fragment = "", nil, ""
	return r.String()
}

// NextLink extracts rel="next" from an RFC 8288 Link header.
func NextLink(h string) string {
	for part := range strings.SplitSeq(h, ",") {
		segs := strings.Split(part, ";")
		if len(segs) < 2 {
			continue
		}
		target := strings.TrimSpace(segs[0])
		if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
			continue
		}
		for _, p := range segs[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "rel") {
				for rel := range strings.FieldsSeq(strings.Trim(strings.TrimSpace(v), `"`)) {
					if rel == "next" {
						return target[1 : len(target)-1]
					}
				}
			}
		}
	}
	return ""
}
