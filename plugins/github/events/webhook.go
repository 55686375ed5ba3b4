package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Webhook event types (the X-GitHub-Event header) the plugin handles.
const (
	EventPing        = "ping"
	EventPush        = "push"
	EventPullRequest = "pull_request"
	EventWorkflowJob = "workflow_job"
	EventWorkflowRun = "workflow_run"
	EventCheckRun    = "check_run"
)

// NullSHA is git's "no commit": the before of a new branch, the after of a
// deleted one.
const NullSHA = "0000000000000000000000000000000000000000"

// ErrUnsupported is an event type the plugin does not handle.
var ErrUnsupported = errors.New("unsupported webhook event")

// PayloadError is a webhook body that cannot be used: not JSON, not an
// object, or missing what the event type needs.
type PayloadError struct {
	Event  string
	Field  string
	Reason string
}

func (e *PayloadError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s payload: %s: %s", e.Event, e.Field, e.Reason)
	}
	return fmt.Sprintf("%s payload: %s", e.Event, e.Reason)
}

// Repository is a webhook's (or the REST API's) repository object.
type Repository struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	FullName string `json:"full_name"`
	HTMLURL  string `json:"html_url"`
	Owner    struct {
		Login string `json:"login"`
	} `json:"owner"`
}

// Owner and repository name of FullName.
func (r Repository) split() (owner, name string) {
	owner, name, _ = strings.Cut(r.FullName, "/")
	return owner, name
}

// User is a login.
type User struct {
	Login string `json:"login"`
}

// PushPayload is the part of a push webhook the plugin reads; the whole
// body is handed on as taskcluster-github's message body.
type PushPayload struct {
	Ref        string            `json:"ref"`
	Before     string            `json:"before"`
	After      string            `json:"after"`
	Created    bool              `json:"created"`
	Deleted    bool              `json:"deleted"`
	Commits    []json.RawMessage `json:"commits"` // counted, not read: left undecoded
	HeadCommit json.RawMessage   `json:"head_commit"`
}

// PullRequestPayload is the part of a pull_request webhook the plugin reads.
type PullRequestPayload struct {
	Number      int `json:"number"`
	PullRequest struct {
		Number int `json:"number"`
		Head   struct {
			SHA string `json:"sha"`
			Ref string `json:"ref"`
		} `json:"head"`
		Base struct {
			Ref  string     `json:"ref"`
			Repo Repository `json:"repo"`
		} `json:"base"`
	} `json:"pull_request"`
}

// WorkflowRun is a GitHub Actions workflow run (webhook or REST object).
type WorkflowRun struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	RunAttempt      int    `json:"run_attempt"`
	Event           string `json:"event"`
	Status          string `json:"status"`
	Conclusion      string `json:"conclusion"`
	HeadBranch      string `json:"head_branch"`
	HeadSHA         string `json:"head_sha"`
	CreatedAt       string `json:"created_at"`
	UpdatedAt       string `json:"updated_at"`
	TriggeringActor *User  `json:"triggering_actor"`
	Actor           *User  `json:"actor"`
}

// Who is the login that triggered the run.
func (r WorkflowRun) Who() string {
	switch {
	case r.TriggeringActor != nil && r.TriggeringActor.Login != "":
		return r.TriggeringActor.Login
	case r.Actor != nil:
		return r.Actor.Login
	}
	return ""
}

// PullRequestTriggered reports whether the run's event is a pull request's.
func (r WorkflowRun) PullRequestTriggered() bool {
	return strings.HasPrefix(r.Event, "pull_request")
}

// CheckRun is a check run (webhook object).
type CheckRun struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	HeadSHA     string `json:"head_sha"`
	Status      string `json:"status"`
	Conclusion  string `json:"conclusion"`
	StartedAt   string `json:"started_at"`
	CompletedAt string `json:"completed_at"`
	App         struct {
		Slug string `json:"slug"`
		Name string `json:"name"`
	} `json:"app"`
	CheckSuite struct {
		HeadBranch   string            `json:"head_branch"`
		PullRequests []json.RawMessage `json:"pull_requests"`
	} `json:"check_suite"`
}

// Webhook is a decoded webhook delivery. Exactly one of the event parts is
// set, except for ping.
type Webhook struct {
	Event      string
	Action     string
	Repository Repository
	Sender     string
	// Body is the JSON body (form-encoded deliveries are unwrapped).
	Body []byte

	Push        *PushPayload
	PullRequest *PullRequestPayload
	WorkflowJob *WorkflowJob
	WorkflowRun *WorkflowRun
	CheckRun    *CheckRun
}

// Decode parses a webhook body of the given event type (X-GitHub-Event).
// contentType is the request's Content-Type: GitHub sends either JSON or a
// form with the JSON in its "payload" field. It returns ErrUnsupported for
// event types the plugin does not handle and a *PayloadError for bodies
// that cannot be used.
func Decode(event, contentType string, body []byte) (*Webhook, error) {
	switch event {
	case EventPing, EventPush, EventPullRequest, EventWorkflowJob, EventWorkflowRun, EventCheckRun:
	default:
		return nil, fmt.Errorf("%q: %w", event, ErrUnsupported)
	}
	perr := func(field, format string, args ...any) error {
		return &PayloadError{Event: event, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			return nil, perr("", "a form-encoded delivery needs a payload field")
		}
		body = []byte(form.Get("payload"))
	}
	var common struct {
		Action     string          `json:"action"`
		Repository *Repository     `json:"repository"`
		Sender     *User           `json:"sender"`
		Job        json.RawMessage `json:"workflow_job"`
		Run        json.RawMessage `json:"workflow_run"`
		Check      json.RawMessage `json:"check_run"`
	}
	if err := decodeObject(body, &common); err != nil {
		return nil, perr("", "%v", err)
	}
	w := &Webhook{Event: event, Action: common.Action, Body: body}
	if common.Sender != nil {
		w.Sender = common.Sender.Login
	}
	if event == EventPing {
		if common.Repository != nil {
			w.Repository = *common.Repository
		}
		return w, nil
	}
	if common.Repository == nil || !validFullName(common.Repository.FullName) {
		return nil, perr("repository.full_name", "want owner/name")
	}
	w.Repository = *common.Repository
	switch event {
	case EventPush:
		var p PushPayload
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, perr("", "%v", err)
		}
		switch {
		case !strings.HasPrefix(p.Ref, "refs/"):
			return nil, perr("ref", "want refs/heads/... or refs/tags/..., got %q", clip(p.Ref))
		case !IsSHA(p.Before):
			return nil, perr("before", "want a 40-hex sha, got %q", clip(p.Before))
		case !IsSHA(p.After):
			return nil, perr("after", "want a 40-hex sha, got %q", clip(p.After))
		}
		w.Push = &p
	case EventPullRequest:
		var p PullRequestPayload
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, perr("", "%v", err)
		}
		if p.Number <= 0 {
			p.Number = p.PullRequest.Number
		}
		switch {
		case p.Number <= 0:
			return nil, perr("number", "want a pull request number")
		case w.Action == "":
			return nil, perr("action", "missing")
		case !IsSHA(p.PullRequest.Head.SHA):
			return nil, perr("pull_request.head.sha", "want a 40-hex sha")
		}
		w.PullRequest = &p
	case EventWorkflowJob:
		var j WorkflowJob
		if err := decodeObject(common.Job, &j); err != nil {
			return nil, perr("workflow_job", "%v", err)
		}
		if err := j.validate(); err != nil {
			return nil, perr("workflow_job", "%v", err)
		}
		w.WorkflowJob = &j
	case EventWorkflowRun:
		var r WorkflowRun
		if err := decodeObject(common.Run, &r); err != nil {
			return nil, perr("workflow_run", "%v", err)
		}
		if r.ID <= 0 {
			return nil, perr("workflow_run.id", "want a positive id")
		}
		w.WorkflowRun = &r
	case EventCheckRun:
		var c CheckRun
		if err := decodeObject(common.Check, &c); err != nil {
			return nil, perr("check_run", "%v", err)
		}
		switch {
		case c.ID <= 0:
			return nil, perr("check_run.id", "want a positive id")
		case !IsSHA(c.HeadSHA):
			return nil, perr("check_run.head_sha", "want a 40-hex sha")
		case c.Status == "":
			return nil, perr("check_run.status", "missing")
		}
		w.CheckRun = &c
	}
	return w, nil
}

// decodeObject decodes a JSON object (and nothing after it).
func decodeObject(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return errors.New("want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON object")
	}
	return nil
}

// IsSHA reports whether s is a full 40-hex git sha.
func IsSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// validFullName accepts owner/name with GitHub's characters.
func validFullName(s string) bool {
	owner, name, ok := strings.Cut(s, "/")
	return ok && validNamePart(owner) && validNamePart(name)
}

func validNamePart(s string) bool {
	if s == "" || len(s) > 100 || s == "." || s == ".." {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
