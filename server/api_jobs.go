package server

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bunrouter"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
)

const (
	maxJobsPage     = 2000 // /api/jobs/ page size, default and maximum
	maxProjectJobs  = 2000 // MAX_JOBS_COUNT of the project jobs list
	similarJobsSize = 50
)

// compactJobProperties is the column order of /api/jobs/ rows
// (JobsViewSet._output_field_names).
var compactJobProperties = []string{
	"failure_classification_id", "id", "job_group_name", "job_group_symbol", "job_type_name",
	"job_type_symbol", "last_modified", "platform", "push_id", "push_revision", "result", "signature",
	"state", "tier", "task_id", "retry_id", "duration", "platform_option",
}

// appendCompactJob writes one /api/jobs/ row. It is the hot path of the
// UI's job loading, so it appends bytes instead of reflecting over values.
func appendCompactJob(b []byte, j *store.JobRecord, now time.Time) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, j.FailureClass, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, j.ID, 10)
	b = append(b, ',')
	b = appendString(b, j.JobGroup.Name)
	b = append(b, ',')
	b = appendString(b, j.JobGroup.Symbol)
	b = append(b, ',')
	b = appendString(b, j.JobType.Name)
	b = append(b, ',')
	b = appendString(b, j.JobType.Symbol)
	b = append(b, ',')
	b = appendISOMicros(b, j.LastModified)
	b = append(b, ',')
	b = appendString(b, j.MachinePlatform.Platform)
	b = append(b, ',')
	b = strconv.AppendInt(b, j.PushID, 10)
	b = append(b, ',')
	b = appendString(b, j.PushRevision)
	b = append(b, ',')
	b = appendString(b, j.Result)
	b = append(b, ',')
	b = appendString(b, j.Signature)
	b = append(b, ',')
	b = appendString(b, j.State)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(j.Tier), 10)
	b = append(b, ',')
	if j.HasTaskMetadata {
		b = appendString(b, j.TaskID)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(j.RetryID), 10)
	} else {
		b = append(b, "null,null"...)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, duration(j.SubmitTime, j.StartTime, j.EndTime, now), 10)
	b = append(b, ',')
	b = appendString(b, j.PlatformOption)
	return append(b, ']')
}

// jobsCompact is /api/jobs/: Treeherder's JobsViewSet with its page-number
// pagination (count is the page size, page is 1-based).
func (a *readAPI) jobsCompact(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	count, err := p.intParam("count", maxJobsPage, 1, maxJobsPage)
	if err != nil {
		return err
	}
	page, err := p.intParam("page", 1, 1, math.MaxInt32)
	if err != nil {
		return err
	}
	conds, err := jobConds(p, false)
	if err != nil {
		return err
	}
	q := store.JobQuery{Conds: conds, Offset: int((page - 1) * count), Limit: int(count)}
	jobs, err := a.store.QueryJobs(req.Context(), q)
	if err != nil {
		return err
	}
	total := int64(len(jobs))
	if page > 1 || total == count {
		if total, err = a.store.CountJobs(req.Context(), q); err != nil {
			return err
		}
	}
	if page > 1 && len(jobs) == 0 {
		return notFoundf("Invalid page.")
	}
	now := a.now()
	b := make([]byte, 0, 64+len(jobs)*300)
	b = append(b, `{"count":`...)
	b = strconv.AppendInt(b, total, 10)
	b = append(b, `,"next":`...)
	if page*count < total {
		b = appendString(b, pageURL(req.Request, page+1))
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"previous":`...)
	if page > 1 {
		b = appendString(b, pageURL(req.Request, page-1))
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"results":[`...)
	for i := range jobs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCompactJob(b, &jobs[i], now)
	}
	b = append(b, `],"job_property_names":[`...)
	for i, name := range compactJobProperties {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, name)
	}
	b = append(b, "]}"...)
	return sendBody(w, http.StatusOK, b)
}

// pageURL is Django REST framework's replace_query_param (sorted keys), or
// remove_query_param for the first page.
func pageURL(r *http.Request, page int64) string {
	q, _ := url.ParseQuery(r.URL.RawQuery)
	if page == 1 {
		q.Del("page")
	} else {
		q.Set("page", strconv.FormatInt(page, 10))
	}
	return absoluteURL(r, q.Encode())
}

// projectJobProperties is JobsProjectViewSet._property_query_mapping's
// names, then platform_option: the dict keys and the list columns.
var projectJobProperties = []string{
	"build_architecture", "build_os", "build_platform", "build_platform_id", "build_system_type",
	"end_timestamp", "failure_classification_id", "id", "job_group_description", "job_group_id",
	"job_group_name", "job_group_symbol", "job_guid", "job_type_description", "job_type_id",
	"job_type_name", "job_type_symbol", "last_modified", "machine_name", "machine_platform_architecture",
	"machine_platform_os", "option_collection_hash", "platform", "push_id", "reason", "ref_data_name",
	"result", "result_set_id", "signature", "start_timestamp", "state", "submit_timestamp", "tier", "who",
	"platform_option",
}

// jobDictJSON is JobProjectSerializer, fields in its order.
type jobDictJSON struct {
	BuildArchitecture           string `json:"build_architecture"`
	BuildOS                     string `json:"build_os"`
	BuildPlatform               string `json:"build_platform"`
	BuildPlatformID             int64  `json:"build_platform_id"`
	BuildSystemType             string `json:"build_system_type"`
	EndTimestamp                int64  `json:"end_timestamp"`
	FailureClassificationID     int64  `json:"failure_classification_id"`
	ID                          int64  `json:"id"`
	JobGroupDescription         string `json:"job_group_description"`
	JobGroupID                  int64  `json:"job_group_id"`
	JobGroupName                string `json:"job_group_name"`
	JobGroupSymbol              string `json:"job_group_symbol"`
	JobGUID                     string `json:"job_guid"`
	JobTypeDescription          string `json:"job_type_description"`
	JobTypeID                   int64  `json:"job_type_id"`
	JobTypeName                 string `json:"job_type_name"`
	JobTypeSymbol               string `json:"job_type_symbol"`
	LastModified                string `json:"last_modified"`
	MachineName                 string `json:"machine_name"`
	MachinePlatformArchitecture string `json:"machine_platform_architecture"`
	MachinePlatformOS           string `json:"machine_platform_os"`
	OptionCollectionHash        string `json:"option_collection_hash"`
	Platform                    string `json:"platform"`
	PushID                      int64  `json:"push_id"`
	Reason                      string `json:"reason"`
	RefDataName                 string `json:"ref_data_name"`
	Result                      string `json:"result"`
	ResultSetID                 int64  `json:"result_set_id"`
	Signature                   string `json:"signature"`
	StartTimestamp              int64  `json:"start_timestamp"`
	State                       string `json:"state"`
	SubmitTimestamp             int64  `json:"submit_timestamp"`
	Tier                        int    `json:"tier"`
	Who                         string `json:"who"`
}

// jobListItemJSON is a project jobs list entry: the dict plus platform_option.
type jobListItemJSON struct {
	jobDictJSON
	PlatformOption string `json:"platform_option"`
}

func toJobDict(j *store.JobRecord) jobDictJSON {
	return jobDictJSON{
		BuildArchitecture: j.BuildPlatform.Architecture, BuildOS: j.BuildPlatform.OSName,
		BuildPlatform: j.BuildPlatform.Platform, BuildPlatformID: j.BuildPlatformID,
		BuildSystemType: j.BuildSystemType, EndTimestamp: j.EndTime, FailureClassificationID: j.FailureClass,
		ID: j.ID, JobGroupDescription: j.JobGroupDescription, JobGroupID: j.JobGroupID,
		JobGroupName: j.JobGroup.Name, JobGroupSymbol: j.JobGroup.Symbol, JobGUID: j.GUID,
		JobTypeDescription: j.JobTypeDescription, JobTypeID: j.JobTypeID, JobTypeName: j.JobType.Name,
		JobTypeSymbol: j.JobType.Symbol, LastModified: isoMicros(j.LastModified), MachineName: j.Machine,
		MachinePlatformArchitecture: j.MachinePlatform.Architecture, MachinePlatformOS: j.MachinePlatform.OSName,
		OptionCollectionHash: j.OptionCollection, Platform: j.MachinePlatform.Platform, PushID: j.PushID,
		Reason: j.Reason, RefDataName: j.ReferenceName, Result: j.Result, ResultSetID: j.PushID,
		Signature: j.Signature, StartTimestamp: j.StartTime, State: j.State, SubmitTimestamp: j.SubmitTime,
		Tier: j.Tier, Who: j.Who,
	}
}

// jobValues is the list form of a job: projectJobProperties' values.
func jobValues(j *store.JobRecord) []any {
	d := toJobDict(j)
	return []any{
		d.BuildArchitecture, d.BuildOS, d.BuildPlatform, d.BuildPlatformID, d.BuildSystemType,
		d.EndTimestamp, d.FailureClassificationID, d.ID, d.JobGroupDescription, d.JobGroupID,
		d.JobGroupName, d.JobGroupSymbol, d.JobGUID, d.JobTypeDescription, d.JobTypeID,
		d.JobTypeName, d.JobTypeSymbol, d.LastModified, d.MachineName, d.MachinePlatformArchitecture,
		d.MachinePlatformOS, d.OptionCollectionHash, d.Platform, d.PushID, d.Reason, d.RefDataName,
		d.Result, d.ResultSetID, d.Signature, d.StartTimestamp, d.State, d.SubmitTimestamp, d.Tier, d.Who,
		j.PlatformOption,
	}
}

type projectJobsMeta struct {
	Repository string `json:"repository"`
	Offset     int64  `json:"offset"`
	Count      int64  `json:"count"`
}

type projectJobsDictJSON struct {
	Results []jobListItemJSON `json:"results"`
	Meta    projectJobsMeta   `json:"meta"`
}

type projectJobsListJSON struct {
	Results          [][]any         `json:"results"`
	JobPropertyNames []string        `json:"job_property_names"`
	Meta             projectJobsMeta `json:"meta"`
}

func returnType(p *params) (string, error) {
	rt := strings.ToLower(p.get("return_type"))
	switch rt {
	case "":
		return "dict", nil
	case "dict", "list":
		return rt, nil
	}
	return "", badf("Invalid value for return_type: %q (want dict or list).", p.get("return_type"))
}

func offsetAndCount(p *params, defCount int64) (int64, int64, error) {
	offset, err := p.intParam("offset", 0, 0, math.MaxInt32)
	if err != nil {
		return 0, 0, err
	}
	if p.has("count") {
		n, err := strconv.ParseInt(strings.TrimSpace(p.get("count")), 10, 64)
		switch {
		case err != nil:
			return 0, 0, badf("Invalid value for offset or count")
		case n > maxProjectJobs:
			return 0, 0, badf("Specified count exceeds API MAX_JOBS_COUNT value: %d", maxProjectJobs)
		case n < 1:
			return 0, 0, badf("count must be at least 1")
		}
		return offset, n, nil
	}
	return offset, defCount, nil
}

func writeJobList(w http.ResponseWriter, jobs []store.JobRecord, rt string, m projectJobsMeta) error {
	if rt == "list" {
		out := projectJobsListJSON{Results: make([][]any, 0, len(jobs)), JobPropertyNames: projectJobProperties, Meta: m}
		for i := range jobs {
			out.Results = append(out.Results, jobValues(&jobs[i]))
		}
		return sendJSON(w, http.StatusOK, out)
	}
	out := projectJobsDictJSON{Results: make([]jobListItemJSON, 0, len(jobs)), Meta: m}
	for i := range jobs {
		out.Results = append(out.Results, jobListItemJSON{toJobDict(&jobs[i]), jobs[i].PlatformOption})
	}
	return sendJSON(w, http.StatusOK, out)
}

// projectJobs is the project-bound jobs list (JobsProjectViewSet.list).
func (a *readAPI) projectJobs(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	offset, count, err := offsetAndCount(p, 10)
	if err != nil {
		return err
	}
	rt, err := returnType(p)
	if err != nil {
		return err
	}
	repo, err := a.project(req)
	if err != nil {
		return err
	}
	conds, err := jobConds(p, true)
	if err != nil {
		return err
	}
	jobs, err := a.store.QueryJobs(req.Context(), store.JobQuery{RepositoryID: repo.ID, Conds: conds, Offset: int(offset), Limit: int(count)})
	if err != nil {
		return err
	}
	return writeJobList(w, jobs, rt, projectJobsMeta{Repository: repo.Name, Offset: offset, Count: count})
}

// jobFor resolves the {project} and {id} of a job path.
func (a *readAPI) jobFor(req bunrouter.Request) (model.Repository, int64, error) {
	repo, err := a.project(req)
	if err != nil {
		return repo, 0, err
	}
	id, err := pathID(req, "id", "Job")
	return repo, id, err
}

type logRefJSON struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

type taskRefJSON struct {
	TaskID  string `json:"task_id"`
	RetryID int    `json:"retry_id"`
}

// jobDetailJSON is JobsProjectViewSet.retrieve's response.
type jobDetailJSON struct {
	jobDictJSON
	ResourceURI         string       `json:"resource_uri"`
	Logs                []logRefJSON `json:"logs"`
	PlatformOption      string       `json:"platform_option,omitempty"`
	TaskID              *string      `json:"task_id,omitempty"`
	RetryID             *int         `json:"retry_id,omitempty"`
	TaskclusterMetadata *taskRefJSON `json:"taskcluster_metadata,omitempty"`
	AutoclassifyStatus  string       `json:"autoclassify_status"`
}

func (a *readAPI) jobDetail(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	repo, id, err := a.jobFor(req)
	if err != nil {
		return err
	}
	j, err := a.store.JobByID(req.Context(), repo.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFoundf("No job with id: %d", id)
	}
	if err != nil {
		return err
	}
	out := jobDetailJSON{
		jobDictJSON:    toJobDict(&j),
		ResourceURI:    "/api/project/" + repo.Name + "/jobs/" + strconv.FormatInt(j.ID, 10) + "/",
		Logs:           make([]logRefJSON, 0, len(j.Logs)),
		PlatformOption: j.PlatformOption,
		// herder does not run Treeherder's autoclassifier; every job is
		// reported in its initial state.
		AutoclassifyStatus: "pending",
	}
	for _, l := range j.Logs {
		out.Logs = append(out.Logs, logRefJSON{l.Name, l.URL})
	}
	if j.HasTaskMetadata {
		task, retry := j.TaskID, j.RetryID
		out.TaskID, out.RetryID = &task, &retry
		out.TaskclusterMetadata = &taskRefJSON{task, retry}
	}
	return sendJSON(w, http.StatusOK, out)
}

// jobExists checks a job of the repository exists, for the endpoints that
// list a job's rows.
func (a *readAPI) jobExists(req bunrouter.Request, repoID, id int64) error {
	n, err := a.store.CountJobs(req.Context(), store.JobQuery{RepositoryID: repoID,
		Conds: []store.JobCond{{Field: store.JobID, Op: store.OpEq, Values: []any{id}}}})
	if err != nil {
		return err
	}
	if n == 0 {
		return notFoundf("No job with id: %d", id)
	}
	return nil
}

type textLogErrorJSON struct {
	ID         int64  `json:"id"`
	Job        int64  `json:"job"`
	Line       string `json:"line"`
	LineNumber int64  `json:"line_number"`
	NewFailure bool   `json:"new_failure"`
}

func (a *readAPI) textLogErrors(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	repo, id, err := a.jobFor(req)
	if err != nil {
		return err
	}
	if err := a.jobExists(req, repo.ID, id); err != nil {
		return err
	}
	list, err := a.store.TextLogErrors(req.Context(), id)
	if err != nil {
		return err
	}
	out := make([]textLogErrorJSON, 0, len(list))
	for _, e := range list {
		out = append(out, textLogErrorJSON{e.ID, e.JobID, e.Line, e.LineNumber, e.NewFailure})
	}
	return sendJSON(w, http.StatusOK, out)
}

func (a *readAPI) bugSuggestions(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	repo, id, err := a.jobFor(req)
	if err != nil {
		return err
	}
	if err := a.jobExists(req, repo.ID, id); err != nil {
		return err
	}
	// Stored by the bug matcher when the job's log was parsed; a job not
	// matched (yet) has none.
	sugs, err := a.store.BugSuggestions(req.Context(), id)
	if err != nil {
		return err
	}
	if sugs == nil {
		sugs = []store.BugSuggestion{}
	}
	return sendJSON(w, http.StatusOK, sugs)
}

type similarJobsMeta struct {
	Offset     int64  `json:"offset"`
	Count      int64  `json:"count"`
	Repository string `json:"repository"`
}

// similarJobs lists jobs of the same job type, newest push first.
func (a *readAPI) similarJobs(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	repo, id, err := a.jobFor(req)
	if err != nil {
		return err
	}
	offset, count, err := offsetAndCount(p, similarJobsSize)
	if err != nil {
		return err
	}
	rt, err := returnType(p)
	if err != nil {
		return err
	}
	ref, err := a.store.QueryJobs(req.Context(), store.JobQuery{RepositoryID: repo.ID,
		Conds: []store.JobCond{{Field: store.JobID, Op: store.OpEq, Values: []any{id}}}})
	if err != nil {
		return err
	}
	if len(ref) == 0 {
		return notFoundf("No job with id: %d", id)
	}
	conds, err := jobConds(p, false)
	if err != nil {
		return err
	}
	conds = append(conds,
		store.JobCond{Field: store.JobTypeID, Op: store.OpEq, Values: []any{ref[0].JobTypeID}},
		store.JobCond{Field: store.JobID, Op: store.OpNe, Values: []any{id}})
	if p.has("nosuccess") {
		conds = append(conds, store.JobCond{Field: store.JobResult, Op: store.OpNe, Values: []any{"success"}})
	}
	jobs, err := a.store.QueryJobs(req.Context(), store.JobQuery{RepositoryID: repo.ID, Conds: conds,
		Order: store.OrderNewestPush, Offset: int(offset), Limit: int(count)})
	if err != nil {
		return err
	}
	meta := similarJobsMeta{Offset: offset, Count: count, Repository: repo.Name}
	if rt == "list" {
		out := struct {
			Results          [][]any         `json:"results"`
			JobPropertyNames []string        `json:"job_property_names"`
			Meta             similarJobsMeta `json:"meta"`
		}{Results: make([][]any, 0, len(jobs)), JobPropertyNames: projectJobProperties, Meta: meta}
		for i := range jobs {
			out.Results = append(out.Results, jobValues(&jobs[i]))
		}
		return sendJSON(w, http.StatusOK, out)
	}
	out := struct {
		Results []jobListItemJSON `json:"results"`
		Meta    similarJobsMeta   `json:"meta"`
	}{Results: make([]jobListItemJSON, 0, len(jobs)), Meta: meta}
	for i := range jobs {
		out.Results = append(out.Results, jobListItemJSON{toJobDict(&jobs[i]), jobs[i].PlatformOption})
	}
	return sendJSON(w, http.StatusOK, out)
}
