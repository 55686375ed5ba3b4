package processor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/herder-ci/herder/sdk"
)

// A host that serves logs only to signed-in callers (GitHub's Actions logs
// API) gets the configured token; the blob storage it redirects to does not.
func TestCredentialsGoOnlyToTheirHost(t *testing.T) {
	blob := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			t.Errorf("blob storage received Authorization %q", a)
		}
		w.Write([]byte("2026-11-27T00:00:00.0000000Z TEST-UNEXPECTED-FAIL | a.html | boom\n"))
	}))
	defer blob.Close()
	// Another host name for the same loopback server, so that the redirect
	// leaves the API's host as GitHub's does.
	bu, _ := url.Parse(blob.URL)
	blobURL := "http://localhost:" + bu.Port() + "/signed"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			http.Error(w, "Must have admin rights to Repository.", http.StatusForbidden)
			return
		}
		http.Redirect(w, r, blobURL, http.StatusFound)
	}))
	defer api.Close()
	au, _ := url.Parse(api.URL)
	task := sdk.LogParseTask{Name: sdk.LogLiveBacking, URL: api.URL + "/repos/o/r/actions/jobs/1/logs", JobResult: "testfailed"}

	// Without the token the API refuses, and that is final.
	p, err := NewWithConfig(Config{AllowedHosts: []string{"127.0.0.1", "localhost"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Parse(context.Background(), task)
	if err != nil || res.Status != sdk.LogStatusFailed || !strings.Contains(res.Reason, "403") {
		t.Fatalf("without credentials: %+v, %v", res, err)
	}

	t.Setenv("HERDER_TEST_LOG_TOKEN", "s3cret")
	p, err = NewWithConfig(Config{AllowedHosts: []string{"127.0.0.1", "localhost"},
		Credentials: []Credential{{Host: "127.0.0.1:" + au.Port(), TokenEnv: "HERDER_TEST_LOG_TOKEN"}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err = p.Parse(context.Background(), task)
	if err != nil || res.Status != sdk.LogStatusParsed || len(res.Errors) != 1 {
		t.Fatalf("with credentials: %+v, %v", res, err)
	}
}

func TestCredentialsConfig(t *testing.T) {
	if _, err := ParseConfig([]byte(`{"credentials": [{"host": "*", "token_env": "X"}]}`)); err == nil {
		t.Error("a credential for every host was accepted")
	}
	if _, err := ParseConfig([]byte(`{"credentials": [{"host": "api.github.com"}]}`)); err == nil {
		t.Error("a credential without token_env was accepted")
	}
	c, err := ParseConfig([]byte(`{"credentials": [{"host": "api.github.com", "token_env": "HERDER_GITHUB_TOKEN"}]}`))
	if err != nil || c.Credentials[0].Scheme != "Bearer" {
		t.Fatalf("config = %+v, %v", c.Credentials, err)
	}
	p := New(nil)
	t.Setenv("HERDER_TEST_UNSET_TOKEN", "")
	err = p.Configure(context.Background(), []byte(`{"allowed_hosts": ["api.github.com"], "credentials": [{"host": "api.github.com", "token_env": "HERDER_TEST_UNSET_TOKEN"}]}`))
	if err == nil || !strings.Contains(err.Error(), "HERDER_TEST_UNSET_TOKEN is not set") {
		t.Fatalf("Configure with an unset token: %v", err)
	}
}
