package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Repositories lists the active repositories.
func (c *Client) Repositories(ctx context.Context) ([]Repository, error) {
	var out []Repository
	return out, c.Get(ctx, "/api/repository/", nil, &out)
}

// Repository returns one active repository.
func (c *Client) Repository(ctx context.Context, id int64) (*Repository, error) {
	var out Repository
	return &out, c.Get(ctx, "/api/repository/"+strconv.FormatInt(id, 10)+"/", nil, &out)
}

func (c *Client) FailureClassifications(ctx context.Context) ([]FailureClassification, error) {
	var out []FailureClassification
	return out, c.Get(ctx, "/api/failureclassification/", nil, &out)
}

func (c *Client) OptionCollections(ctx context.Context) ([]OptionCollection, error) {
	var out []OptionCollection
	return out, c.Get(ctx, "/api/optioncollectionhash/", nil, &out)
}

func (c *Client) MachinePlatforms(ctx context.Context) ([]MachinePlatform, error) {
	var out []MachinePlatform
	return out, c.Get(ctx, "/api/machineplatforms/", nil, &out)
}

// TaskclusterMetadata returns the task and run of each job that has one.
func (c *Client) TaskclusterMetadata(ctx context.Context, jobIDs ...int64) ([]TaskclusterMetadata, error) {
	var out []TaskclusterMetadata
	return out, c.Get(ctx, "/api/taskclustermetadata/", url.Values{"job_ids": {joinInts(jobIDs)}}, &out)
}

func joinInts(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

// PushFilter selects pushes; zero fields are left out. Extra carries any
// other parameter of the push list (push_timestamp__lte, id__gt, ...).
type PushFilter struct {
	Count          int
	FromChange     string
	ToChange       string
	StartDate      string // YYYY-MM-DD
	EndDate        string // YYYY-MM-DD, inclusive
	Revision       string
	CommitRevision string
	Author         string // a leading "-" excludes the author
	AuthorContains string
	Search         string
	IDs            []int64
	Extra          url.Values
}

func (f *PushFilter) values() url.Values {
	v := url.Values{}
	if f == nil {
		return v
	}
	for k, vs := range f.Extra {
		v[k] = append([]string{}, vs...)
	}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	if f.Count != 0 {
		v.Set("count", strconv.Itoa(f.Count))
	}
	set("fromchange", f.FromChange)
	set("tochange", f.ToChange)
	set("startdate", f.StartDate)
	set("enddate", f.EndDate)
	set("revision", f.Revision)
	set("commit_revision", f.CommitRevision)
	set("author", f.Author)
	set("author_contains", f.AuthorContains)
	set("search", f.Search)
	if len(f.IDs) > 0 {
		v.Set("id__in", joinInts(f.IDs))
	}
	return v
}

// Pushes lists a repository's pushes, newest first.
func (c *Client) Pushes(ctx context.Context, repo string, f *PushFilter) (*PushList, error) {
	var out PushList
	return &out, c.Get(ctx, project(repo)+"/push/", f.values(), &out)
}

// Push returns one push.
func (c *Client) Push(ctx context.Context, repo string, id int64) (*Push, error) {
	var out Push
	return &out, c.Get(ctx, project(repo)+"/push/"+strconv.FormatInt(id, 10)+"/", nil, &out)
}

// PushStatus counts a push's untriaged tier 1-2 jobs by state and result.
func (c *Client) PushStatus(ctx context.Context, repo string, id int64) (PushStatus, error) {
	var out PushStatus
	return out, c.Get(ctx, project(repo)+"/push/"+strconv.FormatInt(id, 10)+"/status/", nil, &out)
}

// HealthSummaryFilter selects pushes for PushHealthSummary: Revisions, or
// Author with Count.
type HealthSummaryFilter struct {
	Revisions   []string
	Author      string
	Count       int
	WithHistory bool
	AllRepos    bool
}

func (c *Client) PushHealthSummary(ctx context.Context, repo string, f HealthSummaryFilter) ([]HealthSummary, error) {
	v := url.Values{}
	if len(f.Revisions) > 0 {
		v.Set("revision", strings.Join(f.Revisions, ","))
	}
	if f.Author != "" {
		v.Set("author", f.Author)
	}
	if f.Count != 0 {
		v.Set("count", strconv.Itoa(f.Count))
	}
	if f.WithHistory {
		v.Set("with_history", "true")
	}
	if f.AllRepos {
		v.Set("all_repos", "1")
	}
	var out []HealthSummary
	return out, c.Get(ctx, project(repo)+"/push/health_summary/", v, &out)
}

// JobFilter selects jobs for Jobs and ProjectJobs; zero fields are left out.
// Extra carries any other filter (job_type_name, tier__in, id__gt, ...).
type JobFilter struct {
	PushID         int64
	PushIDs        []int64
	IDs            []int64
	Result         string
	State          string
	Tiers          []int
	LastModifiedGT time.Time // polling: jobs changed after this time
	Extra          url.Values
}

func (f *JobFilter) values() url.Values {
	v := url.Values{}
	if f == nil {
		return v
	}
	for k, vs := range f.Extra {
		v[k] = append([]string{}, vs...)
	}
	if f.PushID != 0 {
		v.Set("push_id", strconv.FormatInt(f.PushID, 10))
	}
	if len(f.PushIDs) > 0 {
		v.Set("push_id__in", joinInts(f.PushIDs))
	}
	if len(f.IDs) > 0 {
		v.Set("id__in", joinInts(f.IDs))
	}
	if f.Result != "" {
		v.Set("result", f.Result)
	}
	if f.State != "" {
		v.Set("state", f.State)
	}
	if len(f.Tiers) > 0 {
		s := make([]string, len(f.Tiers))
		for i, t := range f.Tiers {
			s[i] = strconv.Itoa(t)
		}
		v.Set("tier__in", strings.Join(s, ","))
	}
	if !f.LastModifiedGT.IsZero() {
		v.Set("last_modified__gt", f.LastModifiedGT.UTC().Format("2006-01-02T15:04:05.000000"))
	}
	return v
}

// Jobs returns one page of /api/jobs/ (page is 1-based; count 0 is the
// server's default of 2000).
func (c *Client) Jobs(ctx context.Context, f *JobFilter, page, count int) (*JobsPage, error) {
	v := f.values()
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if count > 0 {
		v.Set("count", strconv.Itoa(count))
	}
	var raw rawJobsPage
	if err := c.Get(ctx, "/api/jobs/", v, &raw); err != nil {
		return nil, err
	}
	return raw.decode()
}

// AllJobs follows /api/jobs/'s next links, as Treeherder's UI does, and
// returns every matching job.
func (c *Client) AllJobs(ctx context.Context, f *JobFilter) ([]JobSummary, error) {
	page, err := c.Jobs(ctx, f, 1, 0)
	if err != nil {
		return nil, err
	}
	out := page.Results
	for page.Next != nil {
		var raw rawJobsPage
		if err := c.getURL(ctx, *page.Next, &raw); err != nil {
			return nil, err
		}
		if page, err = raw.decode(); err != nil {
			return nil, err
		}
		out = append(out, page.Results...)
	}
	return out, nil
}

type rawJobsPage struct {
	Count            int64               `json:"count"`
	Next             *string             `json:"next"`
	Previous         *string             `json:"previous"`
	Results          [][]json.RawMessage `json:"results"`
	JobPropertyNames []string            `json:"job_property_names"`
}

// decode maps each row's columns by job_property_names, so a server that
// orders them differently still decodes.
func (r *rawJobsPage) decode() (*JobsPage, error) {
	page := &JobsPage{Count: r.Count, Next: r.Next, Previous: r.Previous, JobPropertyNames: r.JobPropertyNames,
		Rows: r.Results, Results: make([]JobSummary, len(r.Results))}
	for i, row := range r.Results {
		if len(row) != len(r.JobPropertyNames) {
			return nil, fmt.Errorf("herder client: job row %d has %d values for %d property names", i, len(row), len(r.JobPropertyNames))
		}
		j := &page.Results[i]
		fields := map[string]any{
			"failure_classification_id": &j.FailureClassificationID, "id": &j.ID,
			"job_group_name": &j.JobGroupName, "job_group_symbol": &j.JobGroupSymbol,
			"job_type_name": &j.JobTypeName, "job_type_symbol": &j.JobTypeSymbol,
			"last_modified": &j.LastModified, "platform": &j.Platform, "push_id": &j.PushID,
			"push_revision": &j.PushRevision, "result": &j.Result, "signature": &j.Signature,
			"state": &j.State, "tier": &j.Tier, "task_id": &j.TaskID, "retry_id": &j.RetryID,
			"duration": &j.Duration, "platform_option": &j.PlatformOption,
		}
		for k, name := range r.JobPropertyNames {
			dst, ok := fields[name]
			if !ok {
				continue
			}
			if err := json.Unmarshal(row[k], dst); err != nil {
				return nil, fmt.Errorf("herder client: job row %d, %s: %w", i, name, err)
			}
		}
	}
	return page, nil
}

// ListOptions pages the project jobs lists.
type ListOptions struct {
	Offset int
	Count  int
}

func (o *ListOptions) apply(v url.Values) {
	if o == nil {
		return
	}
	if o.Offset != 0 {
		v.Set("offset", strconv.Itoa(o.Offset))
	}
	if o.Count != 0 {
		v.Set("count", strconv.Itoa(o.Count))
	}
}

// ProjectJobs lists a repository's jobs in dict form.
func (c *Client) ProjectJobs(ctx context.Context, repo string, f *JobFilter, o *ListOptions) (*JobList, error) {
	v := f.values()
	o.apply(v)
	var out JobList
	return &out, c.Get(ctx, project(repo)+"/jobs/", v, &out)
}

// ProjectJobRows lists a repository's jobs in list form (return_type=list).
func (c *Client) ProjectJobRows(ctx context.Context, repo string, f *JobFilter, o *ListOptions) (*JobRows, error) {
	v := f.values()
	o.apply(v)
	v.Set("return_type", "list")
	var out JobRows
	return &out, c.Get(ctx, project(repo)+"/jobs/", v, &out)
}

func jobPath(repo string, id int64) string {
	return project(repo) + "/jobs/" + strconv.FormatInt(id, 10) + "/"
}

// Job returns one job with its logs and task.
func (c *Client) Job(ctx context.Context, repo string, id int64) (*JobDetail, error) {
	var out JobDetail
	return &out, c.Get(ctx, jobPath(repo, id), nil, &out)
}

func (c *Client) TextLogErrors(ctx context.Context, repo string, jobID int64) ([]TextLogError, error) {
	var out []TextLogError
	return out, c.Get(ctx, jobPath(repo, jobID)+"text_log_errors/", nil, &out)
}

func (c *Client) BugSuggestions(ctx context.Context, repo string, jobID int64) ([]BugSuggestion, error) {
	var out []BugSuggestion
	return out, c.Get(ctx, jobPath(repo, jobID)+"bug_suggestions/", nil, &out)
}

// SimilarJobs lists jobs of the same type as jobID, newest push first;
// noSuccess leaves out successful ones.
func (c *Client) SimilarJobs(ctx context.Context, repo string, jobID int64, o *ListOptions, noSuccess bool) (*JobList, error) {
	v := url.Values{}
	o.apply(v)
	if noSuccess {
		v.Set("nosuccess", "")
	}
	var out JobList
	return &out, c.Get(ctx, jobPath(repo, jobID)+"similar_jobs/", v, &out)
}

// JobLogs lists the logs of jobs.
func (c *Client) JobLogs(ctx context.Context, repo string, jobIDs ...int64) ([]JobLog, error) {
	var out []JobLog
	return out, c.Get(ctx, project(repo)+"/job-log-url/", repeated("job_id", jobIDs), &out)
}

func repeated(key string, ids []int64) url.Values {
	v := url.Values{}
	for _, id := range ids {
		v.Add(key, strconv.FormatInt(id, 10))
	}
	return v
}

// Notes lists a job's classification notes.
func (c *Client) Notes(ctx context.Context, repo string, jobID int64) ([]Note, error) {
	var out []Note
	return out, c.Get(ctx, project(repo)+"/note/", repeated("job_id", []int64{jobID}), &out)
}

// BugJobMaps lists the bugs linked to jobs.
func (c *Client) BugJobMaps(ctx context.Context, repo string, jobIDs ...int64) ([]BugJobMap, error) {
	var out []BugJobMap
	return out, c.Get(ctx, project(repo)+"/bug-job-map/", repeated("job_id", jobIDs), &out)
}

// FailureFilter selects intermittent failures by push day.
type FailureFilter struct {
	StartDay string // YYYY-MM-DD
	EndDay   string // YYYY-MM-DD, inclusive
	Tree     string // a repository, "all", "trunk", "firefox-releases" or "comm-releases"
	Bug      int64  // a Bugzilla id; 0 for none
}

func (f FailureFilter) values() url.Values {
	v := url.Values{"startday": {f.StartDay}, "endday": {f.EndDay}, "tree": {f.Tree}}
	if f.Bug != 0 {
		v.Set("bug", strconv.FormatInt(f.Bug, 10))
	}
	return v
}

func (c *Client) Failures(ctx context.Context, f FailureFilter) ([]BugCount, error) {
	var out []BugCount
	return out, c.Get(ctx, "/api/failures/", f.values(), &out)
}

func (c *Client) FailuresByBug(ctx context.Context, f FailureFilter) ([]BugFailure, error) {
	var out []BugFailure
	return out, c.Get(ctx, "/api/failuresbybug/", f.values(), &out)
}

func (c *Client) FailureCount(ctx context.Context, f FailureFilter) ([]FailureCount, error) {
	var out []FailureCount
	return out, c.Get(ctx, "/api/failurecount/", f.values(), &out)
}

// PerformanceSignatures returns a repository's signatures, by id. query
// takes the endpoint's filters (framework, platform, interval, ...).
func (c *Client) PerformanceSignatures(ctx context.Context, repo string, query url.Values) ([]PerformanceSignature, error) {
	var byID map[string]PerformanceSignature
	if err := c.Get(ctx, project(repo)+"/performance/signatures/", query, &byID); err != nil {
		return nil, err
	}
	out := make([]PerformanceSignature, 0, len(byID))
	for _, s := range byID {
		out = append(out, s)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].ID < out[k].ID })
	return out, nil
}

// PerformanceData returns measurements keyed by signature hash. query needs
// one of signature_id, signatures, push_id or job_id.
func (c *Client) PerformanceData(ctx context.Context, repo string, query url.Values) (map[string][]PerformanceDatum, error) {
	var out map[string][]PerformanceDatum
	return out, c.Get(ctx, project(repo)+"/performance/data/", query, &out)
}

// Schema returns the server's OpenAPI document.
func (c *Client) Schema(ctx context.Context) (map[string]any, error) {
	var out map[string]any
	return out, c.Get(ctx, "/api/schema/", nil, &out)
}
