package source

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/herder-ci/herder/plugins/logparser/processor"
	"github.com/herder-ci/herder/sdk"
)

// blobStore stands in for the storage GitHub's log endpoint redirects to
// (a short-lived signed URL on another host).
func blobStore(t *testing.T, log string) (host string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/logs/29679449256.txt" || r.URL.Query().Get("sig") == "" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the API token followed the redirect to the blob store")
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, log)
	}))
	t.Cleanup(srv.Close)
	// localhost, not 127.0.0.1: another host name than the API's.
	return strings.Replace(strings.TrimPrefix(srv.URL, "http://"), "127.0.0.1", "localhost", 1)
}

func parseTask(t *testing.T, p *processor.Processor, job sdk.Job) sdk.LogParseResult {
	t.Helper()
	if len(job.LogReferences) != 1 {
		t.Fatalf("job has %d log references", len(job.LogReferences))
	}
	ref := job.LogReferences[0]
	payload, _ := json.Marshal(sdk.LogParseTask{JobLogID: 1, JobID: 1, JobGUID: job.JobGUID, Repository: "example-app",
		Name: ref.Name, URL: ref.URL, JobResult: job.Result})
	res, err := p.Process(context.Background(), sdk.Task{ID: "t1", Kind: sdk.TaskLogParse, Payload: payload})
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	var out sdk.LogParseResult
	if err := json.Unmarshal(res.Payload, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestActionsJobThroughLogParser: a completed workflow_job arrives by
// webhook; the job's log reference is the REST logs URL on the (fake) API,
// which redirects to a blob store serving an Actions-shaped log; the real
// logparser processor follows the redirect (both hosts allowed) and finds
// the error lines.
func TestActionsJobThroughLogParser(t *testing.T) {
	r := newRig(t, nil)
	blob := blobStore(t, string(testdata(t, "actions_log.txt")))
	r.fake.Redirect("/repos/example-org/example-app/actions/jobs/29679449256/logs", "http://"+blob+"/logs/29679449256.txt?sig=abc&se=2024-09-10T10%3A00%3A00Z")
	if code, reply, _ := r.post("workflow_job", delivery1, testdata(t, "workflow_job_completed.json"), testSecret); code != 200 {
		t.Fatalf("%d %v", code, reply)
	}
	job := r.sink.events()[0].Job.Job
	if job.LogReferences[0].Name != sdk.LogLiveBacking || processor.LogKind(job.LogReferences[0].Name) != processor.KindRaw {
		t.Fatalf("log reference %+v is not parsed as a raw log", job.LogReferences[0])
	}

	p, err := processor.NewWithConfig(processor.Config{AllowedHosts: []string{r.fake.Host(), blob}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := parseTask(t, p, job)
	if res.Status != sdk.LogStatusParsed {
		t.Fatalf("parse: %s %s", res.Status, res.Reason)
	}
	var got []string
	for _, e := range res.Errors {
		got = append(got, fmt.Sprintf("%d:%s", e.LineNumber, e.Line))
	}
	want := []string{
		"11:TEST-UNEXPECTED-FAIL | tests/test_parser.py::test_nested_groups | assert 3 == 4",
		"12:src/parser.c:212: error: 'depth' undeclared (first use in this function)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("error lines\n got %q\nwant %q", got, want)
	}

	// The blob store's host must be allowed too: the redirect is refused otherwise.
	p, _ = processor.NewWithConfig(processor.Config{AllowedHosts: []string{r.fake.Host()}}, nil, nil)
	if res := parseTask(t, p, job); res.Status != sdk.LogStatusFailed || !strings.Contains(res.Reason, "allowed_hosts") {
		t.Errorf("redirect to a host not allowed: %s %s", res.Status, res.Reason)
	}

	// GitHub answers the logs endpoint only to authenticated callers (403
	// otherwise); the log parser sends no token, so today that is a failed
	// parse.
	r.fake.RequireToken("ghp_example", http.StatusForbidden)
	p, _ = processor.NewWithConfig(processor.Config{AllowedHosts: []string{r.fake.Host(), blob}}, nil, nil)
	if res := parseTask(t, p, job); res.Status != sdk.LogStatusFailed || !strings.Contains(res.Reason, "403") {
		t.Errorf("unauthenticated log fetch: %s %s", res.Status, res.Reason)
	}
}
