package server

import (
	"net/http"
	"strconv"

	"github.com/uptrace/bunrouter"

	"github.com/herder-ci/herder/core/model"
)

// repositoryJSON is Treeherder's repository shape, fields in its order.
type repositoryJSON struct {
	ID              int64 `json:"id"`
	RepositoryGroup struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"repository_group"`
	Name                     string `json:"name"`
	DVCSType                 string `json:"dvcs_type"`
	URL                      string `json:"url"`
	Branch                   any    `json:"branch"`
	Codebase                 string `json:"codebase"`
	Description              string `json:"description"`
	ActiveStatus             string `json:"active_status"`
	LifeCycleOrder           *int   `json:"life_cycle_order"`
	PerformanceAlertsEnabled bool   `json:"performance_alerts_enabled"`
	ExpirePerformanceData    bool   `json:"expire_performance_data"`
	IsTryRepo                bool   `json:"is_try_repo"`
	TCRootURL                string `json:"tc_root_url"`
	AcceptsPullRequests      bool   `json:"accepts_pull_requests"`
}

func toRepositoryJSON(r model.Repository) repositoryJSON {
	out := repositoryJSON{
		ID: r.ID, Name: r.Name, DVCSType: r.DVCSType, URL: r.URL, Codebase: r.Codebase,
		Description: r.Description, ActiveStatus: r.ActiveStatus, LifeCycleOrder: r.LifeCycleOrder,
		PerformanceAlertsEnabled: r.PerformanceAlertsEnabled, ExpirePerformanceData: r.ExpirePerformanceData,
		IsTryRepo: r.IsTryRepo, TCRootURL: r.TCRootURL, AcceptsPullRequests: r.AcceptsPullRequests,
	}
	out.RepositoryGroup.Name = r.Group.Name
	out.RepositoryGroup.Description = r.Group.Description
	return out
}

// listRepositories serves the active repositories, as Treeherder does.
func (s *Server) listRepositories(w http.ResponseWriter, req bunrouter.Request) error {
	repos, err := s.store.Repositories(req.Context())
	if err != nil {
		return err
	}
	out := make([]repositoryJSON, 0, len(repos))
	for _, r := range repos {
		if r.ActiveStatus == "active" {
			out = append(out, toRepositoryJSON(r))
		}
	}
	return sendCached(w, req.Request, out)
}

func (s *Server) getRepository(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := strconv.ParseInt(req.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return writeError(w, http.StatusBadRequest, "Repository id must be a positive integer.")
	}
	repos, err := s.store.Repositories(req.Context())
	if err != nil {
		return err
	}
	for _, r := range repos {
		if r.ID == id && r.ActiveStatus == "active" {
			return writeJSON(w, http.StatusOK, toRepositoryJSON(r))
		}
	}
	return writeError(w, http.StatusNotFound, "No repository with id "+req.Param("id")+".")
}

func (s *Server) listFailureClassifications(w http.ResponseWriter, req bunrouter.Request) error {
	fcs, err := s.store.FailureClassifications(req.Context())
	if err != nil {
		return err
	}
	type fcJSON struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	out := make([]fcJSON, 0, len(fcs))
	for _, fc := range fcs {
		out = append(out, fcJSON{fc.ID, fc.Name})
	}
	return sendCached(w, req.Request, out)
}
