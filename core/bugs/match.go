package bugs

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/sdk"
)

// Processor runs a task on a named processor plugin (the plugin supervisor,
// or a plugin under test).
type Processor interface {
	Process(ctx context.Context, processor string, task sdk.Task) (sdk.Result, error)
}

// MatchStore is what matching needs of storage (sqlstore.Store).
type MatchStore interface {
	BugMatchInput(ctx context.Context, jobID int64) (store.BugMatchJob, error)
	CountErrorLines(ctx context.Context, req store.LineCountRequest) ([]store.LineCount, error)
	SearchBugs(ctx context.Context, term string, limit int) ([]sdk.BugCandidate, error)
	StoreBugMatch(ctx context.Context, m store.BugMatchOutcome) error
}

// Matcher matches a job's stored error lines to cached bugs through a bug
// matcher processor, in two calls per job, and stores the suggestions.
type Matcher struct {
	Store MatchStore
	Proc  Processor
	// Processor is the processor instance's name.
	Processor string
	// Candidates is how many bugs the database hands the matcher per term
	// (default 100; the matcher keeps at most 50).
	Candidates int
	// Now is the clock (tests).
	Now func() time.Time
}

// CountingRepositories are the repositories whose error lines feed the
// 21-day counter (Treeherder's count_branches).
var CountingRepositories = map[string]bool{"autoland": true, "mozilla-central": true, "comm-central": true}

// lineWindowDays is the counter's window (LINE_CACHE_TIMEOUT_DAYS).
const lineWindowDays = 21

// MatchReport sums up one job's match.
type MatchReport struct {
	JobID       int64
	Lines       int
	Bugs        int
	NewFailures []int64 // line numbers
	// Counted is true when this match recorded the lines in the counter.
	Counted      bool
	NoTermLines  []string
	Reclassified bool
}

// MatchJob computes and stores a job's suggestions: the processor derives
// search terms, the store counts the lines and finds candidate bugs for each
// term, the processor keeps the real matches, and the result is stored with
// the new-failure marks in one transaction.
func (m *Matcher) MatchJob(ctx context.Context, jobID int64) (MatchReport, error) {
	rep := MatchReport{JobID: jobID}
	in, err := m.Store.BugMatchInput(ctx, jobID)
	if err != nil {
		return rep, err
	}
	rep.Lines = len(in.Lines)
	outcome := store.BugMatchOutcome{JobID: jobID, Counted: in.Counted}
	if len(in.Lines) == 0 {
		// Nothing to match: most jobs are green. A reparse that found no
		// errors clears the old suggestions.
		if !in.Matched {
			return rep, nil
		}
		return rep, m.Store.StoreBugMatch(ctx, outcome)
	}
	var terms sdk.BugTermsResult
	if err := m.call(ctx, jobID, sdk.TaskBugTerms, sdk.BugTermsTask{JobID: jobID, Lines: in.Lines}, &terms); err != nil {
		return rep, err
	}
	if len(terms.Lines) != len(in.Lines) {
		return rep, sdk.Permanent(fmt.Errorf("job %d: the processor returned terms for %d lines, not %d", jobID, len(terms.Lines), len(in.Lines)))
	}
	outcome.AlgorithmVersion = terms.AlgorithmVersion

	counts, err := m.count(ctx, in, terms.Lines)
	if err != nil {
		return rep, err
	}
	for i, l := range terms.Lines {
		// A rematch keeps what the first match knew of a line it saw.
		if p, ok := in.Previous[l.LineNumber]; ok && p.Search == l.Search {
			counts[i] = store.LineCount{Counter: p.Counter, FailureNewInRev: p.FailureNewInRev}
		}
	}
	rep.Counted = countsHere(in)
	outcome.Counted = in.Counted || rep.Counted

	candidates := map[string][]sdk.BugCandidate{}
	limit := m.Candidates
	if limit <= 0 {
		limit = 100
	}
	lookup := func(term *string) error {
		if term == nil || strings.TrimSpace(*term) == "" {
			return nil
		}
		if _, ok := candidates[*term]; ok {
			return nil
		}
		found, err := m.Store.SearchBugs(ctx, *term, limit)
		if err != nil {
			return err
		}
		if found == nil {
			found = []sdk.BugCandidate{}
		}
		candidates[*term] = found
		return nil
	}
	for _, l := range terms.Lines {
		for _, t := range l.SearchTerms {
			if err := lookup(t); err != nil {
				return rep, err
			}
		}
		if err := lookup(l.CrashSignature); err != nil {
			return rep, err
		}
		if l.NoTermReason != "" {
			rep.NoTermLines = append(rep.NoTermLines, fmt.Sprintf("line %d: %s", l.LineNumber, l.NoTermReason))
		}
	}
	var matched sdk.BugMatchResult
	if err := m.call(ctx, jobID, sdk.TaskBugMatch, sdk.BugMatchTask{JobID: jobID, Lines: terms.Lines, Candidates: candidates}, &matched); err != nil {
		return rep, err
	}
	if len(matched.Lines) != len(terms.Lines) {
		return rep, sdk.Permanent(fmt.Errorf("job %d: the processor matched %d lines, not %d", jobID, len(matched.Lines), len(terms.Lines)))
	}
	failing := !map[string]bool{"success": true, "unknown": true, "usercancel": true, "retry": true}[in.Result]
	for i, l := range terms.Lines {
		mt := matched.Lines[i]
		s := store.StoredSuggestion{
			LineNumber: l.LineNumber, Search: l.Search, SearchTerms: mt.SearchTerms, PathEnd: l.PathEnd,
			OpenRecent: mt.OpenRecent, AllOthers: mt.AllOthers,
			Counter: counts[i].Counter, FailureNewInRev: counts[i].FailureNewInRev,
		}
		rep.Bugs += len(s.OpenRecent) + len(s.AllOthers)
		outcome.Lines = append(outcome.Lines, s)
		if failing && (s.FailureNewInRev || s.Counter == 0) {
			outcome.ClassifyNewFailure = true
			outcome.NewFailureLines = append(outcome.NewFailureLines, l.LineNumber)
		}
	}
	rep.NewFailures = outcome.NewFailureLines
	rep.Reclassified = outcome.ClassifyNewFailure && in.FailureClassificationID == 1
	if err := m.Store.StoreBugMatch(ctx, outcome); err != nil {
		return rep, err
	}
	return rep, nil
}

// countsHere says whether this match records the job's lines: only jobs of
// the counting repositories, and each job once.
func countsHere(in store.BugMatchJob) bool {
	return CountingRepositories[in.Repository] && !in.Counted
}

// count runs the 21-day counter over the job's lines (Treeherder's
// line_cache in bug_suggestions_line). comm-central counts on its own.
func (m *Matcher) count(ctx context.Context, in store.BugMatchJob, lines []sdk.BugLineTerms) ([]store.LineCount, error) {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	ns := "mc"
	if in.Repository == "comm-central" {
		ns = "cc"
	}
	keys := make([]string, len(lines))
	for i, l := range lines {
		sum := sha1.Sum([]byte(l.CounterKey))
		keys[i] = hex.EncodeToString(sum[:])
	}
	return m.Store.CountErrorLines(ctx, store.LineCountRequest{
		Namespace: ns,
		Day:       Day(in.SubmitTime),
		Since:     Day(now().Unix()) - (lineWindowDays - 1),
		Revision:  in.Revision,
		Keys:      keys,
		Increment: countsHere(in),
	})
}

// Day is the UTC day of a unix time, in days since the epoch.
func Day(unix int64) int64 {
	if unix < 0 {
		return (unix - 86399) / 86400
	}
	return unix / 86400
}

func (m *Matcher) call(ctx context.Context, jobID int64, kind string, payload, out any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("job %d: encode %s task: %w", jobID, kind, err)
	}
	res, err := m.Proc.Process(ctx, m.Processor, sdk.Task{ID: strconv.FormatInt(jobID, 10), Kind: kind, Payload: b})
	if err != nil {
		return fmt.Errorf("job %d: %s: %w", jobID, kind, err)
	}
	if err := json.Unmarshal(res.Payload, out); err != nil {
		return sdk.Permanent(fmt.Errorf("job %d: %s: unreadable result: %w", jobID, kind, err))
	}
	return nil
}

// Terms asks the processor for the terms of loose lines (herder bugs
// search-terms).
func (m *Matcher) Terms(ctx context.Context, lines []sdk.BugLine) (sdk.BugTermsResult, error) {
	var out sdk.BugTermsResult
	err := m.call(ctx, 0, sdk.TaskBugTerms, sdk.BugTermsTask{Lines: lines}, &out)
	return out, err
}
