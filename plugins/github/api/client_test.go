package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herder-ci/herder/plugins/github/ghtest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClient(t *testing.T, base string, opts Options) (*Client, *clock) {
	t.Helper()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	opts.BaseURL, opts.Now = base, clk.now
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	c.sleep = func(context.Context, time.Duration) error { return nil }
	return c, clk
}

func TestConditionalRequests(t *testing.T) {
	f := ghtest.New(t)
	f.JSON("/repos/o/r/pulls", []byte(`[{"number": 1}]`))
	c, _ := newClient(t, f.URL(), Options{Token: "s3cret"})
	ctx := context.Background()
	r1, err := c.Get(ctx, "repos/o/r/pulls?state=open", "")
	if err != nil || r1.NotModified || r1.ETag == "" || string(r1.Body) != `[{"number": 1}]` {
		t.Fatalf("first: %+v %v", r1, err)
	}
	r2, err := c.Get(ctx, "repos/o/r/pulls?state=open", r1.ETag)
	if err != nil || !r2.NotModified || len(r2.Body) != 0 || r2.ETag != r1.ETag {
		t.Fatalf("conditional: %+v %v", r2, err)
	}
	if f.NotModified("/repos/o/r/pulls") != 1 || c.Stats().NotModified != 1 {
		t.Errorf("304s: fake %d, client %d", f.NotModified("/repos/o/r/pulls"), c.Stats().NotModified)
	}
	// A changed resource answers 200 with a new ETag.
	f.JSON("/repos/o/r/pulls", []byte(`[{"number": 1}, {"number": 2}]`))
	r3, err := c.Get(ctx, "repos/o/r/pulls?state=open", r1.ETag)
	if err != nil || r3.NotModified || r3.ETag == r1.ETag {
		t.Fatalf("changed: %+v %v", r3, err)
	}
	for _, a := range f.Authorizations("/repos/o/r/pulls") {
		if a != "Bearer s3cret" {
			t.Errorf("authorization %q", a)
		}
	}
}

func TestPagination(t *testing.T) {
	f := ghtest.New(t)
	f.Pages("/repos/o/r/pulls/7/commits",
		[]byte(`[{"sha": "a", "commit": {"message": "one"}}]`),
		[]byte(`[{"sha": "b", "commit": {"message": "two"}}]`),
		[]byte(`[{"sha": "c", "commit": {"message": "three"}}]`))
	c, _ := newClient(t, f.URL(), Options{})
	commits, err := c.PullRequestCommits(context.Background(), "o", "r", 7)
	if err != nil || len(commits) != 3 || commits[2].SHA != "c" || commits[1].Commit.Message != "two" {
		t.Fatalf("%+v %v", commits, err)
	}
	if q := f.Queries("/repos/o/r/pulls/7/commits"); len(q) != 3 || !strings.Contains(q[2], "page=3") || !strings.Contains(q[2], "per_page=100") {
		t.Errorf("queries %v", q)
	}
	// More pages than MaxPages: an error for commit lists, never a silent cut.
	c2, _ := newClient(t, f.URL(), Options{MaxPages: 2})
	if _, err := c2.PullRequestCommits(context.Background(), "o", "r", 7); err == nil || !strings.Contains(err.Error(), "more than 2 pages") {
		t.Errorf("over max pages: %v", err)
	}
	// Pages reports truncation for listings.
	_, truncated, err := c2.Pages(context.Background(), "repos/o/r/pulls/7/commits", "", func(*Response) (bool, error) { return true, nil })
	if err != nil || !truncated {
		t.Errorf("truncated %v %v", truncated, err)
	}
}

func TestNextLink(t *testing.T) {
	h := `<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel="next", <https://api.github.com/x?page=9>; rel="last"`
	if got := NextLink(h); got != "https://api.github.com/x?page=3" {
		t.Errorf("next %q", got)
	}
	if NextLink(`<https://a/x>; rel="last"`) != "" || NextLink("") != "" || NextLink("garbage") != "" {
		t.Error("no next expected")
	}
}

func TestPrimaryRateLimit(t *testing.T) {
	f := ghtest.New(t)
	c, clk := newClient(t, f.URL(), Options{})
	reset := clk.now().Add(20 * time.Minute).Unix()
	f.JSON("/repos/o/r", []byte(`{"default_branch": "main"}`))
	f.Script("/repos/o/r", ghtest.Answer{Status: 403, Body: `{"message": "API rate limit exceeded for 1.2.3.4."}`,
		Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset, 10)}})
	_, err := c.DefaultBranch(context.Background(), "o", "r")
	rl, ok := AsRateLimit(err)
	if !ok || rl.Secondary || rl.Until.Unix() != reset || rl.Local {
		t.Fatalf("want a primary rate limit until %d, got %v", reset, err)
	}
	// Until the reset no request is made at all.
	hits := f.TotalHits()
	_, err = c.DefaultBranch(context.Background(), "o", "r")
	if rl, ok := AsRateLimit(err); !ok || !rl.Local || rl.Until.Unix() != reset {
		t.Fatalf("while limited: %v", err)
	}
	if f.TotalHits() != hits {
		t.Errorf("a request was made while rate-limited")
	}
	clk.add(21 * time.Minute)
	if b, err := c.DefaultBranch(context.Background(), "o", "r"); err != nil || b != "main" {
		t.Errorf("after the reset: %q %v", b, err)
	}
}

func TestRemainingZeroBlocksAhead(t *testing.T) {
	// A 200 that spends the last call blocks the next one without a request.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", "1700000600")
		fmt.Fprint(w, `{"default_branch": "main"}`)
	}))
	defer srv.Close()
	c, _ := newClient(t, srv.URL, Options{})
	if _, err := c.DefaultBranch(context.Background(), "o", "r"); err != nil {
		t.Fatal(err)
	}
	_, err := c.DefaultBranch(context.Background(), "o", "r")
	if rl, ok := AsRateLimit(err); !ok || !rl.Local || rl.Until.Unix() != 1700000600 {
		t.Errorf("want a local wait until the reset, got %v", err)
	}
	if st := c.Stats(); st.Requests != 1 || st.Remaining != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSecondaryRateLimits(t *testing.T) {
	f := ghtest.New(t)
	f.JSON("/repos/o/r", []byte(`{"default_branch": "main"}`))
	c, clk := newClient(t, f.URL(), Options{})
	ctx := context.Background()

	// Retry-After names the wait.
	f.Script("/repos/o/r", ghtest.Answer{Status: 403, Header: map[string]string{"Retry-After": "30"},
		Body: `{"message": "You have exceeded a secondary rate limit."}`})
	_, err := c.DefaultBranch(ctx, "o", "r")
	if rl, ok := AsRateLimit(err); !ok || !rl.Secondary || !rl.Until.Equal(clk.now().Add(30*time.Second)) {
		t.Fatalf("Retry-After: %v", err)
	}
	clk.add(31 * time.Second)

	// Without one: a minute, then doubling while they continue.
	f.Script("/repos/o/r", ghtest.Answer{Status: 429, Body: `{}`})
	_, err = c.DefaultBranch(ctx, "o", "r")
	if rl, ok := AsRateLimit(err); !ok || !rl.Secondary || rl.Until.Sub(clk.now()) != time.Minute {
		t.Fatalf("429: %v", err)
	}
	clk.add(61 * time.Second)
	f.Script("/repos/o/r", ghtest.Answer{Status: 403, Body: `{"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`})
	_, err = c.DefaultBranch(ctx, "o", "r")
	if rl, ok := AsRateLimit(err); !ok || rl.Until.Sub(clk.now()) != 2*time.Minute {
		t.Fatalf("second secondary limit: %v", err)
	}
	clk.add(121 * time.Second)
	if _, err := c.DefaultBranch(ctx, "o", "r"); err != nil {
		t.Fatal(err)
	}

	// A 403 that is no rate limit is a permission error.
	f.Script("/repos/o/r", ghtest.Answer{Status: 403, Body: `{"message": "Resource not accessible by integration"}`})
	_, err = c.DefaultBranch(ctx, "o", "r")
	var se *StatusError
	if _, ok := AsRateLimit(err); ok || !errors.As(err, &se) || se.Status != 403 || !strings.Contains(se.Message, "not accessible") {
		t.Errorf("permission 403: %v", err)
	}
}

func TestServerErrorsRetried(t *testing.T) {
	f := ghtest.New(t)
	f.JSON("/repos/o/r", []byte(`{"default_branch": "trunk"}`))
	f.Script("/repos/o/r", ghtest.Answer{Status: 502, Body: `bad gateway`}, ghtest.Answer{Status: 500, Body: `{}`})
	c, _ := newClient(t, f.URL(), Options{Attempts: 3})
	if b, err := c.DefaultBranch(context.Background(), "o", "r"); err != nil || b != "trunk" || f.Hits("/repos/o/r") != 3 {
		t.Errorf("%q %v after %d hits", b, err, f.Hits("/repos/o/r"))
	}
	f.Script("/repos/o/r", ghtest.Answer{Status: 503}, ghtest.Answer{Status: 503}, ghtest.Answer{Status: 503})
	_, err := c.DefaultBranch(context.Background(), "o", "r")
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 503 {
		t.Errorf("after every attempt: %v", err)
	}
	if IsNotFound(err) {
		t.Error("503 is not a 404")
	}
	if _, err := c.Get(context.Background(), "repos/o/missing", ""); !IsNotFound(err) {
		t.Errorf("404: %v", err)
	}
}

func TestOnlyTheAPIHost(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request reached another host: %s (authorization %q)", r.URL, r.Header.Get("Authorization"))
	}))
	defer other.Close()
	f := ghtest.New(t)
	f.Redirect("/repos/o/r", other.URL+"/steal")
	c, _ := newClient(t, f.URL(), Options{Token: "s3cret"})
	if _, err := c.Get(context.Background(), other.URL+"/x", ""); !errors.Is(err, ErrHostNotAllowed) {
		t.Errorf("absolute URL elsewhere: %v", err)
	}
	if _, err := c.Get(context.Background(), "repos/o/r", ""); !errors.Is(err, ErrHostNotAllowed) {
		t.Errorf("redirect elsewhere: %v", err)
	}
	if f.Hits("/repos/o/r") != 1 {
		t.Errorf("a refused redirect is not retried: %d hits", f.Hits("/repos/o/r"))
	}
}

func TestResponseCap(t *testing.T) {
	f := ghtest.New(t)
	f.JSON("/big", []byte(`["`+strings.Repeat("x", 4096)+`"]`))
	c, _ := newClient(t, f.URL(), Options{MaxResponseBytes: 1024})
	if _, err := c.Get(context.Background(), "big", ""); err == nil || !strings.Contains(err.Error(), "cap") {
		t.Errorf("over the cap: %v", err)
	}
}

func TestBadBaseURL(t *testing.T) {
	for _, u := range []string{"ftp://x", "not a url", "https://", "https://h/api?x=1"} {
		if _, err := New(Options{BaseURL: u}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
