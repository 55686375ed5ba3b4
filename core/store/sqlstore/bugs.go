package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"weak"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/sdk"
)

// Bug cache limits, Treeherder's column sizes.
const (
	bugSummaryMax    = 255
	bugWhiteboardMax = 100
	bugStatusMax     = 64
)

// bugsCut cuts s to n characters: MySQL counts VARCHAR sizes in characters.
func bugsCut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// bugsNewRef is NEW(column) in upsert expressions.
var bugsNewRef = regexp.MustCompile(`NEW\((\w+)\)`)

// bugsUpsert returns the clause that turns a multi-row INSERT into an upsert on
// the unique key conflict, assigning set (column = expression with NEW(col)
// standing for the incoming value).
func (s *Store) bugsUpsert(conflict []string, set map[string]string) string {
	cols := make([]string, 0, len(set))
	for c := range set {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	parts := make([]string, len(cols))
	for i, c := range cols {
		expr := set[c]
		if s.d.name == "mysql" {
			expr = bugsNewRef.ReplaceAllString(expr, "VALUES($1)")
		} else {
			expr = bugsNewRef.ReplaceAllString(expr, "excluded.$1")
		}
		parts[i] = c + " = " + expr
	}
	if s.d.name == "mysql" {
		return " ON DUPLICATE KEY UPDATE " + strings.Join(parts, ", ")
	}
	return " ON CONFLICT (" + strings.Join(conflict, ", ") + ") DO UPDATE SET " + strings.Join(parts, ", ")
}

// ---------------------------------------------------------------------------
// The bug cache

// BugsMaxModified returns the newest modification time of a Bugzilla bug in
// the cache; ok is false when there is none.
func (s *Store) BugsMaxModified(ctx context.Context) (int64, bool, error) {
	var m sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT MAX(modified) FROM bugscache WHERE bugzilla_id IS NOT NULL").Scan(&m); err != nil {
		return 0, false, fmt.Errorf("newest bug: %w", err)
	}
	return m.Int64, m.Valid, nil
}

// UpsertBugs inserts or updates bugs by Bugzilla id and marks them processed
// in this sync. Text is cut to the columns' sizes as Treeherder cuts it.
func (s *Store) UpsertBugs(ctx context.Context, bugs []store.Bug) error {
	const cols = 10
	step := chunkSize(s.d.maxParams, cols)
	set := map[string]string{}
	for _, c := range []string{"status", "resolution", "summary", "dupe_of", "crash_signature", "keywords", "modified", "whiteboard", "processed_update"} {
		set[c] = "NEW(" + c + ")"
	}
	suffix := s.bugsUpsert([]string{"bugzilla_id"}, set)
	for start := 0; start < len(bugs); start += step {
		end := min(start+step, len(bugs))
		args := make([]any, 0, (end-start)*cols)
		for _, b := range bugs[start:end] {
			args = append(args, b.BugzillaID, bugsCut(b.Status, bugStatusMax), bugsCut(b.Resolution, bugStatusMax),
				bugsCut(b.Summary, bugSummaryMax), b.DupeOf, b.CrashSignature, b.Keywords, b.Modified,
				bugsCut(b.Whiteboard, bugWhiteboardMax), true)
		}
		q := `INSERT INTO bugscache (bugzilla_id, status, resolution, summary, dupe_of, crash_signature, keywords,
			modified, whiteboard, processed_update) VALUES ` + placeholders(end-start, cols) + suffix
		if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("store %d bugs: %w", end-start, err)
		}
	}
	return nil
}

// ProcessedBugs returns the Bugzilla ids the current sync already stored.
func (s *Store) ProcessedBugs(ctx context.Context) (map[int64]bool, error) {
	return s.bugsInt64Set(ctx, "SELECT bugzilla_id FROM bugscache WHERE processed_update = ? AND bugzilla_id IS NOT NULL", true)
}

// MarkBugsUnprocessed starts a sync: every cached bug is unprocessed.
func (s *Store) MarkBugsUnprocessed(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE bugscache SET processed_update = ? WHERE processed_update <> ?", false, false); err != nil {
		return fmt.Errorf("mark bugs unprocessed: %w", err)
	}
	return nil
}

// DeleteStaleBugs deletes Bugzilla bugs last modified before `before` that no
// job is classified with. Internal issues stay.
func (s *Store) DeleteStaleBugs(ctx context.Context, before int64) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM bugscache WHERE bugzilla_id IS NOT NULL AND modified < ?
		AND NOT EXISTS (SELECT 1 FROM bug_job_map m WHERE m.bug_id = bugscache.id)`, before)
	if err != nil {
		return 0, fmt.Errorf("delete stale bugs: %w", err)
	}
	return res.RowsAffected()
}

// ClassifiedBugzillaIDs returns the Bugzilla ids of bugs jobs are
// classified with.
func (s *Store) ClassifiedBugzillaIDs(ctx context.Context) ([]int64, error) {
	set, err := s.bugsInt64Set(ctx, `SELECT DISTINCT b.bugzilla_id FROM bug_job_map m JOIN bugscache b ON b.id = m.bug_id
		WHERE b.bugzilla_id IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	return bugsSortedKeys(set), nil
}

// SetDuplicates points each duplicate (by Bugzilla id) at the open bug at
// the end of its chain and gives it that bug's modification time, so it
// lives as long as the open bug does. Pairs whose open bug is not cached
// are skipped.
func (s *Store) SetDuplicates(ctx context.Context, dupToOpen map[int64]int64) error {
	if len(dupToOpen) == 0 {
		return nil
	}
	dups := make([]int64, 0, len(dupToOpen))
	for d := range dupToOpen {
		dups = append(dups, d)
	}
	sort.Slice(dups, func(i, j int) bool { return dups[i] < dups[j] })
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, d := range dups {
			open := dupToOpen[d]
			var modified int64
			err := tx.QueryRowContext(ctx, "SELECT modified FROM bugscache WHERE bugzilla_id = ?", open).Scan(&modified)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("bug %d: %w", open, err)
			}
			if _, err := tx.ExecContext(ctx, "UPDATE bugscache SET dupe_of = ?, modified = ? WHERE bugzilla_id = ?", open, modified, d); err != nil {
				return fmt.Errorf("point duplicate %d at %d: %w", d, open, err)
			}
		}
		return nil
	})
}

// MoveDuplicateClassifications moves jobs classified with a duplicate bug to
// the bug it duplicates (when that one is cached); a job already classified
// with both keeps only the open bug. It returns how many maps moved.
func (s *Store) MoveDuplicateClassifications(ctx context.Context) (int64, error) {
	type pair struct{ dup, open int64 }
	var pairs []pair
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT d.id, o.id FROM bug_job_map m
		JOIN bugscache d ON d.id = m.bug_id JOIN bugscache o ON o.bugzilla_id = d.dupe_of
		WHERE d.dupe_of IS NOT NULL AND o.id <> d.id`)
	if err != nil {
		return 0, fmt.Errorf("find classifications with duplicates: %w", err)
	}
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.dup, &p.open); err != nil {
			rows.Close()
			return 0, err
		}
		pairs = append(pairs, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var moved int64
	for _, p := range pairs {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			// MySQL refuses a subquery on the table being deleted from;
			// read the jobs first.
			jobs, err := bugsInt64s(ctx, tx, "SELECT job_id FROM bug_job_map WHERE bug_id = ?", p.open)
			if err != nil {
				return err
			}
			for start := 0; start < len(jobs); start += 500 {
				chunk := jobs[start:min(start+500, len(jobs))]
				if _, err := tx.ExecContext(ctx, "DELETE FROM bug_job_map WHERE bug_id = ? AND job_id IN "+inList(len(chunk)),
					append([]any{p.dup}, anySlice(chunk)...)...); err != nil {
					return err
				}
			}
			res, err := tx.ExecContext(ctx, "UPDATE bug_job_map SET bug_id = ? WHERE bug_id = ?", p.open, p.dup)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			moved += n
			return nil
		})
		if err != nil {
			return moved, fmt.Errorf("move classifications from bug %d to %d: %w", p.dup, p.open, err)
		}
	}
	return moved, nil
}

// BackdateBugs moves the modification time of bugs changed after `after`
// back to `after`, so the next sync fetches them again (after a sync that
// could not store some bugs).
func (s *Store) BackdateBugs(ctx context.Context, after int64) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE bugscache SET modified = ? WHERE modified > ? AND bugzilla_id IS NOT NULL", after, after); err != nil {
		return fmt.Errorf("backdate bugs: %w", err)
	}
	return nil
}

// IncompleteBugsInUse lists Bugzilla bugs resolved INCOMPLETE that at least
// minMaps jobs were classified with since `since`, each with its newest
// job and that job's repository.
func (s *Store) IncompleteBugsInUse(ctx context.Context, since int64, minMaps int) ([]store.IncompleteBug, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT b.bugzilla_id, COUNT(*), MAX(m.job_id) FROM bug_job_map m
		JOIN bugscache b ON b.id = m.bug_id
		WHERE b.resolution = 'INCOMPLETE' AND b.bugzilla_id IS NOT NULL AND m.created > ?
		GROUP BY b.bugzilla_id HAVING COUNT(*) >= ? ORDER BY b.bugzilla_id`, since, minMaps)
	if err != nil {
		return nil, fmt.Errorf("incomplete bugs in use: %w", err)
	}
	var out []store.IncompleteBug
	for rows.Next() {
		var b store.IncompleteBug
		if err := rows.Scan(&b.BugzillaID, &b.Maps, &b.JobID); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := s.db.QueryRowContext(ctx, "SELECT r.name FROM job j JOIN repository r ON r.id = j.repository_id WHERE j.id = ?",
			out[i].JobID).Scan(&out[i].Repository); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("repository of job %d: %w", out[i].JobID, err)
		}
	}
	return out, nil
}

// CachedBug returns a cached bug by Bugzilla id.
func (s *Store) CachedBug(ctx context.Context, bugzillaID int64) (store.Bug, error) {
	var b store.Bug
	var dupe sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT bugzilla_id, status, resolution, summary, dupe_of, crash_signature,
		keywords, modified, whiteboard FROM bugscache WHERE bugzilla_id = ?`, bugzillaID).Scan(&b.BugzillaID, &b.Status,
		&b.Resolution, &b.Summary, &dupe, &b.CrashSignature, &b.Keywords, &b.Modified, &b.Whiteboard)
	if errors.Is(err, sql.ErrNoRows) {
		return b, fmt.Errorf("bug %d: %w", bugzillaID, store.ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("bug %d: %w", bugzillaID, err)
	}
	if dupe.Valid {
		b.DupeOf = &dupe.Int64
	}
	return b, nil
}

// CountBugs counts the bug cache's rows.
func (s *Store) CountBugs(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM bugscache").Scan(&n); err != nil {
		return 0, fmt.Errorf("count bugs: %w", err)
	}
	return n, nil
}

// ---------------------------------------------------------------------------
// Search

// SearchBugs finds up to limit cached bugs whose summary contains term
// (ignoring case) where Treeherder's boundary rule would keep them: at the
// start, or after a slash, space, backslash or comma. Shorter summaries come
// first, which is how PostgreSQL's trigram similarity tends to rank them;
// the matcher re-ranks what it gets. The full-text index (MySQL) or trigram
// index (SQLite) finds candidates; LIKE with '=' as the escape character
// takes "%", "_" and "=" literally.
func (s *Store) SearchBugs(ctx context.Context, term string, limit int) ([]sdk.BugCandidate, error) {
	t := strings.ToLower(term)
	if strings.TrimSpace(t) == "" {
		return nil, nil
	}
	esc := strings.NewReplacer("=", "==", "%", "=%", "_", "=_").Replace(t)
	patterns := []any{esc + "%", "% " + esc + "%", "%/" + esc + "%", `%\` + esc + "%", "%," + esc + "%"}
	var q string
	var args []any
	if s.d.name == "mysql" {
		like := "(summary_lc LIKE ? ESCAPE '=' OR summary_lc LIKE ? ESCAPE '=' OR summary_lc LIKE ? ESCAPE '=' OR summary_lc LIKE ? ESCAPE '=' OR summary_lc LIKE ? ESCAPE '=')"
		q = "SELECT id, bugzilla_id, summary, resolution FROM bugscache WHERE " + like
		args = patterns
		if ft := bugsFulltextQuery(t, s.searchStats()); ft != "" {
			q += " AND MATCH (summary_lc) AGAINST (? IN BOOLEAN MODE)"
			args = append(args, ft)
		}
		q += " ORDER BY CHAR_LENGTH(summary), id LIMIT ?"
	} else {
		q = "SELECT b.id, b.bugzilla_id, b.summary, b.resolution FROM bugscache b WHERE 1 = 1"
		if utf8.RuneCountInString(t) >= 3 {
			q += " AND b.id IN (SELECT rowid FROM bugscache_fts WHERE bugscache_fts MATCH ?)"
			args = append(args, bugsTrigramQuery(t, s.searchStats()))
		}
		if bugsASCII(t) {
			// SQLite's LIKE folds ASCII only: with other letters the trigram
			// index alone (which folds them) decides, and the matcher
			// applies the boundary rule.
			q += " AND (b.summary LIKE ? ESCAPE '=' OR b.summary LIKE ? ESCAPE '=' OR b.summary LIKE ? ESCAPE '=' OR b.summary LIKE ? ESCAPE '=' OR b.summary LIKE ? ESCAPE '=')"
			args = append(args, patterns...)
		}
		q += " ORDER BY length(b.summary), b.id LIMIT ?"
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("search bugs for %q: %w", bugsCut(term, 40), err)
	}
	defer rows.Close()
	var out []sdk.BugCandidate
	for rows.Next() {
		var c sdk.BugCandidate
		var bz sql.NullInt64
		if err := rows.Scan(&c.ID, &bz, &c.Summary, &c.Resolution); err != nil {
			return nil, err
		}
		if bz.Valid {
			c.BugzillaID = &bz.Int64
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func bugsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// bugsStopwords is InnoDB's default full-text stopword list: a required
// stopword would match nothing.
var bugsStopwords = map[string]bool{
	"a": true, "about": true, "an": true, "are": true, "as": true, "at": true, "be": true, "by": true,
	"com": true, "de": true, "en": true, "for": true, "from": true, "how": true, "i": true, "in": true,
	"is": true, "it": true, "la": true, "of": true, "on": true, "or": true, "that": true, "the": true,
	"this": true, "to": true, "was": true, "what": true, "when": true, "where": true, "who": true,
	"will": true, "with": true, "und": true, "www": true,
}

// bugsCommonWords are words most Mozilla bug summaries share: requiring
// them narrows nothing and makes the full-text index read long lists, so
// the search prefers the term's other words.
var bugsCommonWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`intermittent perma tier application crashed crash mozilla dom test tests html
		xhtml xul js py assertion failure failures failed fail timed timeout unexpected error errors exception uncaught
		single tracking bug browser mochitest mochitests reftest reftests xpcshell crashtest crashtests wpt web
		platform builds build worker checkouts gecko content chrome toolkit components devtools client layout netwerk
		testing unit leak leaked leakcheck shutdown process result logged after expected got should not and command
		image comparison difference max number pixels differing promise rejection handle chain null undefined
		typeerror referenceerror info warning task taskcluster firefox android windows linux mac osx debug opt`) {
		bugsCommonWords[w] = true
	}
}

// bugsFulltextQuery turns a lowercased term into a boolean-mode query that
// every summary matching the term under the boundary rule satisfies, or ""
// when the term has no word safe to require. A word is safe when it is a
// whole InnoDB token in any such summary: ASCII letters, digits and '_'
// between characters that end a token (or the term's start, which the
// boundary rule puts after a separator), at least 3 and at most 84
// characters, not a stopword. The term's last word may be cut short, so it
// is a prefix ("word*"). Up to three words are required, the likely rarest
// first: words most summaries share last, words with digits or underscores
// (test file names) first, then longer before shorter.
func bugsFulltextQuery(t string, stats *bugsStats) string {
	type word struct {
		w      string
		prefix bool
		freq   int32 // summaries holding it, when known
		common bool
	}
	var words []word
	isWord := func(c byte) bool {
		return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
	}
	// A non-ASCII neighbour may be a letter (part of the token); an
	// apostrophe may join words.
	ends := func(c byte) bool { return c < utf8.RuneSelf && !isWord(c) && c != '\'' }
	for i := 0; i < len(t); {
		if !isWord(t[i]) {
			i++
			continue
		}
		j := i
		for j < len(t) && isWord(t[j]) {
			j++
		}
		startOK := i == 0 || ends(t[i-1])
		last := j == len(t)
		endOK := last || ends(t[j])
		w := t[i:j]
		if startOK && endOK && len(w) >= 3 && len(w) <= 84 && !bugsStopwords[w] {
			wd := word{w: w, prefix: last, common: bugsCommonWords[w]}
			if stats != nil {
				// Known frequencies beat the guess: a word in more than 5%
				// of summaries is common.
				wd.freq = stats.words[w]
				wd.common = int(wd.freq)*20 > stats.docs
			}
			words = append(words, wd)
		}
		i = j
	}
	if len(words) == 0 {
		return ""
	}
	specific := func(w string) bool { return strings.ContainsAny(w, "_0123456789") }
	sort.SliceStable(words, func(i, j int) bool {
		a, b := words[i], words[j]
		switch {
		case a.common != b.common:
			return !a.common
		case a.freq != b.freq:
			return a.freq < b.freq
		case specific(a.w) != specific(b.w):
			return specific(a.w)
		}
		return len(a.w) > len(b.w)
	})
	// Each required word makes the index read its whole list, so a word
	// is added only while the ones so far may still match many summaries:
	// never a common one (unless there is nothing else), and none after a
	// word known to be rare, or a test-file-like one when nothing is known.
	keep := 0
	for keep < len(words) && keep < 3 && !words[keep].common {
		keep++
		first := words[0]
		if (stats != nil && first.freq <= 200) || (stats == nil && specific(first.w)) {
			break
		}
	}
	if keep == 0 {
		keep = min(2, len(words))
	}
	parts := make([]string, keep)
	for i, w := range words[:keep] {
		parts[i] = "+" + w.w
		if w.prefix {
			parts[i] += "*"
		}
	}
	return strings.Join(parts, " ")
}

// bugsTrigramQuery is the SQLite counterpart: an FTS5 query every summary
// holding t satisfies. With search statistics it requires the term's four
// rarest trigrams, so the index reads short lists; without (or for terms
// with non-ASCII letters, which the index folds its own way) it requires the
// whole term as a phrase.
func bugsTrigramQuery(t string, st *bugsStats) string {
	phrase := func(x string) string { return `"` + strings.ReplaceAll(x, `"`, `""`) + `"` }
	if st == nil || !bugsASCII(t) || len(t) < 3 {
		return phrase(t)
	}
	seen := map[string]bool{}
	var grams []string
	for i := 0; i+3 <= len(t); i++ {
		if g := t[i : i+3]; !seen[g] {
			seen[g] = true
			grams = append(grams, g)
		}
	}
	sort.SliceStable(grams, func(i, j int) bool { return st.grams[grams[i]] < st.grams[grams[j]] })
	if len(grams) > 4 {
		grams = grams[:4]
	}
	parts := make([]string, len(grams))
	for i, g := range grams {
		parts[i] = phrase(g)
	}
	return strings.Join(parts, " AND ")
}

// bugsStats are document frequencies of the bug cache's words (MySQL) or
// trigrams (SQLite), counted over a sample of at most ~50,000 summaries, so
// a search can require its term's rarest words: the indexes read short
// lists then. They are approximate and may be stale (rebuilt hourly, in the
// background); that costs speed, never results, since the LIKE conditions
// decide.
type bugsStats struct {
	words map[string]int32
	grams map[string]int32
	docs  int
}

type bugsStatsHolder struct {
	mu       sync.Mutex
	stats    *bugsStats
	built    time.Time
	building bool
}

var bugsStatsByStore sync.Map // weak.Pointer[Store] -> *bugsStatsHolder

const bugsStatsMaxAge = time.Hour

func (s *Store) bugsStatsHolder() *bugsStatsHolder {
	key := weak.Make(s)
	if h, ok := bugsStatsByStore.Load(key); ok {
		return h.(*bugsStatsHolder)
	}
	h, loaded := bugsStatsByStore.LoadOrStore(key, &bugsStatsHolder{})
	if !loaded {
		runtime.AddCleanup(s, func(k weak.Pointer[Store]) { bugsStatsByStore.Delete(k) }, key)
	}
	return h.(*bugsStatsHolder)
}

// searchStats returns the current statistics (nil until first built) and
// starts a rebuild in the background when they are missing or old.
func (s *Store) searchStats() *bugsStats {
	h := s.bugsStatsHolder()
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.building && time.Since(h.built) > bugsStatsMaxAge {
		h.building = true
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			st, err := s.buildBugsStats(ctx)
			h.mu.Lock()
			defer h.mu.Unlock()
			h.building = false
			h.built = time.Now()
			if err == nil {
				h.stats = st
			}
		}()
	}
	return h.stats
}

// WarmBugSearch builds the search statistics now (benchmarks; a server
// builds them in the background on its first search).
func (s *Store) WarmBugSearch(ctx context.Context) error {
	st, err := s.buildBugsStats(ctx)
	if err != nil {
		return err
	}
	h := s.bugsStatsHolder()
	h.mu.Lock()
	h.stats, h.built = st, time.Now()
	h.mu.Unlock()
	return nil
}

func (s *Store) buildBugsStats(ctx context.Context) (*bugsStats, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM bugscache").Scan(&n); err != nil {
		return nil, fmt.Errorf("bug search statistics: %w", err)
	}
	every := max(n/50000, 1)
	col := "summary"
	if s.d.name == "mysql" {
		col = "summary_lc"
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+col+" FROM bugscache WHERE id % ? = 0", every)
	if err != nil {
		return nil, fmt.Errorf("bug search statistics: %w", err)
	}
	defer rows.Close()
	st := &bugsStats{words: map[string]int32{}, grams: map[string]int32{}}
	seen := map[string]bool{}
	for rows.Next() {
		var sum string
		if err := rows.Scan(&sum); err != nil {
			return nil, err
		}
		st.docs++
		sum = strings.ToLower(sum)
		clear(seen)
		if s.d.name == "mysql" {
			for _, w := range strings.FieldsFunc(sum, func(r rune) bool {
				return !(r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'))
			}) {
				if !seen[w] {
					seen[w] = true
					st.words[w]++
				}
			}
			continue
		}
		for i := 0; i+3 <= len(sum); i++ {
			if g := sum[i : i+3]; !seen[g] {
				seen[g] = true
				st.grams[g]++
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	scale := int32(every)
	for w, c := range st.words {
		if c < 2 {
			delete(st.words, w) // absent means rare anyway
		} else {
			st.words[w] = c * scale
		}
	}
	for g, c := range st.grams {
		st.grams[g] = c * scale
	}
	st.docs *= int(every)
	return st, nil
}

// OptimizeBugSearch compacts the bug search index. Deleted and rewritten
// summaries leave marks both indexes read on every search (InnoDB's list of
// deleted full-text documents, FTS5's delete markers and segments): after
// half a million changes a search takes 100 ms instead of 0.2 ms. Data
// cycling runs this daily, and a sync after deleting many bugs. On MySQL it
// rebuilds the table online (about 10 s for 500,000 bugs).
func (s *Store) OptimizeBugSearch(ctx context.Context) error {
	q := "INSERT INTO bugscache_fts (bugscache_fts) VALUES ('optimize')"
	if s.d.name == "mysql" {
		q = "OPTIMIZE TABLE bugscache"
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("optimize the bug search index: %w", err)
	}
	// OPTIMIZE TABLE answers with status rows; an error shows there.
	for rows.Next() {
		var table, op, kind, msg string
		if err := rows.Scan(&table, &op, &kind, &msg); err == nil && strings.EqualFold(kind, "error") {
			rows.Close()
			return fmt.Errorf("optimize the bug search index: %s", msg)
		}
	}
	rows.Close()
	return rows.Err()
}

// ---------------------------------------------------------------------------
// Matching a job

// BugMatchInput returns what matching a job needs: its repository, push
// revision, submit time, result and stored error lines.
func (s *Store) BugMatchInput(ctx context.Context, jobID int64) (store.BugMatchJob, error) {
	j := store.BugMatchJob{JobID: jobID}
	var counted sql.NullBool
	err := s.db.QueryRowContext(ctx, `SELECT j.repository_id, r.name, p.revision, j.submit_time, j.result,
		j.failure_classification_id, m.counted
		FROM job j JOIN repository r ON r.id = j.repository_id JOIN push p ON p.id = j.push_id
		LEFT JOIN bug_match_job m ON m.job_id = j.id WHERE j.id = ?`, jobID).Scan(&j.RepositoryID, &j.Repository,
		&j.Revision, &j.SubmitTime, &j.Result, &j.FailureClassificationID, &counted)
	if errors.Is(err, sql.ErrNoRows) {
		return j, fmt.Errorf("job %d: %w", jobID, store.ErrNotFound)
	}
	if err != nil {
		return j, fmt.Errorf("job %d: %w", jobID, err)
	}
	j.Matched, j.Counted = counted.Valid, counted.Valid && counted.Bool
	rows, err := s.db.QueryContext(ctx, "SELECT line_number, line FROM text_log_error WHERE job_id = ? ORDER BY id", jobID)
	if err != nil {
		return j, fmt.Errorf("error lines of job %d: %w", jobID, err)
	}
	for rows.Next() {
		var l sdk.BugLine
		if err := rows.Scan(&l.LineNumber, &l.Line); err != nil {
			rows.Close()
			return j, err
		}
		j.Lines = append(j.Lines, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return j, err
	}
	if !j.Counted {
		return j, nil
	}
	rows, err = s.db.QueryContext(ctx, "SELECT line_number, search, counter, failure_new_in_rev FROM bug_suggestion WHERE job_id = ?", jobID)
	if err != nil {
		return j, fmt.Errorf("earlier suggestions of job %d: %w", jobID, err)
	}
	defer rows.Close()
	j.Previous = map[int64]store.StoredSuggestion{}
	for rows.Next() {
		var p store.StoredSuggestion
		if err := rows.Scan(&p.LineNumber, &p.Search, &p.Counter, &p.FailureNewInRev); err != nil {
			return j, err
		}
		j.Previous[p.LineNumber] = p
	}
	return j, rows.Err()
}

// CountErrorLines runs Treeherder's 21-day line cache for one job: for each
// line in order, the counter is the line's sightings in the window before
// this one; where the repository counts, a line not seen yet today is
// recorded, with this revision as the one that showed it first when the
// window had never seen it. FailureNewInRev is read back after the write,
// so two jobs racing for the same new line agree on which was first.
func (s *Store) CountErrorLines(ctx context.Context, req store.LineCountRequest) ([]store.LineCount, error) {
	out := make([]store.LineCount, len(req.Keys))
	if len(req.Keys) == 0 {
		return out, nil
	}
	uniq := map[string]bool{}
	var keys []string
	for _, k := range req.Keys {
		if !uniq[k] {
			uniq[k] = true
			keys = append(keys, k)
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		totals := map[string]int64{}
		today := map[string]bool{}
		newRev := map[string]string{}
		args := append([]any{req.Namespace, req.Since}, anySlice(keys)...)
		rows, err := tx.QueryContext(ctx, `SELECT line_hash, day, count, new_revision FROM error_line_count
			WHERE namespace = ? AND day >= ? AND line_hash IN `+inList(len(keys)), args...)
		if err != nil {
			return fmt.Errorf("read line counts: %w", err)
		}
		for rows.Next() {
			var h string
			var day, n int64
			var rev sql.NullString
			if err := rows.Scan(&h, &day, &n, &rev); err != nil {
				rows.Close()
				return err
			}
			totals[h] += n
			if day == req.Day {
				today[h] = true
				newRev[h] = rev.String
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		add := map[string]int64{}
		firstRev := map[string]bool{}
		for i, k := range req.Keys {
			out[i].Counter = totals[k]
			if !req.Increment {
				continue
			}
			if !today[k] {
				today[k] = true
				if totals[k] == 0 {
					firstRev[k] = true
					newRev[k] = req.Revision
				}
			}
			totals[k]++
			add[k]++
		}
		if req.Increment && len(add) > 0 {
			suffix := s.bugsUpsert([]string{"namespace", "line_hash", "day"}, map[string]string{"count": "error_line_count.count + NEW(count)"})
			if s.d.name == "mysql" {
				suffix = " ON DUPLICATE KEY UPDATE count = count + VALUES(count)"
			}
			var vals []any
			for _, k := range keys {
				if add[k] == 0 {
					continue
				}
				var rev any
				if firstRev[k] {
					rev = req.Revision
				}
				vals = append(vals, req.Namespace, k, req.Day, add[k], rev)
			}
			q := "INSERT INTO error_line_count (namespace, line_hash, day, count, new_revision) VALUES " +
				placeholders(len(vals)/5, 5) + suffix
			if _, err := tx.ExecContext(ctx, q, vals...); err != nil {
				return fmt.Errorf("count lines: %w", err)
			}
			rows, err := tx.QueryContext(ctx, `SELECT line_hash, new_revision FROM error_line_count
				WHERE namespace = ? AND day = ? AND line_hash IN `+inList(len(keys)), append([]any{req.Namespace, req.Day}, anySlice(keys)...)...)
			if err != nil {
				return fmt.Errorf("read first revisions: %w", err)
			}
			for rows.Next() {
				var h string
				var rev sql.NullString
				if err := rows.Scan(&h, &rev); err != nil {
					rows.Close()
					return err
				}
				newRev[h] = rev.String
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		for i, k := range req.Keys {
			out[i].FailureNewInRev = req.Revision != "" && newRev[k] == req.Revision
		}
		return nil
	})
	return out, err
}

// PruneErrorLineCounts forgets line sightings of days before `beforeDay`.
func (s *Store) PruneErrorLineCounts(ctx context.Context, beforeDay int64) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM error_line_count WHERE day < ?", beforeDay)
	if err != nil {
		return 0, fmt.Errorf("prune line counts: %w", err)
	}
	return res.RowsAffected()
}

// bugsStored is the JSON kept in bug_suggestion.bugs: [cache id, Bugzilla
// id or null] pairs, open bugs first.
type bugsStored struct {
	Open   [][2]*int64 `json:"o"`
	Others [][2]*int64 `json:"a"`
}

// StoreBugMatch replaces a job's suggestions, records the match, and marks
// new failures (the lines' new_failure; classification 6 for a job nobody
// classified yet), in one transaction.
func (s *Store) StoreBugMatch(ctx context.Context, m store.BugMatchOutcome) error {
	ids := map[int64]bool{}
	for _, l := range m.Lines {
		for _, id := range append(append([]int64{}, l.OpenRecent...), l.AllOthers...) {
			ids[id] = true
		}
	}
	bz, err := s.bugzillaIDs(ctx, bugsSortedKeys(ids))
	if err != nil {
		return err
	}
	now := s.now().Unix()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM bug_suggestion WHERE job_id = ?", m.JobID); err != nil {
			return fmt.Errorf("clear suggestions of job %d: %w", m.JobID, err)
		}
		const cols = 10
		step := chunkSize(s.d.maxParams, cols)
		for start := 0; start < len(m.Lines); start += step {
			end := min(start+step, len(m.Lines))
			args := make([]any, 0, (end-start)*cols)
			for _, l := range m.Lines[start:end] {
				terms := l.SearchTerms
				if terms == nil {
					terms = []*string{}
				}
				tj, _ := json.Marshal(terms)
				sb := bugsStored{Open: [][2]*int64{}, Others: [][2]*int64{}}
				for _, id := range l.OpenRecent {
					sb.Open = append(sb.Open, [2]*int64{bugsPtr64(id), bz[id]})
				}
				for _, id := range l.AllOthers {
					sb.Others = append(sb.Others, [2]*int64{bugsPtr64(id), bz[id]})
				}
				bj, _ := json.Marshal(sb)
				args = append(args, m.JobID, l.LineNumber, l.Search, string(tj), l.PathEnd, string(bj), l.Counter,
					l.FailureNewInRev, m.AlgorithmVersion, now)
			}
			q := `INSERT INTO bug_suggestion (job_id, line_number, search, search_terms, path_end, bugs, counter,
				failure_new_in_rev, algorithm_version, created) VALUES ` + placeholders(end-start, cols)
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("store suggestions of job %d: %w", m.JobID, err)
			}
		}
		q := "INSERT INTO bug_match_job (job_id, algorithm_version, counted, matched) VALUES (?, ?, ?, ?)" +
			s.bugsUpsert([]string{"job_id"}, map[string]string{"algorithm_version": "NEW(algorithm_version)",
				"counted": "NEW(counted)", "matched": "NEW(matched)"})
		if _, err := tx.ExecContext(ctx, q, m.JobID, m.AlgorithmVersion, m.Counted, now); err != nil {
			return fmt.Errorf("record match of job %d: %w", m.JobID, err)
		}
		if len(m.NewFailureLines) > 0 {
			if _, err := tx.ExecContext(ctx, "UPDATE text_log_error SET new_failure = ? WHERE job_id = ? AND line_number IN "+
				inList(len(m.NewFailureLines)), append([]any{true, m.JobID}, anySlice(m.NewFailureLines)...)...); err != nil {
				return fmt.Errorf("mark new failures of job %d: %w", m.JobID, err)
			}
		}
		if m.ClassifyNewFailure {
			if _, err := tx.ExecContext(ctx, "UPDATE job SET failure_classification_id = ?, last_modified = ? WHERE id = ? AND failure_classification_id = ?",
				model.FCNewFailure, s.nowMicros(), m.JobID, model.FCNotClassified); err != nil {
				return fmt.Errorf("classify job %d as a new failure: %w", m.JobID, err)
			}
		}
		return nil
	})
}

func bugsPtr64(n int64) *int64 { return &n }

func (s *Store) bugzillaIDs(ctx context.Context, ids []int64) (map[int64]*int64, error) {
	out := map[int64]*int64{}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		rows, err := s.db.QueryContext(ctx, "SELECT id, bugzilla_id FROM bugscache WHERE id IN "+inList(len(chunk)), anySlice(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("bugzilla ids: %w", err)
		}
		for rows.Next() {
			var id int64
			var bz sql.NullInt64
			if err := rows.Scan(&id, &bz); err != nil {
				rows.Close()
				return nil, err
			}
			if bz.Valid {
				out[id] = bugsPtr64(bz.Int64)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// BugSuggestions returns a job's stored suggestions, one per error line in
// line order, with the bugs' current cache rows: a bug resolved since the
// match moves to all_others, and bugs gone from the cache are left out. A
// job never matched has none (an empty list).
func (s *Store) BugSuggestions(ctx context.Context, jobID int64) ([]store.BugSuggestion, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT line_number, search, search_terms, path_end, bugs, counter,
		failure_new_in_rev FROM bug_suggestion WHERE job_id = ? ORDER BY line_number`, jobID)
	if err != nil {
		return nil, fmt.Errorf("suggestions of job %d: %w", jobID, err)
	}
	type line struct {
		s    store.BugSuggestion
		bugs bugsStored
	}
	var lines []line
	for rows.Next() {
		var l line
		var terms, bugs string
		var pathEnd sql.NullString
		if err := rows.Scan(&l.s.LineNumber, &l.s.Search, &terms, &pathEnd, &bugs, &l.s.Counter, &l.s.FailureNewInRev); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(terms), &l.s.SearchTerms); err != nil {
			rows.Close()
			return nil, fmt.Errorf("suggestions of job %d line %d: search terms: %w", jobID, l.s.LineNumber, err)
		}
		if err := json.Unmarshal([]byte(bugs), &l.bugs); err != nil {
			rows.Close()
			return nil, fmt.Errorf("suggestions of job %d line %d: bugs: %w", jobID, l.s.LineNumber, err)
		}
		if pathEnd.Valid {
			l.s.PathEnd = &pathEnd.String
		}
		lines = append(lines, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ids := map[int64]bool{}
	for _, l := range lines {
		for _, p := range append(append([][2]*int64{}, l.bugs.Open...), l.bugs.Others...) {
			if p[0] != nil {
				ids[*p[0]] = true
			}
		}
	}
	bugs, err := s.suggestedBugs(ctx, bugsSortedKeys(ids))
	if err != nil {
		return nil, fmt.Errorf("suggestions of job %d: %w", jobID, err)
	}
	out := make([]store.BugSuggestion, 0, len(lines))
	for _, l := range lines {
		sg := l.s
		if sg.SearchTerms == nil {
			sg.SearchTerms = []*string{}
		}
		sg.Bugs = store.SuggestedBugs{OpenRecent: []store.SuggestedBug{}, AllOthers: []store.SuggestedBug{}}
		for _, p := range append(append([][2]*int64{}, l.bugs.Open...), l.bugs.Others...) {
			if p[0] == nil {
				continue
			}
			b, ok := bugs[*p[0]]
			if !ok || !bugsSameID(b.ID, p[1]) {
				continue // gone from the cache, or its id now names another bug
			}
			if b.Resolution == "" {
				sg.Bugs.OpenRecent = append(sg.Bugs.OpenRecent, b)
			} else {
				sg.Bugs.AllOthers = append(sg.Bugs.AllOthers, b)
			}
		}
		out = append(out, sg)
	}
	return out, nil
}

func bugsSameID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// suggestedBugs reads bug cache rows by id, with the 7-day occurrences of
// internal issues.
func (s *Store) suggestedBugs(ctx context.Context, ids []int64) (map[int64]store.SuggestedBug, error) {
	out := map[int64]store.SuggestedBug{}
	var internal []int64
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		rows, err := s.db.QueryContext(ctx, `SELECT id, bugzilla_id, status, resolution, summary, dupe_of, crash_signature,
			keywords, whiteboard FROM bugscache WHERE id IN `+inList(len(chunk)), anySlice(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("read bugs: %w", err)
		}
		for rows.Next() {
			var b store.SuggestedBug
			var bz, dupe sql.NullInt64
			if err := rows.Scan(&b.InternalID, &bz, &b.Status, &b.Resolution, &b.Summary, &dupe, &b.CrashSignature,
				&b.Keywords, &b.Whiteboard); err != nil {
				rows.Close()
				return nil, err
			}
			if bz.Valid {
				b.ID = bugsPtr64(bz.Int64)
			} else {
				internal = append(internal, b.InternalID)
			}
			if dupe.Valid {
				b.DupeOf = bugsPtr64(dupe.Int64)
			}
			out[b.InternalID] = b
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(internal) > 0 {
		since := s.now().Add(-7 * 24 * time.Hour).Unix()
		counts := map[int64]int64{}
		rows, err := s.db.QueryContext(ctx, "SELECT bug_id, COUNT(*) FROM bug_job_map WHERE created >= ? AND bug_id IN "+
			inList(len(internal))+" GROUP BY bug_id", append([]any{since}, anySlice(internal)...)...)
		if err != nil {
			return nil, fmt.Errorf("occurrences of internal issues: %w", err)
		}
		for rows.Next() {
			var id, n int64
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, err
			}
			counts[id] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, id := range internal {
			b := out[id]
			b.Occurrences = bugsPtr64(counts[id])
			out[id] = b
		}
	}
	return out, nil
}

// ---------------------------------------------------------------------------
// The work queue

// EnqueueBugWork queues work for a job after one of its logs was parsed.
func (s *Store) EnqueueBugWork(ctx context.Context, jobID int64, kind string, jobLogID int64) error {
	if _, err := s.db.ExecContext(ctx, "INSERT INTO bug_work (job_id, kind, job_log_id, created) VALUES (?, ?, ?, ?)",
		jobID, kind, jobLogID, s.now().Unix()); err != nil {
		return fmt.Errorf("queue %s work for job %d: %w", kind, jobID, err)
	}
	return nil
}

// ClaimBugWork leases up to limit queued items for `lease`, oldest first.
// Another process claiming at the same time gets other items: the UPDATE
// only takes rows whose lease is still free.
func (s *Store) ClaimBugWork(ctx context.Context, limit int, lease time.Duration) ([]store.BugWork, error) {
	now := s.now().Unix()
	ids, err := bugsInt64s(ctx, s.db, "SELECT id FROM bug_work WHERE claimed_until < ? ORDER BY id LIMIT ?", now, limit)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var tok [12]byte
	_, _ = rand.Read(tok[:])
	claim := hex.EncodeToString(tok[:])
	if _, err := s.db.ExecContext(ctx, "UPDATE bug_work SET claim = ?, claimed_until = ?, attempts = attempts + 1 WHERE claimed_until < ? AND id IN "+
		inList(len(ids)), append([]any{claim, now + int64(lease/time.Second), now}, anySlice(ids)...)...); err != nil {
		return nil, fmt.Errorf("claim bug work: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT w.id, w.job_id, w.kind, w.job_log_id, w.created, w.attempts, COALESCE(l.status, -1)
		FROM bug_work w LEFT JOIN job_log l ON l.id = w.job_log_id WHERE w.claim = ? ORDER BY w.id`, claim)
	if err != nil {
		return nil, fmt.Errorf("read claimed bug work: %w", err)
	}
	defer rows.Close()
	var out []store.BugWork
	for rows.Next() {
		var w store.BugWork
		if err := rows.Scan(&w.ID, &w.JobID, &w.Kind, &w.JobLogID, &w.Created, &w.Attempts, &w.LogStatus); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// FinishBugWork removes done (or abandoned) work.
func (s *Store) FinishBugWork(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, "DELETE FROM bug_work WHERE id IN "+inList(len(ids)), anySlice(ids)...); err != nil {
		return fmt.Errorf("finish bug work: %w", err)
	}
	return nil
}

// RetryBugWork frees an item for another attempt at `at` (unix seconds).
func (s *Store) RetryBugWork(ctx context.Context, id, at int64) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE bug_work SET claim = '', claimed_until = ? WHERE id = ?", at, id); err != nil {
		return fmt.Errorf("retry bug work %d: %w", id, err)
	}
	return nil
}

// PendingBugWork counts queued items.
func (s *Store) PendingBugWork(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM bug_work").Scan(&n)
	return n, err
}

// ---------------------------------------------------------------------------
// Small helpers

type bugsQuerier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func bugsInt64s(ctx context.Context, db bugsQuerier, q string, args ...any) ([]int64, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func (s *Store) bugsInt64Set(ctx context.Context, q string, args ...any) (map[int64]bool, error) {
	list, err := bugsInt64s(ctx, s.db, q, args...)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]bool, len(list))
	for _, n := range list {
		out[n] = true
	}
	return out, nil
}

func bugsSortedKeys(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// MaintenanceState returns a named maintenance value; ok is false when it was never set.
func (s *Store) MaintenanceState(ctx context.Context, name string) (string, bool, error) {
	var v string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM maintenance_state WHERE name = ?", name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read state %s: %w", name, err)
	}
	return v, true, nil
}

// SetMaintenanceState stores a named maintenance value.
func (s *Store) SetMaintenanceState(ctx context.Context, name, value string) error {
	q := "INSERT INTO maintenance_state (name, value, updated) VALUES (?, ?, ?)" +
		s.bugsUpsert([]string{"name"}, map[string]string{"value": "NEW(value)", "updated": "NEW(updated)"})
	if _, err := s.db.ExecContext(ctx, q, name, value, s.now().Unix()); err != nil {
		return fmt.Errorf("store state %s: %w", name, err)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Intermittent classification (Treeherder's log_parser/intermittents.py)

// IntermittentJob returns the job whose group results were just stored.
func (s *Store) IntermittentJob(ctx context.Context, jobID int64) (store.IntermittentJob, error) {
	var j store.IntermittentJob
	err := s.db.QueryRowContext(ctx, `SELECT j.id, j.repository_id, r.name, j.push_id, p.time, jt.name, j.result,
		j.failure_classification_id FROM job j JOIN repository r ON r.id = j.repository_id
		JOIN push p ON p.id = j.push_id JOIN job_type jt ON jt.id = j.job_type_id WHERE j.id = ?`, jobID).Scan(
		&j.ID, &j.RepositoryID, &j.Repository, &j.PushID, &j.PushTime, &j.JobTypeName, &j.Result, &j.FailureClassificationID)
	if errors.Is(err, sql.ErrNoRows) {
		return j, fmt.Errorf("job %d: %w", jobID, store.ErrNotFound)
	}
	if err != nil {
		return j, fmt.Errorf("job %d: %w", jobID, err)
	}
	return j, nil
}

// RecentPushIDs lists a repository's pushes since `since` (unix seconds),
// newest id first.
func (s *Store) RecentPushIDs(ctx context.Context, repositoryID, since int64) ([]int64, error) {
	ids, err := bugsInt64s(ctx, s.db, "SELECT id FROM push WHERE repository_id = ? AND time >= ? ORDER BY id DESC", repositoryID, since)
	if err != nil {
		return nil, fmt.Errorf("recent pushes of repository %d: %w", repositoryID, err)
	}
	return ids, nil
}

// GroupRows returns the OK and ERROR group results of jobs in the push id
// range of a repository whose job type name starts with prefix, classified
// 1, 4, 6 or 8, with result success or testfailed; newest push first.
func (s *Store) GroupRows(ctx context.Context, repositoryID, minPush, maxPush int64, prefix string) ([]store.GroupRow, error) {
	esc := strings.NewReplacer("=", "==", "%", "=%", "_", "=_").Replace(prefix)
	rows, err := s.db.QueryContext(ctx, `SELECT g.name, j.id, gs.status, jt.name, j.push_id, j.failure_classification_id
		FROM group_status gs JOIN test_group g ON g.id = gs.group_id JOIN job_log l ON l.id = gs.job_log_id
		JOIN job j ON j.id = l.job_id JOIN job_type jt ON jt.id = j.job_type_id
		WHERE j.repository_id = ? AND j.push_id BETWEEN ? AND ? AND jt.name LIKE ? ESCAPE '='
		AND j.failure_classification_id IN (1, 4, 6, 8) AND j.result IN ('success', 'testfailed')
		AND gs.status IN (1, 2) AND g.name <> ''
		ORDER BY j.push_id DESC, j.id, gs.id`, repositoryID, minPush, maxPush, esc+"%")
	if err != nil {
		return nil, fmt.Errorf("group results: %w", err)
	}
	defer rows.Close()
	var out []store.GroupRow
	for rows.Next() {
		var r store.GroupRow
		if err := rows.Scan(&r.Group, &r.JobID, &r.Status, &r.JobTypeName, &r.PushID, &r.FailureClassificationID); err != nil {
			return nil, err
		}
		// SQLite's LIKE ignores ASCII case; startswith does not.
		if strings.HasPrefix(r.JobTypeName, prefix) {
			out = append(out, r)
		}
	}
	return out, rows.Err()
}

// InfraJobs returns the completed jobs of one job type in the push id range
// that have a parsed (or too large) log, classified 1, 6 or 8, whose result
// is busted, testfailed, exception or success.
func (s *Store) InfraJobs(ctx context.Context, repositoryID, minPush, maxPush int64, jobType string) ([]store.InfraJob, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT j.id, j.result, j.failure_classification_id
		FROM job j JOIN job_type jt ON jt.id = j.job_type_id JOIN job_log l ON l.job_id = j.id
		WHERE j.repository_id = ? AND j.push_id BETWEEN ? AND ? AND jt.name = ?
		AND j.failure_classification_id IN (1, 6, 8) AND l.status IN (?, ?) AND j.state = 'completed'
		AND j.result IN ('busted', 'testfailed', 'exception', 'success') ORDER BY j.id`,
		repositoryID, minPush, maxPush, jobType, model.LogParsed, model.LogSkippedSize)
	if err != nil {
		return nil, fmt.Errorf("jobs for the infra check: %w", err)
	}
	defer rows.Close()
	var out []store.InfraJob
	for rows.Next() {
		var j store.InfraJob
		if err := rows.Scan(&j.ID, &j.Result, &j.FailureClassificationID); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// ApplyIntermittent is Treeherder's classify(): failed jobs (testfailed,
// classified 1 or 6) to classify become 8; jobs to unclassify go back to 6
// when one of their lines is a new failure and they are still 8, else to 1.
func (s *Store) ApplyIntermittent(ctx context.Context, classify, unclassify []int64) error {
	if len(classify) == 0 && len(unclassify) == 0 {
		return nil
	}
	now := s.nowMicros()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if len(classify) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE job SET failure_classification_id = ?, last_modified = ?
				WHERE result = 'testfailed' AND failure_classification_id IN (?, ?) AND id IN `+inList(len(classify)),
				append([]any{model.FCIntermittentNeedsBugID, now, model.FCNotClassified, model.FCNewFailure}, anySlice(classify)...)...); err != nil {
				return fmt.Errorf("classify intermittents: %w", err)
			}
		}
		if len(unclassify) == 0 {
			return nil
		}
		newJobs, err := bugsInt64s(ctx, tx, `SELECT DISTINCT t.job_id FROM text_log_error t JOIN job j ON j.id = t.job_id
			WHERE t.new_failure = ? AND j.failure_classification_id = ? AND t.job_id IN `+inList(len(unclassify)),
			append([]any{true, model.FCIntermittentNeedsBugID}, anySlice(unclassify)...)...)
		if err != nil {
			return fmt.Errorf("new failures among unclassified jobs: %w", err)
		}
		isNew := map[int64]bool{}
		for _, id := range newJobs {
			isNew[id] = true
		}
		var regular []int64
		for _, id := range unclassify {
			if !isNew[id] {
				regular = append(regular, id)
			}
		}
		for _, set := range []struct {
			ids []int64
			fc  int
		}{{newJobs, model.FCNewFailure}, {regular, model.FCNotClassified}} {
			if len(set.ids) == 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE job SET failure_classification_id = ?, last_modified = ?
				WHERE result = 'testfailed' AND id IN `+inList(len(set.ids)), append([]any{set.fc, now}, anySlice(set.ids)...)...); err != nil {
				return fmt.Errorf("unclassify intermittents: %w", err)
			}
		}
		return nil
	})
}

// ---------------------------------------------------------------------------
// The intermittents commenter

// BugClassifications lists the jobs classified with a Bugzilla bug whose
// push is in [from, to] (unix seconds), with what the comment breaks them
// down by.
func (s *Store) BugClassifications(ctx context.Context, from, to int64) ([]store.BugClassification, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT b.id, b.bugzilla_id, b.whiteboard, r.name, mp.platform, j.option_collection_hash
		FROM bug_job_map m JOIN bugscache b ON b.id = m.bug_id JOIN job j ON j.id = m.job_id
		JOIN push p ON p.id = j.push_id JOIN repository r ON r.id = j.repository_id
		JOIN machine_platform mp ON mp.id = j.machine_platform_id
		WHERE p.time BETWEEN ? AND ? AND b.bugzilla_id IS NOT NULL ORDER BY b.bugzilla_id, m.id`, from, to)
	if err != nil {
		return nil, fmt.Errorf("classifications with bugs: %w", err)
	}
	defer rows.Close()
	var out []store.BugClassification
	for rows.Next() {
		var c store.BugClassification
		if err := rows.Scan(&c.BugInternalID, &c.BugzillaID, &c.Whiteboard, &c.Repository, &c.Platform, &c.OptionCollectionHash); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PushCount counts pushes (of every repository) in [from, to].
func (s *Store) PushCount(ctx context.Context, from, to int64) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM push WHERE time BETWEEN ? AND ?", from, to).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pushes: %w", err)
	}
	return n, nil
}
