package processor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/herder-ci/herder/plugins/logparser/parse"
	"github.com/herder-ci/herder/sdk"
)

// Outcome is a download or parse that ends in a recorded status (failed or
// skipped-size) instead of a retry: a log that is gone, too large, not
// allowed, or broken. Any other error from this package is transient.
type Outcome struct {
	Status string // sdk.LogStatusFailed or sdk.LogStatusSkippedSize
	Reason string
}

func (o *Outcome) Error() string { return o.Status + ": " + o.Reason }

func failed(format string, args ...any) *Outcome {
	return &Outcome{Status: sdk.LogStatusFailed, Reason: fmt.Sprintf(format, args...)}
}

func skippedSize(format string, args ...any) *Outcome {
	return &Outcome{Status: sdk.LogStatusSkippedSize, Reason: fmt.Sprintf(format, args...)}
}

// Fetcher downloads logs: only from allowed hosts (redirects included),
// streamed, bounded in size.
type Fetcher struct {
	hosts  []string
	agent  string
	client *http.Client
	auth   []authHeader
}

type authHeader struct {
	host  string
	value string
}

// Authorize reads the credentials' tokens from the environment. A token
// that is not set is an error: the operator asked for it, and without it
// every log of that host would fail as forbidden.
func (f *Fetcher) Authorize(creds []Credential) error {
	for _, c := range creds {
		token := strings.TrimSpace(os.Getenv(c.TokenEnv))
		if token == "" {
			return fmt.Errorf("logparser config: credentials for %s: environment variable %s is not set", c.Host, c.TokenEnv)
		}
		f.auth = append(f.auth, authHeader{host: c.Host, value: c.Scheme + " " + token})
	}
	return nil
}

// NewFetcher makes a fetcher for the allowed-host patterns (see
// Config.AllowedHosts). transport may be nil.
func NewFetcher(allowedHosts []string, userAgent string, transport http.RoundTripper) *Fetcher {
	if transport == nil {
		transport = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   15 * time.Second,
			ResponseHeaderTimeout: time.Minute,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   8,
			// Bodies are counted as sent, so the size cap applies to the
			// compressed bytes; gzip is undone by content afterwards.
			DisableCompression: true,
			ForceAttemptHTTP2:  true,
		}
	}
	f := &Fetcher{hosts: allowedHosts, agent: userAgent}
	f.client = &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return failed("more than 10 redirects fetching %s", redact(via[0].URL))
			}
			if !sdk.HostAllowed(f.hosts, req.URL) {
				return failed("redirected to %s, which is not in allowed_hosts", redact(req.URL))
			}
			return nil
		},
	}
	return f
}

// Download is an open log body.
type Download struct {
	URL  string // redacted: no query string
	Body *LimitedBody
	// Gzip is set when the server declared Content-Encoding: gzip.
	Gzip bool
	resp *http.Response
}

// Close releases the connection.
func (d *Download) Close() error { return d.resp.Body.Close() }

// Open starts downloading rawURL. limit caps the bytes read as sent
// (compressed); a Content-Length above it is refused before reading
// (skipped-size), and reading past it fails with an *Outcome. limit 0 means
// no cap. It returns an *Outcome for a download that must not be retried
// (host not allowed, 403, 404, a bad URL) and a plain error otherwise.
func (f *Fetcher) Open(ctx context.Context, rawURL string, limit int64) (*Download, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, failed("bad log URL: %v", err)
	}
	shown := redact(u)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, failed("log URL %s: only http and https are fetched", shown)
	}
	if len(f.hosts) == 0 {
		return nil, failed("log host %s is not allowed: allowed_hosts is empty, so no log is downloaded", u.Host)
	}
	if !sdk.HostAllowed(f.hosts, u) {
		return nil, failed("log host %s is not in allowed_hosts", u.Host)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, failed("log URL %s: %v", shown, err)
	}
	req.Header.Set("User-Agent", f.agent)
	req.Header.Set("Accept-Encoding", "gzip")
	for _, a := range f.auth {
		if sdk.HostAllowed([]string{a.host}, u) {
			req.Header.Set("Authorization", a.value)
			break
		}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		var o *Outcome
		if errors.As(err, &o) {
			return nil, o
		}
		return nil, fmt.Errorf("fetch %s: %w", shown, err)
	}
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound:
		// Treeherder gives up on these at once: the log is gone or private.
		resp.Body.Close()
		return nil, failed("HTTP %s fetching %s", resp.Status, shown)
	case resp.StatusCode != http.StatusOK:
		resp.Body.Close()
		return nil, fmt.Errorf("fetch %s: HTTP %s", shown, resp.Status)
	}
	if limit > 0 && resp.ContentLength > limit {
		resp.Body.Close()
		return nil, skippedSize("log is %d bytes, more than the %d-byte download limit", resp.ContentLength, limit)
	}
	enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	if enc != "" && enc != "identity" && enc != "gzip" && enc != "x-gzip" {
		resp.Body.Close()
		return nil, failed("log served with unsupported Content-Encoding %q", enc)
	}
	return &Download{
		URL:  shown,
		Body: &LimitedBody{r: resp.Body, limit: limit},
		Gzip: enc == "gzip" || enc == "x-gzip",
		resp: resp,
	}, nil
}

// Text returns the log's plain text: gzip undone by content (and once more
// when the server also declared Content-Encoding: gzip, since Taskcluster
// stores some logs gzipped and serves them so).
func (d *Download) Text() (io.Reader, error) {
	r, err := parse.DetectAndDecompress(d.Body)
	if err != nil {
		return nil, err
	}
	if d.Gzip {
		return parse.DetectAndDecompress(r)
	}
	return r, nil
}

// LimitedBody counts the bytes of a response body and stops at a limit with
// a skipped-size *Outcome. It remembers whether the body itself failed
// (a dropped connection, a timeout), which is transient, as opposed to
// content that does not decode, which is not.
type LimitedBody struct {
	r     io.Reader
	limit int64
	n     int64
	err   error // the body's own read error, not io.EOF
	over  bool  // the body went past limit
}

func (b *LimitedBody) Read(p []byte) (int, error) {
	if b.limit > 0 && b.n >= b.limit {
		// Peek one byte: a body of exactly limit bytes is fine.
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			b.over = true
			return 0, skippedSize("log is more than the %d-byte download limit", b.limit)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			b.err = err
		}
		return 0, err
	}
	if b.limit > 0 && int64(len(p)) > b.limit-b.n {
		p = p[:b.limit-b.n]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		b.err = err
	}
	return n, err
}

// N is the number of bytes read so far.
func (b *LimitedBody) N() int64 { return b.n }

// Err is the body's own read error, if it had one.
func (b *LimitedBody) Err() error { return b.err }

// redact drops the query and fragment of a URL for messages: signed
// artifact URLs carry credentials there.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery, c.Fragment, c.User = "", "", nil
	return c.String()
}
