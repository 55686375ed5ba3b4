package server

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/uptrace/bunrouter"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
)

// commitJSON is Treeherder's CommitSerializer.
type commitJSON struct {
	ResultSetID  int64  `json:"result_set_id"`
	RepositoryID int64  `json:"repository_id"`
	Revision     string `json:"revision"`
	Author       string `json:"author"`
	Comments     string `json:"comments"`
}

// pushJSON is Treeherder's PushSerializer.
type pushJSON struct {
	ID            int64        `json:"id"`
	Revision      string       `json:"revision"`
	Author        string       `json:"author"`
	Branch        *string      `json:"branch"`
	Revisions     []commitJSON `json:"revisions"`
	RevisionCount int          `json:"revision_count"`
	PushTimestamp int64        `json:"push_timestamp"`
	RepositoryID  int64        `json:"repository_id"`
}

func toPushJSON(p store.PushRecord) pushJSON {
	out := pushJSON{
		ID: p.ID, Revision: p.Revision, Author: p.Author, RevisionCount: p.RevisionCount,
		PushTimestamp: p.Time, RepositoryID: p.RepositoryID, Revisions: make([]commitJSON, 0, len(p.Commits)),
	}
	if p.Branch != "" {
		b := p.Branch
		out.Branch = &b
	}
	for _, c := range p.Commits {
		out.Revisions = append(out.Revisions, commitJSON{p.ID, p.RepositoryID, c.Revision, c.Author, c.Comments})
	}
	return out
}

type pushListJSON struct {
	Meta    object     `json:"meta"`
	Results []pushJSON `json:"results"`
}

const (
	maxPushCount   = 1000
	maxSearchCount = 200
)

// pushRangeParams are taken out of filter_params into meta, in this order.
var pushRangeParams = []string{"fromchange", "tochange", "startdate", "enddate", "revision", "commit_revision"}

// pushList is Treeherder's PushViewSet.list.
func (a *readAPI) pushList(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	ctx := req.Context()
	repo, err := a.project(req)
	if err != nil {
		return err
	}
	q := store.PushQuery{RepositoryID: repo.ID}
	allRepos := p.get("all_repos") != ""
	if allRepos {
		q.RepositoryID = 0
	}
	filterParams := object{}
	isRange := map[string]bool{}
	for _, k := range pushRangeParams {
		if p.get(k) != "" {
			isRange[k] = true
		}
	}
	for _, k := range p.keys {
		if !isRange[k] {
			filterParams = append(filterParams, member{k, p.get(k)})
		}
	}
	meta := object{}
	for _, param := range pushRangeParams {
		v := p.get(param)
		if v == "" {
			continue
		}
		meta = append(meta, member{param, v})
		switch param {
		case "fromchange", "tochange":
			t, err := a.store.PushTime(ctx, repo.ID, v)
			if errors.Is(err, store.ErrNotFound) {
				return notFoundf("No push with revision: %s", v)
			}
			if err != nil {
				return err
			}
			if param == "fromchange" {
				q.Time = append(q.Time, store.IntCond{Op: store.OpGte, Value: t})
				filterParams = filterParams.set("push_timestamp__gte", t)
			} else {
				q.Time = append(q.Time, store.IntCond{Op: store.OpLte, Value: t})
				filterParams = filterParams.set("push_timestamp__lte", t)
			}
		case "startdate":
			day, err := parseDay(param, v)
			if err != nil {
				return err
			}
			q.Time = append(q.Time, store.IntCond{Op: store.OpGte, Value: day.Unix()})
			filterParams = filterParams.set("push_timestamp__gte", day.Unix())
		case "enddate":
			day, err := parseDay(param, v)
			if err != nil {
				return err
			}
			// Treeherder's end date is inclusive: up to the next midnight.
			end := day.Unix() + 86400
			q.Time = append(q.Time, store.IntCond{Op: store.OpLte, Value: end})
			filterParams = filterParams.set("push_timestamp__lt", end)
		case "revision":
			q.Revision = v
			key := "revisions_short_revision"
			if len(v) == 40 {
				key = "revisions_long_revision"
			}
			filterParams = filterParams.set(key, v)
		case "commit_revision":
			if len(v) < 40 {
				return badf("commit_revision must be a 40 character hash")
			}
			q.CommitRevision = v
		}
	}
	for _, op := range []struct {
		suffix string
		op     store.Op
	}{{"lt", store.OpLt}, {"lte", store.OpLte}, {"gt", store.OpGt}, {"gte", store.OpGte}} {
		key := "push_timestamp__" + op.suffix
		if !p.has(key) || p.get(key) == "" {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(p.get(key)), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
			return badf("Invalid timestamp specified for %s", key)
		}
		// Push times are whole seconds: round the bound to keep its meaning.
		v := int64(math.Ceil(f))
		if op.op == store.OpGt || op.op == store.OpLte {
			v = int64(math.Floor(f))
		}
		q.Time = append(q.Time, store.IntCond{Op: op.op, Value: v})
	}
	for _, op := range []struct {
		key string
		op  store.Op
	}{{"id__lt", store.OpLt}, {"id__lte", store.OpLte}, {"id__gt", store.OpGt}, {"id__gte", store.OpGte}, {"id", store.OpEq}} {
		v, err := p.intParam(op.key, 0, math.MinInt64, math.MaxInt64)
		if err != nil {
			return err
		}
		if v != 0 {
			q.ID = append(q.ID, store.IntCond{Op: op.op, Value: v})
		}
	}
	if v := p.get("id__in"); v != "" {
		ids, err := intList("id__in", v)
		if err != nil {
			return badf("Invalid id__in specification")
		}
		q.IDIn = append([]int64{}, ids...)
	}
	if author := p.get("author"); author != "" {
		if rest, ok := strings.CutPrefix(author, "-"); ok {
			q.Author, q.ExcludeAuthor = rest, true
		} else {
			q.Author = author
		}
	}
	q.AuthorContains = p.get("author_contains")
	q.HideReviewbot = p.get("hide_reviewbot_pushes") == "true"
	q.Search = p.get("search")

	count := int64(10)
	if p.has("count") {
		n, err := strconv.ParseInt(strings.TrimSpace(p.get("count")), 10, 64)
		switch {
		case err != nil:
			return badf("Valid count value required")
		case n > maxPushCount:
			return badf("Specified count exceeds api limit: %d", maxPushCount)
		case n < 1:
			return badf("count must be at least 1")
		}
		count = n
	}
	q.Limit = int(count)
	if q.Search != "" && q.Limit > maxSearchCount {
		q.Limit = maxSearchCount
	}
	gen := a.cache.generation()
	pushes, err := a.store.QueryPushes(ctx, q)
	if err != nil {
		return err
	}
	// The UI (which asks with full=true) follows a push list with the
	// status of every push in it: answer those with one query now.
	if p.get("full") == "true" && !allRepos {
		a.prefetchStatus(req, pushes, gen)
	}
	out := pushListJSON{Results: make([]pushJSON, 0, len(pushes))}
	for _, push := range pushes {
		out.Results = append(out.Results, toPushJSON(push))
	}
	repoName := repo.Name
	if allRepos {
		repoName = "all"
	}
	out.Meta = append(meta, member{"count", len(pushes)}, member{"repository", repoName}, member{"filter_params", filterParams})
	return sendJSON(w, http.StatusOK, out)
}

// prefetchStatus counts the jobs of the listed pushes in one query and
// caches each push's status/ answer, which the client asks for next.
func (a *readAPI) prefetchStatus(req bunrouter.Request, pushes []store.PushRecord, gen uint64) {
	if !a.cache.enabled() || len(pushes) == 0 || len(pushes) > maxPrefetchStatus {
		return
	}
	keys := make(map[int64]string, len(pushes))
	var ids []int64
	for _, push := range pushes {
		// The key the status request has: this path plus "{id}/status/".
		key := pathKey(req.URL.Path+strconv.FormatInt(push.ID, 10)+"/status/", "")
		if a.cache.fresh(key) == nil {
			keys[push.ID] = key
			ids = append(ids, push.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	// The pushes were just listed from this repository: 0 skips the
	// repository check, which would cost MySQL a temporary table.
	counts, err := a.store.PushStatus(req.Context(), 0, ids)
	if err != nil {
		// The status requests will ask again, one by one.
		if !errors.Is(err, context.Canceled) {
			a.log.Warn("prefetch push status", "error", err)
		}
		return
	}
	now := a.cache.now()
	for _, id := range ids {
		body, err := marshal(statusObject(counts[id]))
		if err != nil {
			return
		}
		a.cache.put(keys[id], newCachedBody(body, http.Header{}, a.cache.ttl, now), gen)
	}
}

// maxPrefetchStatus bounds the pushes whose status a list prefetches; the
// UI lists 10 at a time (50 at most).
const maxPrefetchStatus = 100

func (a *readAPI) pushFor(req bunrouter.Request) (store.PushRecord, error) {
	repo, err := a.project(req)
	if err != nil {
		return store.PushRecord{}, err
	}
	id, err := pathID(req, "id", "Push")
	if err != nil {
		return store.PushRecord{}, err
	}
	push, err := a.store.PushByID(req.Context(), repo.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.PushRecord{}, notFoundf("No push with id: %d", id)
	}
	return push, err
}

func (a *readAPI) pushDetail(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	push, err := a.pushFor(req)
	if err != nil {
		return err
	}
	return sendJSON(w, http.StatusOK, toPushJSON(push))
}

// statusObject is Push.get_status: counts by state, completed jobs also by
// result, and "coalesced" repeating "superseded" for older clients.
func statusObject(counts []store.StateCount) object {
	out := object{{"completed", int64(0)}, {"pending", int64(0)}, {"running", int64(0)}}
	get := func(k string) int64 {
		for _, m := range out {
			if m.Key == k {
				return m.Value.(int64)
			}
		}
		return 0
	}
	for _, c := range counts {
		if c.State == "completed" {
			out = out.set(c.Result, get(c.Result)+c.Count)
			out = out.set("completed", get("completed")+c.Count)
		} else {
			out = out.set(c.State, get(c.State)+c.Count)
		}
	}
	for _, m := range out {
		if m.Key == "superseded" {
			out = out.set("coalesced", m.Value)
			break
		}
	}
	return out
}

func (a *readAPI) pushStatus(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	repo, err := a.project(req)
	if err != nil {
		return err
	}
	id, err := pathID(req, "id", "Push")
	if err != nil {
		return err
	}
	// The UI asks for the status of every push it shows: one query answers
	// for a push with jobs; only an empty answer needs a look at the push.
	counts, err := a.store.PushStatus(req.Context(), repo.ID, []int64{id})
	if err != nil {
		return err
	}
	if len(counts[id]) == 0 {
		ok, err := a.store.PushExists(req.Context(), repo.ID, id)
		if err != nil {
			return err
		}
		if !ok {
			return notFoundf("No push with id: %d", id)
		}
	}
	return sendJSON(w, http.StatusOK, statusObject(counts[id]))
}

type metricJSON struct {
	Name   string `json:"name"`
	Result string `json:"result"`
}

type healthMetricsJSON struct {
	Linting metricJSON `json:"linting"`
	Tests   metricJSON `json:"tests"`
	Builds  metricJSON `json:"builds"`
}

// healthSummaryJSON is one push of push/health_summary/.
type healthSummaryJSON struct {
	Revision               string            `json:"revision"`
	Repository             string            `json:"repository"`
	TestFailureCount       int               `json:"testFailureCount"`
	TestInProgressCount    int               `json:"testInProgressCount"`
	BuildFailureCount      int               `json:"buildFailureCount"`
	BuildInProgressCount   int               `json:"buildInProgressCount"`
	LintFailureCount       int               `json:"lintFailureCount"`
	LintingInProgressCount int               `json:"lintingInProgressCount"`
	NeedInvestigation      int               `json:"needInvestigation"`
	Status                 object            `json:"status"`
	History                []pushJSON        `json:"history"`
	Metrics                healthMetricsJSON `json:"metrics"`
}

// healthKind sorts a job into Push Health's categories by its name.
func healthKind(j store.JobRecord) string {
	name := strings.ToLower(j.JobType.Name)
	switch {
	case strings.Contains(name, "lint") || strings.EqualFold(j.JobGroup.Symbol, "lint"):
		return "lint"
	case strings.HasPrefix(name, "build") || strings.Contains(name, "-build-") || j.JobType.Symbol == "B":
		return "build"
	}
	return "test"
}

// needsInvestigation: a failed tier 1-2 job nobody has classified.
func needsInvestigation(j store.JobRecord) bool {
	failed := j.Result == "testfailed" || j.Result == "busted" || j.Result == "exception"
	unclassified := j.FailureClass == model.FCNotClassified || j.FailureClass == model.FCNewFailure
	return failed && unclassified && j.Tier <= 2 && j.State == "completed"
}

func healthResult(failures, inProgress int) string {
	switch {
	case failures > 0:
		return "fail"
	case inProgress > 0:
		return "indeterminate"
	}
	return "pass"
}

// pushHealthSummary is a simplified push/health_summary/: it counts failed,
// unclassified tier 1-2 jobs per category instead of grouping test failures
// by test name (herder does not keep Push Health's per-test records).
func (a *readAPI) pushHealthSummary(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	ctx := req.Context()
	repo, err := a.project(req)
	if err != nil {
		return err
	}
	var pushes []store.PushRecord
	if revs := p.get("revision"); revs != "" {
		for _, r := range strings.Split(revs, ",") {
			if r = strings.TrimSpace(r); r == "" {
				continue
			}
			found, err := a.store.QueryPushes(ctx, store.PushQuery{RepositoryID: repo.ID, Revision: r, Limit: 1})
			if err != nil {
				return err
			}
			if len(found) == 0 || (len(r) == 40 && found[0].Revision != r) {
				return notFoundf("No push with revision: %s", r)
			}
			pushes = append(pushes, found...)
		}
	} else {
		author := p.get("author")
		if author == "" {
			return badf("Either revision or author is required.")
		}
		count, err := p.intParam("count", 10, 1, 100)
		if err != nil {
			return err
		}
		q := store.PushQuery{RepositoryID: repo.ID, Author: author, Limit: int(count)}
		if p.get("all_repos") != "" {
			q.RepositoryID = 0
		}
		if pushes, err = a.store.QueryPushes(ctx, q); err != nil {
			return err
		}
	}
	withHistory := p.get("with_history") != "" && p.get("with_history") != "false"
	out := make([]healthSummaryJSON, 0, len(pushes))
	for _, push := range pushes {
		jobs, err := a.store.QueryJobs(ctx, store.JobQuery{Conds: []store.JobCond{{Field: store.JobPushID, Op: store.OpEq, Values: []any{push.ID}}}})
		if err != nil {
			return err
		}
		failures, running := map[string]int{}, map[string]int{}
		var counts []store.StateCount
		seen := map[[2]string]int{}
		for _, j := range jobs {
			kind := healthKind(j)
			if needsInvestigation(j) {
				failures[kind]++
			}
			if j.State == "pending" || j.State == "running" {
				running[kind]++
			}
			if j.Tier != 3 && j.FailureClass == model.FCNotClassified {
				k := [2]string{j.State, j.Result}
				if i, ok := seen[k]; ok {
					counts[i].Count++
				} else {
					seen[k] = len(counts)
					counts = append(counts, store.StateCount{State: j.State, Result: j.Result, Count: 1})
				}
			}
		}
		repoName := repo.Name
		if push.RepositoryID != repo.ID {
			if r, ok := a.repoByID(push.RepositoryID); ok {
				repoName = r
			}
		}
		h := healthSummaryJSON{
			Revision: push.Revision, Repository: repoName,
			TestFailureCount: failures["test"], TestInProgressCount: running["test"],
			BuildFailureCount: failures["build"], BuildInProgressCount: running["build"],
			LintFailureCount: failures["lint"], LintingInProgressCount: running["lint"],
			NeedInvestigation: failures["test"] + failures["build"] + failures["lint"],
			Status:            statusObject(sortCounts(counts)),
			Metrics: healthMetricsJSON{
				Linting: metricJSON{"Linting", healthResult(failures["lint"], running["lint"])},
				Tests:   metricJSON{"Tests", healthResult(failures["test"], running["test"])},
				Builds:  metricJSON{"Builds", healthResult(failures["build"], running["build"])},
			},
		}
		if withHistory {
			h.History = []pushJSON{toPushJSON(push)}
		}
		out = append(out, h)
	}
	return sendJSON(w, http.StatusOK, out)
}

// sortCounts orders counts by state then result, as the store does.
func sortCounts(c []store.StateCount) []store.StateCount {
	for i := 1; i < len(c); i++ {
		for k := i; k > 0 && (c[k].State < c[k-1].State || c[k].State == c[k-1].State && c[k].Result < c[k-1].Result); k-- {
			c[k], c[k-1] = c[k-1], c[k]
		}
	}
	return c
}

func (a *readAPI) repoByID(id int64) (string, bool) {
	a.reposMu.Lock()
	defer a.reposMu.Unlock()
	for name, r := range a.repos {
		if r.ID == id {
			return name, true
		}
	}
	return "", false
}
