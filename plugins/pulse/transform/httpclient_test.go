package transform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHTTPClientOptions(t *testing.T) {
	if _, err := NewHTTPClient(HTTPOptions{}); err == nil {
		t.Error("no allowed hosts accepted")
	}
	if _, err := NewHTTPClient(HTTPOptions{AllowedHosts: []string{"a b"}}); err == nil {
		t.Error("bad host accepted")
	}
	if _, err := NewHTTPClient(HTTPOptions{AllowedHosts: []string{"x"}, GitHubAPI: "::"}); err == nil {
		t.Error("bad GitHub url accepted")
	}
}

func TestHTTPClientAllowedHosts(t *testing.T) {
	f := newFakeUpstream(t)
	f.serveJSON("taskcluster.net/api/queue/v1/task/T", []byte(`{}`))
	f.serveJSON("sub.tc.example.com/api/queue/v1/task/T", []byte(`{}`))
	f.handle("taskcluster.net/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://evil.example.org/x", http.StatusFound)
	})
	c := f.client(t, HTTPOptions{AllowedHosts: []string{"taskcluster.net", "*.tc.example.com"}})
	ctx := context.Background()
	if _, err := c.Task(ctx, "https://taskcluster.net", "T"); err != nil {
		t.Errorf("allowed host: %v", err)
	}
	if _, err := c.Task(ctx, "https://sub.tc.example.com", "T"); err != nil {
		t.Errorf("wildcard host: %v", err)
	}
	for _, u := range []string{"https://elsewhere.net", "https://tc.example.com.evil.org", "ftp://taskcluster.net"} {
		_, err := c.Task(ctx, u, "T")
		var ue *UpstreamError
		if !errors.As(err, &ue) || ue.Retryable {
			t.Errorf("%s: %v", u, err)
		}
	}
	if f.hitCount("elsewhere.net/api/queue/v1/task/T") != 0 {
		t.Error("a request reached a host that is not allowed")
	}
	_, err := c.HgPushes(ctx, "https://taskcluster.net/redirect")
	if !errors.Is(err, errHostNotAllowed) || IsRetryable(err) {
		t.Errorf("redirect to another host: %v", err)
	}
	if f.hitCount("evil.example.org/x") != 0 {
		t.Error("redirect followed")
	}
}

func TestHTTPClientRetries(t *testing.T) {
	f := newFakeUpstream(t)
	var n atomic.Int32
	f.handle("taskcluster.net/flaky", func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	f.handle("taskcluster.net/down", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	})
	f.handle("taskcluster.net/missing", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "nope", http.StatusNotFound)
	})
	var limited atomic.Int32
	f.handle("taskcluster.net/limited", func(w http.ResponseWriter, _ *http.Request) {
		if limited.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte(`[]`))
	})
	c := f.client(t, HTTPOptions{MaxAttempts: 4})
	var slept []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	ctx := context.Background()

	if _, err := c.HgPushes(ctx, "https://taskcluster.net/flaky"); err != nil || n.Load() != 3 {
		t.Errorf("flaky: %v after %d attempts", err, n.Load())
	}
	if len(slept) != 2 || slept[1] < slept[0] {
		t.Errorf("backoff %v", slept)
	}

	slept = nil
	_, err := c.HgPushes(ctx, "https://taskcluster.net/down")
	var ue *UpstreamError
	if !errors.As(err, &ue) || !ue.Retryable || ue.Attempts != 4 || ue.StatusCode != 502 || f.hitCount("taskcluster.net/down") != 4 {
		t.Errorf("down: %v (%d hits)", err, f.hitCount("taskcluster.net/down"))
	}
	if len(slept) != 3 {
		t.Errorf("slept %d times", len(slept))
	}
	for _, d := range slept {
		if d > c.opts.MaxBackoff {
			t.Errorf("backoff %v over the cap", d)
		}
	}

	_, err = c.HgPushes(ctx, "https://taskcluster.net/missing")
	if !errors.As(err, &ue) || ue.Retryable || ue.Attempts != 1 || f.hitCount("taskcluster.net/missing") != 1 {
		t.Errorf("4xx must fail fast: %v", err)
	}

	slept = nil
	if _, err := c.HgPushes(ctx, "https://taskcluster.net/limited"); err != nil {
		t.Errorf("429 then ok: %v", err)
	}
	if len(slept) != 1 || slept[0] < time.Second && slept[0] != c.opts.MaxBackoff {
		t.Errorf("Retry-After not honoured: %v", slept)
	}
}

func TestHTTPClientBackoffBounds(t *testing.T) {
	c, err := NewHTTPClient(HTTPOptions{AllowedHosts: []string{"x"}, BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n < 70; n++ {
		d := c.backoff(n, 0)
		lo := min(time.Duration(float64(100*time.Millisecond<<(n-1))*0.75), time.Second*3/4)
		if n > 30 {
			lo = time.Second * 3 / 4
		}
		if d > time.Second || d < lo {
			t.Errorf("backoff(%d) = %v", n, d)
		}
	}
	if d := c.backoff(1, time.Hour); d != time.Second {
		t.Errorf("Retry-After must be capped: %v", d)
	}
}

func TestHTTPClientLimits(t *testing.T) {
	f := newFakeUpstream(t)
	f.handle("taskcluster.net/big", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`"` + strings.Repeat("x", 2000) + `"`))
	})
	f.handle("taskcluster.net/chunked", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.(http.Flusher).Flush() // no Content-Length: the cap applies while reading
		for i := 0; i < 100; i++ {
			_, _ = w.Write([]byte(strings.Repeat(" ", 100)))
		}
		_, _ = w.Write([]byte("{}"))
	})
	f.handle("taskcluster.net/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	f.handle("taskcluster.net/html", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`<html>`))
	})
	c := f.client(t, HTTPOptions{MaxResponseBytes: 1000, Timeout: 50 * time.Millisecond, MaxAttempts: 2})
	ctx := context.Background()

	for _, path := range []string{"big", "chunked"} {
		_, err := c.HgPushes(ctx, "https://taskcluster.net/"+path)
		var ue *UpstreamError
		if !errors.As(err, &ue) || ue.Retryable || !strings.Contains(err.Error(), "cap") {
			t.Errorf("%s: %v", path, err)
		}
	}
	// Each attempt is cut by its own timeout (the handler would take 2s),
	// and timeouts are retried.
	_, err := c.HgPushes(ctx, "https://taskcluster.net/slow")
	if !IsRetryable(err) || !errors.Is(err, context.DeadlineExceeded) || f.hitCount("taskcluster.net/slow") != 2 {
		t.Errorf("slow: %v (%d hits)", err, f.hitCount("taskcluster.net/slow"))
	}
	if _, err := c.HgPushes(ctx, "https://taskcluster.net/html"); !errors.Is(err, ErrNotJSON) || IsRetryable(err) {
		t.Errorf("html: %v", err)
	}

	// A cancelled context stops the retries.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.HgPushes(cctx, "https://taskcluster.net/slow"); err == nil || f.hitCount("taskcluster.net/slow") > 3 {
		t.Errorf("cancelled: %v", err)
	}
}

func TestHTTPClientGitHubPaginationAndToken(t *testing.T) {
	f := newFakeUpstream(t)
	var sawToken, sawTokenElsewhere atomic.Bool
	page := func(next string, shas ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "Bearer s3cret" {
				sawToken.Store(true)
			}
			if next != "" {
				w.Header().Set("Link", fmt.Sprintf(`<https://api.github.com%s>; rel="next", <https://api.github.com/x?page=9>; rel="last"`, next))
			}
			var parts []string
			for _, s := range shas {
				parts = append(parts, fmt.Sprintf(`{"sha":%q,"commit":{"message":"m","author":{"name":"a","email":"e","date":"2020-01-01T00:00:00Z"},"committer":{"name":"c","email":"e","date":"2020-01-01T00:00:00Z"}}}`, s))
			}
			_, _ = w.Write([]byte("[" + strings.Join(parts, ",") + "]"))
		}
	}
	f.handle("api.github.com/repos/o/r/pulls/7/commits", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			page("", "c")(w, r)
			return
		}
		page("/repos/o/r/pulls/7/commits?page=2", "a", "b")(w, r)
	})
	f.handle("api.github.com/repos/o/r/compare/b...h", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"status":"ahead","commits":[{"sha":"h"}]}`))
	})
	f.handle("hg.mozilla.org/x", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			sawTokenElsewhere.Store(true)
		}
		_, _ = w.Write([]byte(`{}`))
	})
	f.handle("api.github.com/repos/o/r/pulls/8/commits", func(w http.ResponseWriter, r *http.Request) {
		page("/repos/o/r/pulls/8/commits", "loop")(w, r) // never ends
	})
	c := f.client(t, HTTPOptions{GitHubToken: "s3cret", MaxPages: 5})
	ctx := context.Background()
	commits, err := c.PullRequestCommits(ctx, "o", "r", 7)
	if err != nil || len(commits) != 3 || commits[2].SHA != "c" {
		t.Fatalf("pages: %v %+v", err, commits)
	}
	if !sawToken.Load() {
		t.Error("token not sent to GitHub")
	}
	if _, err := c.HgPushes(ctx, "https://hg.mozilla.org/x"); err != nil || sawTokenElsewhere.Load() {
		t.Errorf("token leaked to another host (%v)", err)
	}
	if commits, err := c.Compare(ctx, "o", "r", "b", "h"); err != nil || len(commits) != 1 || commits[0].SHA != "h" {
		t.Errorf("compare: %v %+v", err, commits)
	}
	if _, err := c.PullRequestCommits(ctx, "o", "r", 8); err == nil || f.hitCount("api.github.com/repos/o/r/pulls/8/commits") != 5 {
		t.Errorf("endless pagination: %v after %d pages", err, f.hitCount("api.github.com/repos/o/r/pulls/8/commits"))
	}
	// Errors never carry the token.
	if _, err := c.PullRequestCommits(ctx, "o", "r", 99); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error: %v", err)
	}
}

func TestNextLink(t *testing.T) {
	cases := map[string]string{
		``: ``,
		`<https://a/x?page=2>; rel="next", <https://a/x?page=5>; rel="last"`: `https://a/x?page=2`,
		`<https://a/x?page=1>; rel="prev", <https://a/x?page=3>; rel=next`:   `https://a/x?page=3`,
		`<https://a/x?page=5>; rel="last"`:                                   ``,
		`garbage; rel="next"`:                                                ``,
	}
	for in, want := range cases {
		if got := nextLink(in); got != want {
			t.Errorf("nextLink(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHTTPArtifactsPage(t *testing.T) {
	f := newFakeUpstream(t)
	f.handle("taskcluster.net/api/queue/v1/task/T/runs/1/artifacts", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("continuationToken") == "tok/1" {
			_, _ = w.Write([]byte(`{"artifacts":[{"name":"b"}]}`))
			return
		}
		_, _ = w.Write([]byte(`{"artifacts":[{"name":"a"}],"continuationToken":"tok/1"}`))
	})
	c := f.client(t, HTTPOptions{})
	p, err := c.Artifacts(context.Background(), "https://taskcluster.net/", "T", 1, "")
	if err != nil || len(p.Artifacts) != 1 || p.ContinuationToken != "tok/1" {
		t.Fatalf("%+v %v", p, err)
	}
	p, err = c.Artifacts(context.Background(), "https://taskcluster.net", "T", 1, p.ContinuationToken)
	if err != nil || p.Artifacts[0].Name != "b" || p.ContinuationToken != "" {
		t.Fatalf("%+v %v", p, err)
	}
}
