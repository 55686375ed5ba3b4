package bugs

import (
	"context"
	"strings"
	"unicode"

	"github.com/herder-ci/herder/core/store"
)

// IntermittentStore is what the intermittent check needs of storage.
type IntermittentStore interface {
	IntermittentJob(ctx context.Context, jobID int64) (store.IntermittentJob, error)
	RecentPushIDs(ctx context.Context, repositoryID, since int64) ([]int64, error)
	GroupRows(ctx context.Context, repositoryID, minPush, maxPush int64, prefix string) ([]store.GroupRow, error)
	InfraJobs(ctx context.Context, repositoryID, minPush, maxPush int64, jobType string) ([]store.InfraJob, error)
	ApplyIntermittent(ctx context.Context, classify, unclassify []int64) error
}

// Group statuses (Treeherder's GroupStatus).
const (
	groupOK    = 1
	groupError = 2
)

// Intermittents marks failed jobs whose failing test groups pass elsewhere
// as intermittent (classification 8), Treeherder's check_and_mark_intermittent,
// and takes the mark back when new results say otherwise.
type Intermittents struct {
	Store IntermittentStore
}

// IntermittentReport says what a check changed.
type IntermittentReport struct {
	Pushes     []int64
	Classify   []int64
	Unclassify []int64
}

// CheckJob runs after a job's group results were stored. It compares the
// OK/ERROR results of the same job type (chunk number and "-cf" ignored) on
// this push and the 3 pushes before it within 36 hours (20 on autoland, none
// on try): a failed job whose failing groups pass at least half the time
// becomes 8; a job marked 8 whose failures now look real goes back to 6 or 1.
func (c *Intermittents) CheckJob(ctx context.Context, jobID int64) (IntermittentReport, error) {
	var rep IntermittentReport
	cur, err := c.Store.IntermittentJob(ctx, jobID)
	if err != nil {
		return rep, err
	}
	ids := []int64{cur.PushID}
	if cur.Repository != "try" {
		recent, err := c.Store.RecentPushIDs(ctx, cur.RepositoryID, cur.PushTime-36*3600)
		if err != nil {
			return rep, err
		}
		limit := 3
		if cur.Repository == "autoland" {
			limit = 20
		}
		counter := -1
		for _, id := range recent {
			if id == cur.PushID {
				counter = 0
				continue
			}
			if counter < 0 {
				continue
			}
			if counter >= limit {
				break
			}
			ids = append(ids, id)
			counter++
		}
	}
	rep.Pushes = ids
	jtname := baseJobType(cur.JobTypeName)
	oldest, newest := ids[len(ids)-1], ids[0]
	rows, err := c.Store.GroupRows(ctx, cur.RepositoryID, oldest, newest, jtname)
	if err != nil {
		return rep, err
	}
	infraFrom := oldest
	if cur.Result != "success" {
		// A broken job is only compared with its own push: otherwise it
		// could be a new failure.
		infraFrom, newest = cur.PushID, cur.PushID
	}
	infra, err := c.Store.InfraJobs(ctx, cur.RepositoryID, infraFrom, newest, cur.JobTypeName)
	if err != nil {
		return rep, err
	}
	rep.Classify, rep.Unclassify = decideIntermittent(cur, ids, jtname, rows, infra)
	return rep, c.Store.ApplyIntermittent(ctx, rep.Classify, rep.Unclassify)
}

// baseJobType strips "-cf" characters and a trailing chunk number:
// Treeherder's name.strip("-cf") removes any of '-', 'c', 'f' at both ends,
// then "-<int>" goes if the last dash-separated part parses as an int.
func baseJobType(name string) string {
	n := strings.Trim(name, "-cf")
	parts := strings.Split(n, "-")
	if pyIsInt(parts[len(parts)-1]) {
		n = strings.Join(parts[:len(parts)-1], "-")
	}
	return n
}

// pyIsInt is whether Python's int() accepts s: optional spaces and sign,
// then digits (any script's), with single underscores between digits.
func pyIsInt(s string) bool {
	s = strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) })
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	prevDigit := false
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Nd, r):
			prevDigit = true
		case r == '_' && prevDigit:
			prevDigit = false
		default:
			return false
		}
	}
	return prevDigit
}

type pushGroups struct {
	push   int64
	groups map[string]map[int64]int // group -> job -> status
	jobs   map[int64]map[string]int // job -> group -> status
	order  []int64                  // jobs in first-seen order
	gorder []string                 // groups in first-seen order
}

// decideIntermittent is the decision of check_and_mark_intermittent over
// the rows the store returned: which jobs to classify 8 and which to take
// back.
func decideIntermittent(cur store.IntermittentJob, ids []int64, jtname string, rows []store.GroupRow, infra []store.InfraJob) (classify, unclassify []int64) {
	distinct := map[int64]bool{}
	for _, r := range rows {
		distinct[r.JobID] = true
	}
	if len(distinct) == 1 {
		return infraCheck(distinct, infra)
	}
	var pushes []*pushGroups
	byPush := map[int64]*pushGroups{}
	jobClass := map[int64]int64{}
	for _, r := range rows {
		if baseJobType(r.JobTypeName) != jtname {
			continue // a variant
		}
		if _, ok := jobClass[r.JobID]; !ok {
			jobClass[r.JobID] = r.FailureClassificationID
		}
		p := byPush[r.PushID]
		if p == nil {
			p = &pushGroups{push: r.PushID, groups: map[string]map[int64]int{}, jobs: map[int64]map[string]int{}}
			byPush[r.PushID] = p
			pushes = append(pushes, p)
		}
		if p.groups[r.Group] == nil {
			p.groups[r.Group] = map[int64]int{}
			p.gorder = append(p.gorder, r.Group)
		}
		if _, ok := p.groups[r.Group][r.JobID]; !ok {
			p.groups[r.Group][r.JobID] = r.Status
		}
		if p.jobs[r.JobID] == nil {
			p.jobs[r.JobID] = map[string]int{}
			p.order = append(p.order, r.JobID)
		}
		if _, ok := p.jobs[r.JobID][r.Group]; !ok {
			p.jobs[r.JobID][r.Group] = r.Status
		}
	}
	passRate := func(statuses []int) float64 {
		ok := 0
		for _, s := range statuses {
			if s == groupOK {
				ok++
			}
		}
		return float64(ok) / float64(len(statuses))
	}
	changed, currentChanged := map[string]bool{}, map[string]bool{}
	if cp := byPush[cur.PushID]; cp != nil {
		for _, g := range cp.gorder {
			var all, current []int
			for _, j := range cp.order {
				if s, ok := cp.groups[g][j]; ok {
					current = append(current, s)
				}
			}
			for _, p := range pushes {
				for _, j := range p.order {
					if s, ok := p.groups[g][j]; ok {
						all = append(all, s)
					}
				}
			}
			if passRate(all) >= 0.5 {
				changed[g] = true
			}
			if passRate(current) >= 0.5 {
				currentChanged[g] = true
			}
		}
	}
	for _, p := range pushes {
		for _, job := range p.order {
			allGreen, currentGreen := true, true
			for g, s := range p.jobs[job] {
				if s == groupError && !changed[g] {
					allGreen = false
				}
				if s == groupError && !currentChanged[g] {
					currentGreen = false
				}
			}
			switch {
			case (p.push == cur.PushID && currentGreen) || (p.push != cur.PushID && len(ids) > 1 && allGreen):
				classify = append(classify, job)
			case jobClass[job] == 8:
				unclassify = append(unclassify, job)
			}
		}
	}
	c, u := infraCheck(distinct, infra)
	return append(classify, c...), append(unclassify, u...)
}

// infraCheck is _check_and_mark_infra: failed jobs of the same type without
// group results (infra failures, timeouts) become 8 when new; when more
// than half the candidates failed that way, earlier 8s are taken back.
func infraCheck(withGroups map[int64]bool, extra []store.InfraJob) (classify, unclassify []int64) {
	fresh := false
	for _, j := range extra {
		if j.FailureClassificationID != 8 {
			fresh = true
		}
	}
	if !fresh {
		return nil, nil
	}
	var failed []store.InfraJob
	for _, j := range extra {
		if !withGroups[j.ID] && j.Result != "success" {
			failed = append(failed, j)
		}
	}
	if float64(len(failed))/float64(len(extra)) > 0.5 {
		for _, j := range failed {
			if j.FailureClassificationID == 8 {
				unclassify = append(unclassify, j.ID)
			}
		}
	}
	for _, j := range failed {
		if j.FailureClassificationID != 4 && j.FailureClassificationID != 8 {
			classify = append(classify, j.ID)
		}
	}
	return classify, unclassify
}
