package server

import "github.com/herder-ci/herder/core/store"

// The read endpoints, in Treeherder's paths. Each entry registers the route,
// bounds its query parameters and documents it in /api/schema/.

var (
	countParam     = apiParam{name: "count", typ: "integer", desc: "Page size."}
	offsetParam    = apiParam{name: "offset", typ: "integer", desc: "Rows to skip (default 0)."}
	returnTypeParm = apiParam{name: "return_type", typ: "string", desc: "`dict` (default) or `list` (arrays plus job_property_names)."}
	failureParams  = []apiParam{
		{name: "startday", typ: "date", desc: "First day (YYYY-MM-DD), by push time.", required: true},
		{name: "endday", typ: "date", desc: "Last day (YYYY-MM-DD), inclusive.", required: true},
		{name: "tree", typ: "string", desc: "A repository name, `all`, or a group: `trunk`, `firefox-releases`, `comm-releases`.", required: true},
	}
	perfWindowParams = []apiParam{
		{name: "interval", typ: "integer", desc: "Seconds back from now; not with start_date/end_date."},
		{name: "start_date", typ: "date-time", desc: "YYYY-MM-DDTHH:MM:SS"},
		{name: "end_date", typ: "date-time", desc: "YYYY-MM-DDTHH:MM:SS"},
	}
)

func (a *readAPI) endpoints() []*endpoint {
	return []*endpoint{
		{path: "/api/repository/", tag: "reference", summary: "Active repositories.",
			response: []repositoryJSON{}, external: true},
		{path: "/api/repository/:id/", tag: "reference", summary: "One active repository.",
			response: repositoryJSON{}, external: true},
		{path: "/api/failureclassification/", tag: "reference", summary: "Failure classifications.",
			response: []struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			}{}, external: true},
		{path: "/api/optioncollectionhash/", tag: "reference", summary: "Option collections by hash.",
			response: []optionCollectionJSON{}, cached: true, handle: a.optionCollectionHash},
		{path: "/api/machineplatforms/", tag: "reference", summary: "Machine platforms.",
			response: []machinePlatformJSON{}, cached: true, handle: a.machinePlatforms},
		{path: "/api/taskclustermetadata/", tag: "jobs", summary: "Taskcluster task and run of jobs.",
			params:   []apiParam{{name: "job_ids", typ: "integer-list", desc: "Comma-separated job ids (at most 2000).", required: true}},
			response: []taskclusterMetadataJSON{}, handle: a.taskclusterMetadata},

		{path: "/api/project/:project/push/", tag: "pushes", summary: "Pushes, newest first.",
			params: []apiParam{
				{name: "count", typ: "integer", desc: "Pushes to return (default 10, at most 1000)."},
				{name: "fromchange", typ: "string", desc: "Pushes from this revision's push on (a prefix works)."},
				{name: "tochange", typ: "string", desc: "Pushes up to this revision's push."},
				{name: "startdate", typ: "date", desc: "Pushes from this day (YYYY-MM-DD)."},
				{name: "enddate", typ: "date", desc: "Pushes up to this day, inclusive."},
				{name: "revision", typ: "string", desc: "The push whose tip is this revision (a prefix when shorter than 40)."},
				{name: "commit_revision", typ: "string", desc: "The push holding this commit (40 characters)."},
				{name: "push_timestamp__lt", typ: "number", desc: "Unix seconds."},
				{name: "push_timestamp__lte", typ: "number", desc: "Unix seconds."},
				{name: "push_timestamp__gt", typ: "number", desc: "Unix seconds."},
				{name: "push_timestamp__gte", typ: "number", desc: "Unix seconds."},
				{name: "id", typ: "integer"}, {name: "id__lt", typ: "integer"}, {name: "id__lte", typ: "integer"},
				{name: "id__gt", typ: "integer"}, {name: "id__gte", typ: "integer"},
				{name: "id__in", typ: "integer-list", desc: "Comma-separated push ids."},
				{name: "author", typ: "string", desc: "Author, case-insensitive; a leading `-` excludes the author."},
				{name: "author_contains", typ: "string", desc: "Substring of the author, case-insensitive."},
				{name: "hide_reviewbot_pushes", typ: "boolean", desc: "`true` leaves out reviewbot's pushes."},
				{name: "search", typ: "string", desc: "Substring of a revision, the author or a commit message (at most 200 pushes)."},
				{name: "all_repos", typ: "boolean", desc: "Any value: pushes of every repository."},
				{name: "full", typ: "boolean", desc: "Accepted and ignored, as in Treeherder."},
			},
			response: pushListJSON{}, hot: true, handle: a.pushList},
		{path: "/api/project/:project/push/health_summary/", tag: "pushes",
			summary: "Per-push counts of failed unclassified jobs (simplified Push Health).",
			params: []apiParam{
				{name: "revision", typ: "string-list", desc: "Comma-separated push revisions."},
				{name: "author", typ: "string", desc: "Without revision: this author's pushes."},
				{name: "count", typ: "integer", desc: "With author: how many pushes (default 10, at most 100)."},
				{name: "all_repos", typ: "boolean"}, {name: "with_history", typ: "boolean"},
				{name: "with_in_progress_tests", typ: "boolean", desc: "Accepted; in-progress counts are always included."},
			},
			response: []healthSummaryJSON{}, hot: true, handle: a.pushHealthSummary},
		{path: "/api/project/:project/push/:id/", tag: "pushes", summary: "One push.",
			response: pushJSON{}, hot: true, handle: a.pushDetail},
		{path: "/api/project/:project/push/:id/status/", tag: "pushes",
			summary:  "Job counts of a push by state and result (tier 3 and classified jobs left out).",
			response: map[string]int64{}, hot: true, handle: a.pushStatus},

		{path: "/api/jobs/", tag: "jobs", summary: "Jobs in the compact format (arrays plus job_property_names), by id.",
			params: []apiParam{
				{name: "count", typ: "integer", desc: "Page size (default and maximum 2000)."},
				{name: "page", typ: "integer", desc: "1-based page number."},
			},
			jobFilters: jobFilterSet, response: compactJobsDoc{}, hot: true, absolute: true, handle: a.jobsCompact},
		{path: "/api/project/:project/jobs/", tag: "jobs", summary: "A repository's jobs.",
			params:     []apiParam{offsetParam, {name: "count", typ: "integer", desc: "Jobs to return (default 10, at most 2000)."}, returnTypeParm},
			jobFilters: legacyJobFilterSet, response: projectJobsDictJSON{}, hot: true, handle: a.projectJobs},
		{path: "/api/project/:project/jobs/:id/", tag: "jobs", summary: "One job with its logs and task.",
			response: jobDetailJSON{}, handle: a.jobDetail},
		{path: "/api/project/:project/jobs/:id/text_log_errors/", tag: "jobs", summary: "The job's error lines.",
			response: []textLogErrorJSON{}, handle: a.textLogErrors},
		{path: "/api/project/:project/jobs/:id/bug_suggestions/", tag: "jobs", summary: "Bug suggestions per error line.",
			response: []store.BugSuggestion{}, handle: a.bugSuggestions},
		{path: "/api/project/:project/jobs/:id/similar_jobs/", tag: "jobs", summary: "Jobs of the same job type, newest push first.",
			params: []apiParam{offsetParam, {name: "count", typ: "integer", desc: "Jobs to return (default 50, at most 2000)."}, returnTypeParm,
				{name: "nosuccess", typ: "boolean", desc: "Present: leave out successful jobs."}},
			jobFilters: jobFilterSet, response: projectJobsDictJSON{}, handle: a.similarJobs},
		{path: "/api/project/:project/job-log-url/", tag: "jobs", summary: "Logs of jobs.",
			params:   []apiParam{{name: "job_id", typ: "integer", desc: "A job id; repeat for more.", required: true, repeat: true}},
			response: []jobLogJSON{}, handle: a.jobLogURLs},
		{path: "/api/project/:project/job-log-url/:id/", tag: "jobs", summary: "One log.",
			response: jobLogJSON{}, handle: a.jobLogURL},

		{path: "/api/project/:project/note/", tag: "classification", summary: "Notes of a job.",
			params:   []apiParam{{name: "job_id", typ: "integer", required: true}},
			response: []noteJSON{}, handle: a.notes},
		{path: "/api/project/:project/bug-job-map/", tag: "classification", summary: "Bugs linked to jobs.",
			params:   []apiParam{{name: "job_id", typ: "integer", desc: "A job id; repeat for more.", required: true, repeat: true}},
			response: []bugJobMapJSON{}, handle: a.bugJobMap},
		{path: "/api/failures/", tag: "intermittents", summary: "Jobs linked to each bug, most first.",
			params:   append(append([]apiParam{}, failureParams...), apiParam{name: "bug", typ: "integer", desc: "Accepted and ignored."}),
			response: []bugCountJSON{}, handle: a.failures},
		{path: "/api/failuresbybug/", tag: "intermittents", summary: "Jobs linked to one bug, newest push first.",
			params:   append(append([]apiParam{}, failureParams...), apiParam{name: "bug", typ: "integer", desc: "Bugzilla id.", required: true}),
			response: []failureByBugJSON{}, handle: a.failuresByBug},
		{path: "/api/failurecount/", tag: "intermittents", summary: "Pushes and failures per day.",
			params:   append(append([]apiParam{}, failureParams...), apiParam{name: "bug", typ: "integer", desc: "Only this bug's failures; without it, jobs classified intermittent."}),
			response: []failureCountJSON{}, handle: a.failureCount},

		{path: "/api/project/:project/performance/signatures/", tag: "performance",
			summary: "Performance signatures keyed by id.",
			params: append([]apiParam{
				{name: "framework", typ: "integer", repeat: true}, {name: "platform", typ: "string"},
				{name: "signature", typ: "string", repeat: true}, {name: "id", typ: "integer", repeat: true},
				{name: "parent_signature", typ: "string", repeat: true},
				{name: "subtests", typ: "integer", desc: "0 leaves out subtests."},
			}, perfWindowParams...),
			response: map[string]perfSignatureJSON{}, handle: a.perfSignatures},
		{path: "/api/project/:project/performance/data/", tag: "performance",
			summary: "Performance data keyed by signature hash; needs signature_id, signatures, push_id or job_id.",
			params: append([]apiParam{
				{name: "signature_id", typ: "integer", repeat: true}, {name: "signatures", typ: "string", repeat: true},
				{name: "push_id", typ: "integer", repeat: true}, {name: "job_id", typ: "integer", repeat: true},
				{name: "framework", typ: "integer", repeat: true},
				{name: "no_retriggers", typ: "boolean", desc: "`true`: the first datum per push only."},
			}, perfWindowParams...),
			response: map[string][]perfDatumJSON{}, handle: a.perfData},
	}
}

// compactJobsDoc documents /api/jobs/'s response, which is written by hand.
type compactJobsDoc struct {
	Count            int64    `json:"count"`
	Next             *string  `json:"next"`
	Previous         *string  `json:"previous"`
	Results          [][]any  `json:"results"`
	JobPropertyNames []string `json:"job_property_names"`
}
