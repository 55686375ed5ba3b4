package server

import "net/http"

// The writes, sign-in, /api/user/ and the raw-log proxy in /api/schema/.
// They are routed by routeWrites; these entries only document them.

// writeMessage is the body of a successful write, as Treeherder's.
type writeMessage struct {
	Message string `json:"message"`
}

func init() {
	for _, ep := range []*endpoint{
		{method: http.MethodPost, path: "/api/project/:project/note/", tag: "classification",
			summary:  "Classify a job: body {job_id, failure_classification_id, text}. The job takes the newest note's classification. Any signed-in user or API token; bodies up to 64 KiB.",
			response: writeMessage{}},
		{method: http.MethodDelete, path: "/api/project/:project/note/:id/", tag: "classification",
			summary:  "Delete a note; the job falls back to its newest remaining note's classification, or 1 (not classified).",
			response: writeMessage{}},
		{method: http.MethodPost, path: "/api/project/:project/bug-job-map/", tag: "classification",
			summary:  "Link a job to a bug: body {job_id, bug_id | internal_id, bug_open}. An unknown Bugzilla bug gets a placeholder row until the bug sync fills it in; an existing link is skipped (200).",
			response: writeMessage{}},
		{method: http.MethodDelete, path: "/api/project/:project/bug-job-map/:pk/", tag: "classification",
			summary:  "Unlink a job from a bug: pk is {job_id}-{bug_id}, or {job_id}-i{internal_id} for an internal issue.",
			response: writeMessage{}},
		{method: http.MethodDelete, path: "/api/project/:project/classification/", tag: "classification",
			summary:  "Unclassify jobs (staff only: herder's admin role): body [{\"id\": job_id}, ...]; their notes and bug links are deleted.",
			response: writeMessage{}},
		{method: http.MethodPost, path: "/api/internal_issue/", tag: "classification",
			summary:  "Create an internal issue (a bug with no Bugzilla id): body {summary}. 201 when created, 200 when one with this summary exists.",
			response: internalIssueJSON{}},
		{path: "/api/user/", tag: "auth", summary: "The requester: one user, or [] when anonymous.", response: []userJSON{}},
		{path: "/api/auth/", tag: "auth", summary: "How to sign in here: whether OpenID Connect sign-in is configured, and its login URL.",
			response: authMethodsJSON{}},
		{path: "/api/auth/login/", tag: "auth",
			summary:  "Sign in: redirects (302) to the OpenID Connect provider; `next` is where to land afterwards.",
			params:   []apiParam{{name: "next", typ: "string", desc: "A path on this site to return to."}},
			response: writeMessage{}},
		{path: "/api/auth/callback/", tag: "auth",
			summary:  "Where the provider returns: verifies the sign-in, sets the session and csrftoken cookies and redirects (302) to `next`.",
			response: writeMessage{}},
		{path: "/api/auth/logout/", tag: "auth", summary: "Sign out (GET or POST).", response: writeMessage{}},
		{method: http.MethodPost, path: "/api/auth/logout/", tag: "auth", summary: "Sign out.", response: writeMessage{}},
		{path: "/api/project/:project/job-log-url/:id/raw/", tag: "jobs",
			summary:  "The log itself, as text/plain, fetched from its URL (allowed hosts only, bounded). gzip is passed through to clients that accept it and unpacked for the rest. 501 when the proxy is off.",
			response: ""},
	} {
		ep.external = true
		documentRoute(ep)
	}
}
