package transform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/herder-ci/herder/sdk"
)

// HTTPOptions configure NewHTTPClient. Zero values take the defaults noted.
type HTTPOptions struct {
	// AllowedHosts lists the hosts requests may go to (and redirect to):
	// exact hostnames, optionally with a port, or "*.example.com" for any
	// subdomain. Required: an empty list allows nothing.
	AllowedHosts []string
	// MaxResponseBytes caps every response body (default 16 MiB).
	MaxResponseBytes int64
	// Timeout bounds each attempt (default 30s).
	Timeout time.Duration
	// MaxAttempts bounds tries per request, the first included (default 4).
	MaxAttempts int
	// BaseBackoff is the wait before the second attempt; it doubles each
	// time, with jitter, up to MaxBackoff (defaults 500ms and 10s).
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// MaxPages bounds pages followed for GitHub lists (default 20).
	MaxPages int
	// GitHubAPI is the GitHub REST root (default https://api.github.com).
	GitHubAPI string
	// GitHubToken, if set, is sent as a bearer token to GitHubAPI only. It is
	// never logged or put in errors.
	GitHubToken string
	// UserAgent (default "herder-pulse").
	UserAgent string
	// Transport replaces the default transport (tests route it to fakes).
	Transport http.RoundTripper
}

// HTTPClient fetches from Taskcluster, hg.mozilla.org and GitHub with
// allowed-host checks, size caps, timeouts and retries. It implements
// TaskFetcher, PushFetcher and GitHubFetcher; wrap it in a TaskCache to
// cache task definitions.
type HTTPClient struct {
	opts      HTTPOptions
	client    *http.Client
	githubAPI *url.URL
	sleep     func(ctx context.Context, d time.Duration) error
}

// NewHTTPClient checks opts and returns a client.
func NewHTTPClient(opts HTTPOptions) (*HTTPClient, error) {
	if len(opts.AllowedHosts) == 0 {
		return nil, errors.New("http client: no allowed hosts")
	}
	for _, h := range opts.AllowedHosts {
		if h == "" || strings.ContainsAny(h, "/ ") {
			return nil, fmt.Errorf("http client: bad allowed host %q", h)
		}
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = 16 << 20
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 4
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = 20
	}
	if opts.GitHubAPI == "" {
		opts.GitHubAPI = "https://api.github.com"
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "herder-pulse"
	}
	gh, err := url.Parse(strings.TrimRight(opts.GitHubAPI, "/"))
	if err != nil || gh.Host == "" {
		return nil, fmt.Errorf("http client: bad GitHub API url %q", opts.GitHubAPI)
	}
	c := &HTTPClient{opts: opts, githubAPI: gh, sleep: sleepCtx}
	transport := opts.Transport
	if transport == nil {
		transport = defaultTransport()
	}
	c.client = &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			return c.checkURL(req.URL)
		},
	}
	return c, nil
}

// maxIdlePerHost keeps a connection per concurrent fetch: the listener
// fetches with up to 256 workers, mostly from one Taskcluster host, and
// http.DefaultTransport keeps only two idle connections per host, so every
// other fetch paid a new TLS handshake (a quarter of the plugin's CPU under
// load, and as much again on the server's side).
const maxIdlePerHost = 256

func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = maxIdlePerHost
	t.MaxIdleConnsPerHost = maxIdlePerHost
	return t
}

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

var errHostNotAllowed = errors.New("host not allowed")

func (c *HTTPClient) checkURL(u *url.URL) error {
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("scheme %q not allowed", u.Scheme)
	}
	if !sdk.HostAllowed(c.opts.AllowedHosts, u) {
		return fmt.Errorf("%s: %w", u.Host, errHostNotAllowed)
	}
	return nil
}

// get fetches rawURL with retries and returns the body and headers.
func (c *HTTPClient) get(ctx context.Context, rawURL string, header http.Header) ([]byte, http.Header, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, &UpstreamError{URL: rawURL, Err: err}
	}
	if err := c.checkURL(u); err != nil {
		return nil, nil, &UpstreamError{URL: redact(u), Err: err}
	}
	var last *UpstreamError
	for attempt := 1; attempt <= c.opts.MaxAttempts; attempt++ {
		if attempt > 1 {
			if err := c.sleep(ctx, c.backoff(attempt-1, last.retryAfter)); err != nil {
				last.Err = fmt.Errorf("%w (retrying after: %v)", err, last.Err)
				return nil, nil, last
			}
		}
		body, hdr, uerr := c.attempt(ctx, u, header)
		if uerr == nil {
			return body, hdr, nil
		}
		uerr.Attempts = attempt
		last = uerr
		if !uerr.Retryable || ctx.Err() != nil {
			break
		}
	}
	return nil, nil, last
}

func (c *HTTPClient) attempt(ctx context.Context, u *url.URL, header http.Header) ([]byte, http.Header, *UpstreamError) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, &UpstreamError{URL: redact(u), Err: err}
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.client.Do(req)
	if err != nil {
		// Redirects to other hosts are refused, not retried.
		return nil, nil, &UpstreamError{URL: redact(u), Err: err, Retryable: !errors.Is(err, errHostNotAllowed)}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		ue := &UpstreamError{URL: redact(u), StatusCode: resp.StatusCode}
		ue.Retryable = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		if resp.StatusCode == http.StatusTooManyRequests {
			ue.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
		}
		return nil, nil, ue
	}
	if resp.ContentLength > c.opts.MaxResponseBytes {
		return nil, nil, &UpstreamError{URL: redact(u), StatusCode: resp.StatusCode,
			Err: fmt.Errorf("response of %d bytes is over the %d-byte cap", resp.ContentLength, c.opts.MaxResponseBytes)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxResponseBytes+1))
	if err != nil {
		return nil, nil, &UpstreamError{URL: redact(u), StatusCode: resp.StatusCode, Err: err, Retryable: true}
	}
	if int64(len(body)) > c.opts.MaxResponseBytes {
		return nil, nil, &UpstreamError{URL: redact(u), StatusCode: resp.StatusCode,
			Err: fmt.Errorf("response is over the %d-byte cap", c.opts.MaxResponseBytes)}
	}
	return body, resp.Header, nil
}

func parseRetryAfter(v string) time.Duration {
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	return 0
}

// backoff is BaseBackoff·2^(n-1) with ±25% jitter, capped at MaxBackoff; a
// server's Retry-After wins when longer (still capped).
func (c *HTTPClient) backoff(n int, retryAfter time.Duration) time.Duration {
	d := c.opts.BaseBackoff << (n - 1)
	if d <= 0 || d > c.opts.MaxBackoff {
		d = c.opts.MaxBackoff
	}
	d = time.Duration(float64(d) * (0.75 + 0.5*rand.Float64()))
	if retryAfter > d {
		d = retryAfter
	}
	return min(d, c.opts.MaxBackoff)
}

// redact drops the query string from URLs put in errors: it may carry tokens.
func redact(u *url.URL) string {
	r := *u
	r.RawQuery, r.User = "", nil
	return r.String()
}

// getJSON fetches and checks the body is JSON.
func (c *HTTPClient) getJSON(ctx context.Context, rawURL string, header http.Header) (json.RawMessage, http.Header, error) {
	body, hdr, err := c.get(ctx, rawURL, header)
	if err != nil {
		return nil, nil, err
	}
	if !json.Valid(body) {
		u, _ := url.Parse(rawURL)
		return nil, nil, &UpstreamError{URL: redact(u), StatusCode: 200, Attempts: 1, Err: ErrNotJSON}
	}
	return body, hdr, nil
}

// Task implements TaskFetcher.
func (c *HTTPClient) Task(ctx context.Context, rootURL, taskID string) (json.RawMessage, error) {
	body, _, err := c.getJSON(ctx, queueURL(rootURL, "task/"+url.PathEscape(taskID)), nil)
	return body, err
}

// Artifacts implements TaskFetcher.
func (c *HTTPClient) Artifacts(ctx context.Context, rootURL, taskID string, runID int, continuationToken string) (ArtifactPage, error) {
	u := queueURL(rootURL, fmt.Sprintf("task/%s/runs/%d/artifacts", url.PathEscape(taskID), runID))
	if continuationToken != "" {
		u += "?continuationToken=" + url.QueryEscape(continuationToken)
	}
	body, _, err := c.getJSON(ctx, u, nil)
	if err != nil {
		return ArtifactPage{}, err
	}
	var page ArtifactPage
	if err := json.Unmarshal(body, &page); err != nil {
		return ArtifactPage{}, &UpstreamError{URL: u, StatusCode: 200, Attempts: 1, Err: fmt.Errorf("artifact list: %v", err)}
	}
	return page, nil
}

// HgPushes implements PushFetcher.
func (c *HTTPClient) HgPushes(ctx context.Context, rawURL string) (json.RawMessage, error) {
	body, _, err := c.getJSON(ctx, rawURL, nil)
	return body, err
}

// Compare implements GitHubFetcher.
func (c *HTTPClient) Compare(ctx context.Context, owner, repo, base, head string) ([]GitHubCommit, error) {
	u := c.githubURL(fmt.Sprintf("repos/%s/%s/compare/%s...%s",
		url.PathEscape(owner), url.PathEscape(repo), url.PathEscape(base), url.PathEscape(head)))
	return c.githubCommits(ctx, u, true)
}

// PullRequestCommits implements GitHubFetcher.
func (c *HTTPClient) PullRequestCommits(ctx context.Context, owner, repo string, number int) ([]GitHubCommit, error) {
	u := c.githubURL(fmt.Sprintf("repos/%s/%s/pulls/%d/commits", url.PathEscape(owner), url.PathEscape(repo), number))
	return c.githubCommits(ctx, u, false)
}

func (c *HTTPClient) githubURL(path string) string {
	return c.githubAPI.String() + "/" + path + "?per_page=100"
}

// githubCommits follows rel="next" links up to MaxPages. Compare pages are
// objects with a "commits" member; PR commit pages are arrays.
func (c *HTTPClient) githubCommits(ctx context.Context, u string, compare bool) ([]GitHubCommit, error) {
	header := http.Header{"Accept": {"application/vnd.github+json"}, "X-Github-Api-Version": {"2022-11-28"}}
	var all []GitHubCommit
	for page := 0; u != ""; page++ {
		if page >= c.opts.MaxPages {
			return nil, &UpstreamError{URL: u, Attempts: 1, Err: fmt.Errorf("more than %d pages", c.opts.MaxPages)}
		}
		h := header
		if c.opts.GitHubToken != "" && c.sameHost(u, c.githubAPI) {
			h = header.Clone()
			h.Set("Authorization", "Bearer "+c.opts.GitHubToken)
		}
		body, hdr, err := c.getJSON(ctx, u, h)
		if err != nil {
			return nil, err
		}
		var commits []GitHubCommit
		if compare {
			var cmp struct {
				Commits []GitHubCommit `json:"commits"`
			}
			err = json.Unmarshal(body, &cmp)
			commits = cmp.Commits
		} else {
			err = json.Unmarshal(body, &commits)
		}
		if err != nil {
			return nil, schemaErr("github-commits", "", "%v", err)
		}
		all = append(all, commits...)
		u = nextLink(hdr.Get("Link"))
	}
	return all, nil
}

func (c *HTTPClient) sameHost(rawURL string, base *url.URL) bool {
	u, err := url.Parse(rawURL)
	return err == nil && strings.EqualFold(u.Host, base.Host) && u.Scheme == base.Scheme
}

// nextLink extracts rel="next" from an RFC 8288 Link header.
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
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
			if strings.EqualFold(strings.TrimSpace(k), "rel") && strings.Trim(strings.TrimSpace(v), `"`) == "next" {
				return target[1 : len(target)-1]
			}
		}
	}
	return ""
}
