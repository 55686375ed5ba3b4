package server

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bunrouter"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/sdk"
)

// The raw-log proxy serves a job's log from herder's own origin, so the log
// viewer needs no CORS on the log host: GET
// /api/project/{repo}/job-log-url/{id}/raw/. Only URLs of stored job logs
// are fetched, only from the allowed hosts (redirects included), bounded in
// bytes, time and concurrency.

// RawLogOptions configures the raw-log proxy.
type RawLogOptions struct {
	// AllowedHosts are host patterns as the log parser's allowed_hosts:
	// "host", "host:port", "*.domain" or "*". Empty turns the proxy off
	// (501, and the viewer fetches logs directly).
	AllowedHosts []string
	// MaxBytes bounds the bytes read from the log host (compressed);
	// default 256 MiB.
	MaxBytes int64
	// MaxOutputBytes bounds a decompressed log; default 1 GiB, where the
	// viewer stops anyway.
	MaxOutputBytes int64
	// Timeout bounds one whole download; default 5 minutes.
	Timeout time.Duration
	// MaxConcurrent bounds downloads in flight; default 16.
	MaxConcurrent int
	// Transport reaches log hosts; nil uses a default one.
	Transport http.RoundTripper
}

type rawLogProxy struct {
	opts   RawLogOptions
	client *http.Client
	slots  chan struct{}
}

// errHostNotAllowed marks a redirect to a host outside allowed_hosts.
var errHostNotAllowed = errors.New("host not allowed")

func newRawLogProxy(o RawLogOptions) *rawLogProxy {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 256 << 20
	}
	if o.MaxOutputBytes <= 0 {
		o.MaxOutputBytes = 1 << 30
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 16
	}
	rt := o.Transport
	if rt == nil {
		rt = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   15 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   4,
			// Compressed bytes are what the limit counts and what a client
			// that takes gzip gets.
			DisableCompression: true,
			ForceAttemptHTTP2:  true,
		}
	}
	p := &rawLogProxy{opts: o, slots: make(chan struct{}, o.MaxConcurrent)}
	p.client = &http.Client{
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("more than 5 redirects")
			}
			if !sdk.HostAllowed(p.opts.AllowedHosts, req.URL) {
				return fmt.Errorf("%w: redirected to %s", errHostNotAllowed, req.URL.Host)
			}
			return nil
		},
	}
	return p
}

// redactURL drops credentials, query and fragment (signed URLs) from a URL
// shown in messages.
func redactURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.Fragment, c.User = "", "", nil
	return c.String()
}

// logLookup is what the proxy needs of storage.
type logLookup interface {
	JobLogByID(ctx context.Context, repositoryID, id int64) (model.JobLog, error)
}

// countingReader counts bytes and fails past a limit; it remembers its
// error so a failed copy can tell the log host's failure from the client's.
type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
	err   error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.limit {
		err = fmt.Errorf("the log is more than %d bytes", c.limit)
	}
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

func (s *Server) rawLog(w http.ResponseWriter, req bunrouter.Request) error {
	p := s.writes.rawlog
	logs, ok := s.store.(logLookup)
	if !ok || len(p.opts.AllowedHosts) == 0 {
		return writeError(w, http.StatusNotImplemented, "The raw-log proxy is off: no allowed hosts are configured. Fetch the log from its URL.")
	}
	return s.writeHandler(func(w http.ResponseWriter, req bunrouter.Request) error {
		return p.serve(w, req, s, logs)
	})(w, req)
}

func (p *rawLogProxy) serve(w http.ResponseWriter, req bunrouter.Request, s *Server, logs logLookup) error {
	repo, err := s.writeProject(req)
	if err != nil {
		return err
	}
	id, err := pathID(req, "id", "Job log")
	if err != nil {
		return err
	}
	l, err := logs.JobLogByID(req.Context(), repo.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFoundf("No job log with id: %d", id)
	}
	if err != nil {
		return err
	}
	u, err := url.Parse(l.URL)
	if err != nil || !u.IsAbs() {
		return &statusError{http.StatusBadGateway, "The log's URL is not a valid absolute URL."}
	}
	if !sdk.HostAllowed(p.opts.AllowedHosts, u) {
		return &statusError{http.StatusForbidden, fmt.Sprintf("The log's host %s is not in allowed_hosts.", u.Host)}
	}
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	default:
		w.Header().Set("Retry-After", "5")
		return &statusError{http.StatusServiceUnavailable, "Too many logs are being fetched; try again shortly."}
	}

	ctx, cancel := context.WithTimeout(req.Context(), p.opts.Timeout)
	defer cancel()
	up, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return &statusError{http.StatusBadGateway, "The log's URL cannot be fetched: " + redactURL(u)}
	}
	up.Header.Set("User-Agent", "herder-rawlog")
	up.Header.Set("Accept-Encoding", "gzip")
	resp, err := p.client.Do(up)
	switch {
	case errors.Is(err, errHostNotAllowed):
		return &statusError{http.StatusForbidden, "The log host redirected outside allowed_hosts."}
	case errors.Is(err, context.DeadlineExceeded):
		return &statusError{http.StatusGatewayTimeout, "The log host did not answer in time: " + redactURL(u)}
	case errors.Is(err, context.Canceled):
		return err
	case err != nil:
		return &statusError{http.StatusBadGateway, "Could not fetch the log from " + redactURL(u)}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return notFoundf("The log host answered %s for %s.", resp.Status, redactURL(u))
	case resp.StatusCode != http.StatusOK:
		return &statusError{http.StatusBadGateway, fmt.Sprintf("The log host answered %s for %s.", resp.Status, redactURL(u))}
	case resp.ContentLength > p.opts.MaxBytes:
		return &statusError{http.StatusBadGateway, fmt.Sprintf("The log is %d bytes, more than the proxy's %d-byte limit; fetch it from its URL.",
			resp.ContentLength, p.opts.MaxBytes)}
	}
	gz := false
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		gz = true
	default:
		return &statusError{http.StatusBadGateway, fmt.Sprintf("The log is served with an unsupported encoding %q.", enc)}
	}
	counted := &countingReader{r: resp.Body, limit: p.opts.MaxBytes}
	br := bufio.NewReaderSize(counted, 32<<10)
	if !gz {
		// A .log.gz served without Content-Encoding.
		magic, _ := br.Peek(2)
		gz = len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
	}

	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	// Logs of running jobs still grow.
	h.Set("Cache-Control", "private, max-age=60")
	h.Set("Vary", "Accept-Encoding")
	var src io.Reader = br
	sameBytes := true
	switch {
	case gz && acceptsGzip(req.Request):
		h.Set("Content-Encoding", "gzip")
	case gz:
		zr, err := gzip.NewReader(br)
		if err != nil {
			if counted.err != nil {
				return &statusError{http.StatusBadGateway, "Reading the log failed: " + counted.err.Error()}
			}
			return &statusError{http.StatusBadGateway, "The log is not valid gzip."}
		}
		defer zr.Close()
		src = &countingReader{r: zr, limit: p.opts.MaxOutputBytes}
		sameBytes = false
	}
	if sameBytes && resp.ContentLength >= 0 {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.WriteHeader(http.StatusOK)
	_, err = io.Copy(w, src)
	if err == nil {
		return nil
	}
	if cr, ok := src.(*countingReader); (ok && cr.err != nil) || counted.err != nil {
		// The log host failed or the log outgrew the limit after the
		// headers went out: cut the connection, so the client sees an
		// error instead of a log that looks complete.
		s.log.Warn("raw log cut short", "url", redactURL(u), "error", err)
		panic(http.ErrAbortHandler)
	}
	return nil // the client went away
}
