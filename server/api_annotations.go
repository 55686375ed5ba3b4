package server

import (
	"errors"
	"net/http"

	"github.com/uptrace/bunrouter"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
)

// jobLogJSON is Treeherder's JobLogUrlViewSet._log_as_dict.
type jobLogJSON struct {
	ID          int64  `json:"id"`
	JobID       int64  `json:"job_id"`
	Name        string `json:"name"`
	URL         string `json:"url"`
	ParseStatus string `json:"parse_status"`
}

func toJobLogJSON(l model.JobLog) jobLogJSON {
	status, ok := model.LogStatusNames[l.Status]
	if !ok {
		status = "pending"
	}
	return jobLogJSON{l.ID, l.JobID, l.Name, l.URL, status}
}

// jobIDParams reads the repeatable job_id parameter.
func jobIDParams(p *params) ([]int64, error) {
	ids, err := p.ints("job_id")
	if err != nil {
		return nil, badf("The job_id parameter(s) must be integers")
	}
	if len(ids) == 0 {
		return nil, badf("The job_id parameter is mandatory for this endpoint")
	}
	if len(ids) > 2000 {
		return nil, badf("At most 2000 job_id values per request.")
	}
	return ids, nil
}

func (a *readAPI) jobLogURLs(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	repo, err := a.project(req)
	if err != nil {
		return err
	}
	ids, err := jobIDParams(p)
	if err != nil {
		return err
	}
	logs, err := a.store.JobLogs(req.Context(), repo.ID, ids)
	if err != nil {
		return err
	}
	out := make([]jobLogJSON, 0, len(logs))
	for _, l := range logs {
		out = append(out, toJobLogJSON(l))
	}
	return sendJSON(w, http.StatusOK, out)
}

func (a *readAPI) jobLogURL(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	repo, err := a.project(req)
	if err != nil {
		return err
	}
	id, err := pathID(req, "id", "Job log")
	if err != nil {
		return err
	}
	l, err := a.store.JobLogByID(req.Context(), repo.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFoundf("No job log with id: %d", id)
	}
	if err != nil {
		return err
	}
	return sendJSON(w, http.StatusOK, toJobLogJSON(l))
}

// noteJSON is Treeherder's JobNoteSerializer.
type noteJSON struct {
	ID                      int64  `json:"id"`
	JobID                   int64  `json:"job_id"`
	FailureClassificationID int64  `json:"failure_classification_id"`
	Created                 string `json:"created"`
	Who                     string `json:"who"`
	Text                    string `json:"text"`
}

func (a *readAPI) notes(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	repo, err := a.project(req)
	if err != nil {
		return err
	}
	id, err := p.intParam("job_id", 0, 1, 1<<62)
	if err != nil {
		return badf("The job_id parameter must be an integer")
	}
	if err := a.jobExists(req, repo.ID, id); err != nil {
		return err
	}
	list, err := a.store.JobNotes(req.Context(), []int64{id})
	if err != nil {
		return err
	}
	out := make([]noteJSON, 0, len(list))
	for _, n := range list {
		out = append(out, noteJSON{n.ID, n.JobID, n.FailureClassificationID, isoSeconds(n.Created), n.Who, n.Text})
	}
	return sendJSON(w, http.StatusOK, out)
}

// bugJobMapJSON is Treeherder's BugJobMapSerializer.
type bugJobMapJSON struct {
	JobID         int64  `json:"job_id"`
	BugID         *int64 `json:"bug_id"`
	BugInternalID int64  `json:"bug_internal_id"`
	Created       string `json:"created"`
	Who           string `json:"who"`
}

func (a *readAPI) bugJobMap(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	repo, err := a.project(req)
	if err != nil {
		return err
	}
	ids, err := p.ints("job_id")
	if err != nil {
		return badf("Valid job_id required")
	}
	if len(ids) == 0 {
		return badf("At least one job_id is required")
	}
	if len(ids) > 2000 {
		return badf("At most 2000 job_id values per request.")
	}
	// Only the repository's jobs count, as Treeherder filters them first.
	list, err := a.store.RepositoryBugJobMaps(req.Context(), repo.ID, ids)
	if err != nil {
		return err
	}
	out := make([]bugJobMapJSON, 0, len(list))
	for _, m := range list {
		out = append(out, bugJobMapJSON{m.JobID, m.BugID, m.BugInternalID, isoSeconds(m.Created), m.Who})
	}
	return sendJSON(w, http.StatusOK, out)
}
