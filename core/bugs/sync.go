package bugs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/herder-ci/herder/core/store"
)

// SyncStore is what the bug cache sync needs of storage (sqlstore.Store).
type SyncStore interface {
	BugsMaxModified(ctx context.Context) (int64, bool, error)
	UpsertBugs(ctx context.Context, bugs []store.Bug) error
	ProcessedBugs(ctx context.Context) (map[int64]bool, error)
	MarkBugsUnprocessed(ctx context.Context) error
	DeleteStaleBugs(ctx context.Context, before int64) (int64, error)
	ClassifiedBugzillaIDs(ctx context.Context) ([]int64, error)
	SetDuplicates(ctx context.Context, dupToOpen map[int64]int64) error
	MoveDuplicateClassifications(ctx context.Context) (int64, error)
	BackdateBugs(ctx context.Context, after int64) error
	IncompleteBugsInUse(ctx context.Context, since int64, minMaps int) ([]store.IncompleteBug, error)
	CountBugs(ctx context.Context) (int64, error)
	OptimizeBugSearch(ctx context.Context) error
}

// Sync keeps the bug cache in step with Bugzilla: Treeherder's
// update_bugscache (treeherder/etl/bugzilla.py).
type Sync struct {
	Store    SyncStore
	Bugzilla *Bugzilla
	Log      hclog.Logger
	// PublicURL is where herder's UI is, for the log links of reopened bugs.
	PublicURL string
	// Now is the clock (tests).
	Now func() time.Time
	// Report receives what would be written to Bugzilla without an API key.
	Report func(format string, args ...any)
}

// SyncReport sums up a sync.
type SyncReport struct {
	// Iterations is how many rounds of fetching ran (the seed, then the
	// open bugs of duplicates, then duplicates of those).
	Iterations int
	Fetched    int
	Stored     int
	// Skipped lists records that were malformed or failed to store, with why.
	Skipped []string
	Deleted int64
	// Moved counts classifications moved from duplicates to open bugs.
	Moved    int64
	Reopened []int64
	// Since is the last_change_time the seed asked for.
	Since string
}

const (
	bugsPerPage = 500
	// maxChain is Treeherder's limit on following duplicate chains.
	maxChain = 10
)

// includeFields are the fields Treeherder asks Bugzilla for.
var includeFields = strings.Join([]string{"id", "summary", "status", "resolution", "dupe_of", "duplicates",
	"cf_crash_signature", "keywords", "last_change_time", "whiteboard"}, ",")

// Run fetches and stores bugs in Treeherder's phases:
//
//  1. intermittent-failure bugs changed since the newest cached change less
//     ten minutes (or a year ago for an empty cache), 500 a page;
//  2. bugs jobs are classified with;
//  3. the bugs that duplicates were resolved against, following chains;
//  4. the duplicates of all of those.
//
// Then each duplicate points at the open bug at the end of its chain and
// inherits its modification time, classifications move from duplicates to
// their open bugs, and bugs untouched for a year that no job uses go.
//
// Every page is fetched (with retries) before anything is written, and a
// failure stops the run: the cache is never emptied by a Bugzilla outage.
// A malformed record is skipped with a logged reason, and the bugs stored in
// the run are dated back so the next run fetches them again.
func (s *Sync) Run(ctx context.Context) (SyncReport, error) {
	var rep SyncReport
	log := s.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	yearAgo := now().UTC().Add(-365 * 24 * time.Hour).Unix()
	lastChange := yearAgo
	if m, ok, err := s.Store.BugsMaxModified(ctx); err != nil {
		return rep, err
	} else if ok && m-10*60 > yearAgo {
		// Bugs changed longer ago would be dropped at the end of the run
		// anyway (and placeholder rows for classified bugs have no date):
		// never ask for more than a year.
		lastChange = m - 10*60
	}
	rep.Since = time.Unix(lastChange, 0).UTC().Format("2006-01-02T15:04:05Z")

	bugsToDuplicates := map[int64]map[int64]bool{}
	duplicatesToBugs := map[int64]int64{}
	duplicatesToCheck := map[int64]bool{}
	insertErrors := false
	var toProcess []int64

	for chain := 0; chain <= maxChain; chain++ {
		if chain > 0 {
			processed, err := s.Store.ProcessedBugs(ctx)
			if err != nil {
				return rep, err
			}
			toProcess = minus(toProcess, processed)
			if len(toProcess) == 0 {
				break
			}
		}
		rep.Iterations++
		var list []RawBug
		for offset := 0; ; offset += bugsPerPage {
			params := url.Values{"include_fields": {includeFields}, "limit": {strconv.Itoa(bugsPerPage)}}
			if chain == 0 {
				params.Set("keywords", "intermittent-failure")
				params.Set("last_change_time", rep.Since)
				params.Set("offset", strconv.Itoa(offset))
			} else {
				end := min(offset+bugsPerPage, len(toProcess))
				params.Set("id", joinIDs(toProcess[offset:end]))
			}
			page, err := s.Bugzilla.FetchBugs(ctx, params)
			if err != nil {
				return rep, fmt.Errorf("sync bugs (round %d): %w", chain, err)
			}
			list = append(list, page...)
			if chain == 0 && len(page) < bugsPerPage {
				break
			}
			if chain > 0 && offset+bugsPerPage >= len(toProcess) {
				break
			}
		}
		rep.Fetched += len(list)

		next := map[int64]bool{}
		if len(list) > 0 {
			if chain == 0 {
				n, err := s.Store.DeleteStaleBugs(ctx, yearAgo)
				if err != nil {
					return rep, err
				}
				rep.Deleted += n
				if err := s.Store.MarkBugsUnprocessed(ctx); err != nil {
					return rep, err
				}
			}
			type parsed struct {
				bug        store.Bug
				duplicates []int64
			}
			var good []parsed
			for _, raw := range list {
				b, dups, err := parseBug(raw)
				if err != nil {
					log.Warn("skipping a malformed bug record", "reason", err)
					rep.Skipped = append(rep.Skipped, err.Error())
					insertErrors = true
					continue
				}
				good = append(good, parsed{b, dups})
			}
			bugs := make([]store.Bug, len(good))
			for i, g := range good {
				bugs[i] = g.bug
			}
			stored := make([]bool, len(good))
			if err := s.Store.UpsertBugs(ctx, bugs); err != nil {
				if ctx.Err() != nil {
					return rep, err
				}
				// Find the rows the database refuses, one by one, as
				// Treeherder stores each bug in its own statement.
				for i, b := range bugs {
					if err := s.Store.UpsertBugs(ctx, []store.Bug{b}); err != nil {
						log.Error("error inserting bug into the cache", "bug", b.BugzillaID, "error", err)
						rep.Skipped = append(rep.Skipped, fmt.Sprintf("bug %d: %v", b.BugzillaID, err))
						insertErrors = true
						continue
					}
					stored[i] = true
				}
			} else {
				for i := range stored {
					stored[i] = true
				}
			}
			for i, g := range good {
				if !stored[i] {
					continue
				}
				rep.Stored++
				id := g.bug.BugzillaID
				if g.bug.DupeOf != nil {
					dupeOf := *g.bug.DupeOf
					openish, ok := duplicatesToBugs[dupeOf]
					if !ok {
						openish = dupeOf
					}
					duplicatesToBugs[id] = openish
					if _, ok := bugsToDuplicates[openish]; !ok {
						next[openish] = true
						bugsToDuplicates[openish] = map[int64]bool{}
					}
					bugsToDuplicates[openish][id] = true
					if dups, ok := bugsToDuplicates[id]; ok {
						for d := range dups {
							duplicatesToBugs[d] = openish
							bugsToDuplicates[openish][d] = true
						}
					}
				}
				for _, d := range g.duplicates {
					duplicatesToCheck[d] = true
				}
			}
		}
		if chain == 0 {
			// Bugs used for classification are kept up to date too.
			used, err := s.Store.ClassifiedBugzillaIDs(ctx)
			if err != nil {
				return rep, err
			}
			for _, id := range used {
				next[id] = true
			}
		}
		processed, err := s.Store.ProcessedBugs(ctx)
		if err != nil {
			return rep, err
		}
		toProcess = minus(keys(next), processed)
		if chain == 5 && len(toProcess) > 0 {
			log.Warn("found a chain of duplicate bugs longer than 6 bugs, stopped following it; dupe_of holds duplicates, not open bugs", "unprocessed", joinIDs(toProcess))
		}
		if chain < 6 && len(toProcess) == 0 {
			chain = 5 // no more open bugs to find: fetch the duplicates
		}
		if chain >= 5 {
			next := duplicatesToCheck
			duplicatesToCheck = map[int64]bool{}
			toProcess = minus(keys(next), processed)
			if len(toProcess) == 0 {
				break
			}
			if chain == maxChain {
				log.Warn("found a chain of duplicate bugs longer than 6 bugs, stopped following it; not all duplicates are cached", "unprocessed", joinIDs(toProcess))
			}
		}
	}

	if err := s.Store.SetDuplicates(ctx, duplicatesToBugs); err != nil {
		return rep, err
	}
	moved, err := s.Store.MoveDuplicateClassifications(ctx)
	if err != nil {
		return rep, err
	}
	rep.Moved = moved
	n, err := s.Store.DeleteStaleBugs(ctx, yearAgo)
	if err != nil {
		return rep, err
	}
	rep.Deleted += n
	// Many deletions slow every search until the index is compacted.
	if total, err := s.Store.CountBugs(ctx); err == nil && rep.Deleted > 1000 && rep.Deleted*20 > total {
		if err := s.Store.OptimizeBugSearch(ctx); err != nil {
			log.Warn("optimize the bug search index", "error", err)
		}
	}
	if insertErrors {
		log.Error("some bugs could not be stored; the cache is incomplete and bugs changed in this run will be fetched again next time", "skipped", len(rep.Skipped))
		if err := s.Store.BackdateBugs(ctx, lastChange); err != nil {
			return rep, err
		}
	}
	reopened, err := s.reopenIncomplete(ctx, now())
	rep.Reopened = reopened
	if err != nil {
		// The cache is up to date; a failed reopen is reported, not fatal.
		log.Error("reopen incomplete bugs", "error", err)
	}
	return rep, nil
}

// reopenIncomplete reopens bugs resolved INCOMPLETE that at least three jobs
// were classified with in the last 7 days, with a link to the newest
// failure. Without an API key it reports what it would do.
func (s *Sync) reopenIncomplete(ctx context.Context, now time.Time) ([]int64, error) {
	list, err := s.Store.IncompleteBugsInUse(ctx, now.Add(-7*24*time.Hour).Unix(), 3)
	if err != nil {
		return nil, err
	}
	var reopened []int64
	var errs []error
	for _, b := range list {
		logURL := fmt.Sprintf("%s/logviewer?job_id=%d&repo=%s", strings.TrimRight(s.PublicURL, "/"), b.JobID, url.QueryEscape(b.Repository))
		changes := map[string]any{
			"status":       "REOPENED",
			"comment":      map[string]string{"body": "New failure instance: " + logURL},
			"comment_tags": "treeherder",
		}
		if !s.Bugzilla.HasAPIKey() {
			if s.Report != nil {
				body, _ := json.Marshal(changes)
				s.Report("would reopen bug %d (%d classifications in 7 days): PUT /rest/bug/%d %s", b.BugzillaID, b.Maps, b.BugzillaID, body)
			}
			continue
		}
		if err := s.Bugzilla.UpdateBug(ctx, b.BugzillaID, changes); err != nil {
			errs = append(errs, fmt.Errorf("reopen bug %d: %w", b.BugzillaID, err))
			continue
		}
		reopened = append(reopened, b.BugzillaID)
	}
	return reopened, errors.Join(errs...)
}

// parseBug checks one record and turns it into a cache row. Fields may be
// missing (Treeherder defaults them to ""), but an id, the keywords and the
// change time are required, and every field must have its type.
func parseBug(raw RawBug) (store.Bug, []int64, error) {
	var b store.Bug
	if m, ok := raw["_malformed"]; ok {
		var why string
		_ = json.Unmarshal(m, &why)
		return b, nil, errors.New(why)
	}
	idRaw, ok := raw["id"]
	if !ok {
		return b, nil, errors.New("a bug record has no id")
	}
	if err := json.Unmarshal(idRaw, &b.BugzillaID); err != nil || b.BugzillaID <= 0 {
		return b, nil, fmt.Errorf("a bug record has the id %s, not a positive integer", clip(string(idRaw)))
	}
	fail := func(field string, err error) (store.Bug, []int64, error) {
		return b, nil, fmt.Errorf("bug %d: field %s: %v", b.BugzillaID, field, err)
	}
	str := func(field string, dst *string) error {
		v, ok := raw[field]
		if !ok || string(v) == "null" {
			return nil
		}
		return json.Unmarshal(v, dst)
	}
	for f, dst := range map[string]*string{"summary": &b.Summary, "status": &b.Status, "resolution": &b.Resolution,
		"cf_crash_signature": &b.CrashSignature, "whiteboard": &b.Whiteboard} {
		if err := str(f, dst); err != nil {
			return fail(f, fmt.Errorf("not a string: %s", clip(string(raw[f]))))
		}
	}
	if v, ok := raw["dupe_of"]; ok && string(v) != "null" {
		var d int64
		if err := json.Unmarshal(v, &d); err != nil || d <= 0 {
			return fail("dupe_of", fmt.Errorf("not a bug id: %s", clip(string(v))))
		}
		b.DupeOf = &d
	}
	var dups []int64
	if v, ok := raw["duplicates"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &dups); err != nil {
			return fail("duplicates", fmt.Errorf("not a list of bug ids: %s", clip(string(v))))
		}
	}
	kw, ok := raw["keywords"]
	if !ok {
		return fail("keywords", errors.New("missing"))
	}
	var keywords []string
	if err := json.Unmarshal(kw, &keywords); err != nil {
		return fail("keywords", fmt.Errorf("not a list of strings: %s", clip(string(kw))))
	}
	b.Keywords = strings.Join(keywords, ",")
	var changed string
	if v, ok := raw["last_change_time"]; !ok {
		return fail("last_change_time", errors.New("missing"))
	} else if err := json.Unmarshal(v, &changed); err != nil {
		return fail("last_change_time", fmt.Errorf("not a string: %s", clip(string(v))))
	}
	t, err := parseBugzillaTime(changed)
	if err != nil {
		return fail("last_change_time", err)
	}
	b.Modified = t
	return b, dups, nil
}

// parseBugzillaTime reads a change time, ignoring any zone as Treeherder
// does (dateutil with ignoretz): the wall time is taken as UTC.
func parseBugzillaTime(s string) (int64, error) {
	for _, layout := range []string{"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04:05",
		"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			y, mo, d := t.Date()
			h, mi, sec := t.Clock()
			return time.Date(y, mo, d, h, mi, sec, 0, time.UTC).Unix(), nil
		}
	}
	return 0, fmt.Errorf("not a time: %q", clip(s))
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func minus(ids []int64, done map[int64]bool) []int64 {
	var out []int64
	seen := map[int64]bool{}
	for _, id := range ids {
		if !done[id] && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func keys(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}
