package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/herder-ci/herder/sdk/client"
)

func TestErrorsCarryStatusAndDetail(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/project/nope/push/":
			w.WriteHeader(404)
			w.Write([]byte(`{"detail":"No project with name nope"}`))
		case "/api/jobs/":
			w.WriteHeader(400)
			w.Write([]byte(`"a bare string"`))
		default:
			w.WriteHeader(500)
			w.Write([]byte("boom"))
		}
	}))
	defer srv.Close()
	c := client.New(srv.URL + "/")
	_, err := c.Pushes(context.Background(), "nope", nil)
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Detail != "No project with name nope" ||
		!errors.Is(err, client.ErrNotFound) || errors.Is(err, client.ErrBadRequest) {
		t.Fatalf("404: %v", err)
	}
	_, err = c.Jobs(context.Background(), nil, 1, 0)
	if !errors.Is(err, client.ErrBadRequest) || !strings.Contains(err.Error(), "a bare string") {
		t.Fatalf("400: %v", err)
	}
	_, err = c.MachinePlatforms(context.Background())
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || apiErr.Detail != "boom" {
		t.Fatalf("500: %v", err)
	}
}

func TestJobsDecodeByPropertyNames(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/json" || r.URL.Query().Get("push_id") != "7" {
			t.Errorf("request %s %v", r.URL, r.Header)
		}
		// Columns in another order than Treeherder's, and one it does not know.
		w.Write([]byte(`{"count":1,"next":null,"previous":null,
			"results":[[5,"x",null,"bc1",12,"opt"]],
			"job_property_names":["id","extra","task_id","job_type_symbol","duration","platform_option"]}`))
	}))
	defer srv.Close()
	page, err := client.New(srv.URL).Jobs(context.Background(), &client.JobFilter{PushID: 7}, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	j := page.Results[0]
	if j.ID != 5 || j.TaskID != nil || j.JobTypeSymbol != "bc1" || j.Duration != 12 || j.PlatformOption != "opt" {
		t.Fatalf("job = %+v", j)
	}
}

func TestRowsMustMatchPropertyNames(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"count":1,"results":[[1,2]],"job_property_names":["id"]}`))
	}))
	defer srv.Close()
	if _, err := client.New(srv.URL).Jobs(context.Background(), nil, 1, 0); err == nil {
		t.Fatal("a row longer than job_property_names must be refused")
	}
}

func TestResponseSizeIsBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[` + strings.Repeat(`{"id":1,"platform":"linux64"},`, 100) + `{"id":1,"platform":"x"}]`))
	}))
	defer srv.Close()
	_, err := client.New(srv.URL, client.WithMaxResponseBytes(100)).MachinePlatforms(context.Background())
	if err == nil || !strings.Contains(err.Error(), "larger than 100 bytes") {
		t.Fatalf("oversized answer: %v", err)
	}
	if _, err := client.New("::not a url").MachinePlatforms(context.Background()); err == nil {
		t.Fatal("a malformed base URL must fail")
	}
}

func TestOptionsReachTheRequest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("User-Agent") != "sheriff-script/2" {
			w.WriteHeader(401)
			w.Write([]byte(`{"detail":"Authentication credentials were not provided."}`))
			return
		}
		w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	c := client.New(srv.URL, client.WithAPIToken("tok"), client.WithUserAgent("sheriff-script/2"), client.WithHTTPClient(srv.Client()))
	if _, err := c.Repositories(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := client.New(srv.URL).Repositories(context.Background()); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("without a token: %v", err)
	}
}
