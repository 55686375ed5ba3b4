package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/uptrace/bunrouter"

	"github.com/herder-ci/herder/core/store"
)

// repoGroups are Treeherder's REPO_GROUPS (treeherder/webapp/api/utils.py):
// trunk is mozilla-central, mozilla-inbound and autoland.
var repoGroups = map[string][]int64{
	"trunk":            {1, 2, 77},
	"firefox-releases": {6, 7},
	"comm-releases":    {38},
}

// failureQuery validates the intermittent views' parameters, as
// FailuresQueryParamsSerializer does.
func (a *readAPI) failureQuery(ctx context.Context, p *params, requireBug bool) (store.FailureQuery, error) {
	var q store.FailureQuery
	var problems []string
	start, errStart := parseDay("startday", p.get("startday"))
	end, errEnd := parseDay("endday", p.get("endday"))
	for _, f := range []struct {
		name string
		err  error
	}{{"startday", errStart}, {"endday", errEnd}} {
		switch {
		case p.get(f.name) == "":
			problems = append(problems, f.name+": This field is required.")
		case f.err != nil:
			problems = append(problems, f.name+": Date has wrong format. Use YYYY-MM-DD.")
		}
	}
	tree := p.get("tree")
	switch {
	case tree == "":
		problems = append(problems, "tree: This field is required.")
	case tree == "all":
	case repoGroups[tree] != nil:
		q.RepositoryIDs = repoGroups[tree]
	default:
		repo, err := a.repository(ctx, tree)
		if err != nil {
			if _, ok := err.(*notFoundError); !ok {
				return q, err
			}
			problems = append(problems, "tree: "+tree+" does not exist.")
		} else {
			q.RepositoryIDs = []int64{repo.ID}
		}
	}
	if v := p.get("bug"); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			problems = append(problems, "bug: A valid integer is required.")
		} else {
			q.BugID = &n
		}
	} else if requireBug {
		problems = append(problems, "bug: This field is required.")
	}
	if len(problems) > 0 {
		return q, badf("%s", strings.Join(problems, " "))
	}
	// endday is inclusive: get_end_of_day is its last microsecond.
	q.From, q.To = start.Unix(), end.Unix()+86400
	return q, nil
}

type bugCountJSON struct {
	BugID    *int64 `json:"bug_id"`
	BugCount int64  `json:"bug_count"`
}

func (a *readAPI) failures(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	q, err := a.failureQuery(req.Context(), p, false)
	if err != nil {
		return err
	}
	q.BugID = nil // Treeherder's failures view ignores bug
	list, err := a.store.FailureCountsByBug(req.Context(), q)
	if err != nil {
		return err
	}
	out := make([]bugCountJSON, 0, len(list))
	for _, c := range list {
		out = append(out, bugCountJSON{c.BugID, c.Count})
	}
	return sendJSON(w, http.StatusOK, out)
}

// failureByBugJSON is Treeherder's FailuresByBugSerializer.
type failureByBugJSON struct {
	PushTime    string   `json:"push_time"`
	Platform    string   `json:"platform"`
	Revision    string   `json:"revision"`
	TestSuite   string   `json:"test_suite"`
	Tree        string   `json:"tree"`
	BuildType   string   `json:"build_type"`
	JobID       int64    `json:"job_id"`
	BugID       *int64   `json:"bug_id"`
	MachineName string   `json:"machine_name"`
	Lines       []string `json:"lines"`
	TaskID      string   `json:"task_id"`
}

func (a *readAPI) failuresByBug(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	q, err := a.failureQuery(req.Context(), p, true)
	if err != nil {
		return err
	}
	list, err := a.store.FailuresByBug(req.Context(), q)
	if err != nil {
		return err
	}
	out := make([]failureByBugJSON, 0, len(list))
	for _, f := range list {
		out = append(out, failureByBugJSON{
			PushTime: pyDatetime(f.PushTime), Platform: f.Platform, Revision: f.Revision, TestSuite: f.TestSuite,
			Tree: f.Tree, BuildType: f.BuildType, JobID: f.JobID, BugID: f.BugID, MachineName: f.MachineName,
			Lines: f.Lines, TaskID: f.TaskID,
		})
	}
	return sendJSON(w, http.StatusOK, out)
}

type failureCountJSON struct {
	Date         string `json:"date"`
	TestRuns     int64  `json:"test_runs"`
	FailureCount int64  `json:"failure_count"`
}

func (a *readAPI) failureCount(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	q, err := a.failureQuery(req.Context(), p, false)
	if err != nil {
		return err
	}
	list, err := a.store.FailureCounts(req.Context(), q)
	if err != nil {
		return err
	}
	out := make([]failureCountJSON, 0, len(list))
	for _, d := range list {
		out = append(out, failureCountJSON{d.Day, d.TestRuns, d.FailureCount})
	}
	return sendJSON(w, http.StatusOK, out)
}
