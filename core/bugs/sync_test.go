package bugs

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/sdk"
)

// dupesOf returns the Bugzilla ids whose dupe_of is open.
func dupesOf(t *testing.T, st *sqlstore.Store, open int64) []int64 {
	t.Helper()
	rows, err := st.DB().QueryContext(ctx, "SELECT bugzilla_id FROM bugscache WHERE dupe_of = ? ORDER BY bugzilla_id", open)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		out = append(out, id)
	}
	return out
}

// Treeherder's tests/model/test_bugscache.py::test_import: the population
// from run-N.json follows duplicate chains to the open bugs and back to
// every duplicate.
func TestSyncPopulation(t *testing.T) {
	backends(t, func(t *testing.T, st *sqlstore.Store) {
		bz := newFakeBugzilla(t)
		s := &Sync{Store: st, Bugzilla: bz.client(t, BugzillaOptions{})}
		rep, err := s.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		bug, err := st.CachedBug(ctx, 1652208)
		if err != nil {
			t.Fatal(err)
		}
		if bug.Status != "RESOLVED" || bug.Resolution != "DUPLICATE" || bug.CrashSignature != "[@ some::mock_signature]" ||
			bug.Summary != "Intermittent dom/canvas/test/webgl-conf/generated/test_2_conformance__ogles__GL__swizzlers__swizzlers_105_to_112.html | Test timed out." ||
			bug.Whiteboard != "[we have to do something about this][it's urgent]" || bug.Keywords != "intermittent-failure" ||
			bug.DupeOf == nil || *bug.DupeOf != 1662628 {
			t.Errorf("bug 1652208 = %+v", bug)
		}
		want := map[int64][]int64{
			1392106: {1442991, 1443801},
			1411358: {1204281},
			1662628: {1652208, 1660324, 1660719, 1660765, 1663081, 1663118, 1702255},
			1736534: nil,
		}
		total := 0
		for open, dups := range want {
			b, err := st.CachedBug(ctx, open)
			if err != nil {
				t.Fatalf("open bug %d: %v", open, err)
			}
			if b.DupeOf != nil {
				t.Errorf("open bug %d has dupe_of %d", open, *b.DupeOf)
			}
			if got := dupesOf(t, st, open); !reflect.DeepEqual(got, dups) {
				t.Errorf("duplicates of %d = %v, want %v", open, got, dups)
			}
			total += 1 + len(dups)
		}
		if n, _ := st.CountBugs(ctx); n != int64(total) {
			t.Errorf("%d bugs cached, want %d", n, total)
		}
		// Duplicates live as long as their open bug.
		open, _ := st.CachedBug(ctx, 1662628)
		if bug.Modified != open.Modified {
			t.Errorf("duplicate modified %d, open bug %d", bug.Modified, open.Modified)
		}
		// The seed asks for a year of changes, 500 at a time, with Treeherder's fields.
		first, _ := url.ParseQuery(bz.queries()[0])
		if first.Get("keywords") != "intermittent-failure" || first.Get("limit") != "500" || first.Get("offset") != "0" ||
			first.Get("include_fields") != "id,summary,status,resolution,dupe_of,duplicates,cf_crash_signature,keywords,last_change_time,whiteboard" {
			t.Errorf("seed query = %v", first)
		}
		since, err := time.Parse("2006-01-02T15:04:05Z", first.Get("last_change_time"))
		if err != nil || time.Since(since) < 364*24*time.Hour || time.Since(since) > 366*24*time.Hour {
			t.Errorf("seed since %q", first.Get("last_change_time"))
		}
		if rep.Iterations != 5 || rep.Stored != 14 || len(rep.Skipped) != 0 {
			t.Errorf("report = %+v", rep)
		}
	})
}

// A second run asks only for changes since the newest cached change less
// ten minutes, and updates what changed.
func TestSyncIncremental(t *testing.T) {
	backends(t, func(t *testing.T, st *sqlstore.Store) {
		bz := newFakeBugzilla(t)
		s := &Sync{Store: st, Bugzilla: bz.client(t, BugzillaOptions{})}
		if _, err := s.Run(ctx); err != nil {
			t.Fatal(err)
		}
		newest, _, _ := st.BugsMaxModified(ctx)
		// Bugzilla now has one changed bug and one new one.
		changed := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04:05Z")
		bz.mu.Lock()
		updated := map[string]any{}
		for k, v := range bz.byID[1736534] {
			updated[k] = v
		}
		updated["summary"] = "Intermittent devtools/client/netmonitor/test/browser_net_resend_cors.js | now permanent"
		updated["resolution"], updated["status"] = "FIXED", "RESOLVED"
		updated["last_change_time"] = changed
		fresh := map[string]any{"id": 1800000, "summary": "Intermittent new/test_fresh.html | boom", "status": "NEW",
			"resolution": "", "dupe_of": nil, "duplicates": []any{}, "cf_crash_signature": "", "keywords": []any{"intermittent-failure"},
			"last_change_time": changed, "whiteboard": ""}
		bz.seed = []map[string]any{updated, fresh}
		bz.byID[1736534], bz.byID[1800000] = updated, fresh
		before := len(bz.requests)
		bz.mu.Unlock()

		rep, err := s.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		q, _ := url.ParseQuery(bz.queries()[before])
		wantSince := time.Unix(newest-600, 0).UTC().Format("2006-01-02T15:04:05Z")
		if q.Get("last_change_time") != wantSince {
			t.Errorf("incremental since = %q, want %q", q.Get("last_change_time"), wantSince)
		}
		b, _ := st.CachedBug(ctx, 1736534)
		if !strings.HasSuffix(b.Summary, "now permanent") || b.Resolution != "FIXED" {
			t.Errorf("updated bug = %+v", b)
		}
		if _, err := st.CachedBug(ctx, 1800000); err != nil {
			t.Errorf("new bug: %v", err)
		}
		if n, _ := st.CountBugs(ctx); n != 15 {
			t.Errorf("%d bugs cached, want 15", n)
		}
		if rep.Stored != 2 {
			t.Errorf("report = %+v", rep)
		}
	})
}

// Bugzilla down or slow: the sync retries, then fails, and the cache keeps
// every bug it had.
func TestSyncBugzillaDown(t *testing.T) {
	backends(t, func(t *testing.T, st *sqlstore.Store) {
		bz := newFakeBugzilla(t)
		if _, err := (&Sync{Store: st, Bugzilla: bz.client(t, BugzillaOptions{})}).Run(ctx); err != nil {
			t.Fatal(err)
		}
		before, _ := st.CountBugs(ctx)

		// Two failures are retried away.
		bz.mu.Lock()
		bz.fail = 2
		n := len(bz.requests)
		bz.mu.Unlock()
		if _, err := (&Sync{Store: st, Bugzilla: bz.client(t, BugzillaOptions{Attempts: 3})}).Run(ctx); err != nil {
			t.Fatalf("sync with two failures: %v", err)
		}
		if got := len(bz.queries()) - n; got < 3 {
			t.Errorf("%d requests, want the failures retried", got)
		}

		// Down for good: the run fails after its attempts.
		bz.mu.Lock()
		bz.failAll = true
		n = len(bz.requests)
		bz.mu.Unlock()
		_, err := (&Sync{Store: st, Bugzilla: bz.client(t, BugzillaOptions{Attempts: 3})}).Run(ctx)
		if err == nil || !strings.Contains(err.Error(), "HTTP 500") {
			t.Fatalf("sync against a dead Bugzilla: %v", err)
		}
		if got := len(bz.queries()) - n; got != 3 {
			t.Errorf("%d attempts, want 3", got)
		}
		if after, _ := st.CountBugs(ctx); after != before {
			t.Errorf("cache went from %d to %d bugs", before, after)
		}

		// Slow: each attempt times out.
		bz.mu.Lock()
		bz.failAll, bz.delay = false, 2*time.Second
		bz.mu.Unlock()
		_, err = (&Sync{Store: st, Bugzilla: bz.client(t, BugzillaOptions{Attempts: 2, Timeout: 100 * time.Millisecond})}).Run(ctx)
		if err == nil {
			t.Fatal("sync against a slow Bugzilla succeeded")
		}
		if after, _ := st.CountBugs(ctx); after != before {
			t.Errorf("cache went from %d to %d bugs", before, after)
		}
	})
}

// Malformed records are skipped with a reason; the good ones are stored and
// dated back, so the next run fetches them again.
func TestSyncMalformedRecords(t *testing.T) {
	backends(t, func(t *testing.T, st *sqlstore.Store) {
		now := time.Now().UTC().Format("2006-01-02T15:04:05Z")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("keywords") == "" {
				w.Write([]byte(`{"bugs":[]}`))
				return
			}
			w.Write([]byte(`{"bugs":[
				{"id": 1, "summary": "Intermittent good.html | ok", "status": "NEW", "resolution": "", "keywords": ["intermittent-failure"], "last_change_time": "` + now + `", "duplicates": [], "whiteboard": "", "cf_crash_signature": ""},
				{"id": "abc", "summary": "bad id", "keywords": [], "last_change_time": "` + now + `"},
				{"id": 3, "summary": 42, "keywords": [], "last_change_time": "` + now + `"},
				{"id": 4, "summary": "no keywords", "last_change_time": "` + now + `"},
				{"id": 5, "summary": "bad time", "keywords": [], "last_change_time": "yesterday"},
				[1, 2, 3],
				{"id": 7, "summary": "` + strings.Repeat("long ", 80) + `", "status": "NEW", "keywords": ["intermittent-failure"], "last_change_time": "2024-01-01 00:00:00", "whiteboard": "` + strings.Repeat("w", 150) + `"}
			]}`))
		}))
		defer srv.Close()
		bz, err := NewBugzilla(BugzillaOptions{URL: srv.URL, Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := (&Sync{Store: st, Bugzilla: bz, Now: func() time.Time { return time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC) }}).Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Stored != 2 || len(rep.Skipped) != 5 {
			t.Fatalf("stored %d, skipped %q", rep.Stored, rep.Skipped)
		}
		for i, want := range []string{"abc", "bug 3: field summary", "bug 4: field keywords", "bug 5: field last_change_time", "not an object"} {
			if !strings.Contains(rep.Skipped[i], want) {
				t.Errorf("skip reason %d = %q, want it to mention %q", i, rep.Skipped[i], want)
			}
		}
		long, err := st.CachedBug(ctx, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len([]rune(long.Summary)) != 255 || len(long.Whiteboard) != 100 {
			t.Errorf("long bug not cut: %d, %d", len([]rune(long.Summary)), len(long.Whiteboard))
		}
		// Stored bugs are dated back to the run's start.
		good, _ := st.CachedBug(ctx, 1)
		if good.Modified != time.Date(2023, 6, 2, 0, 0, 0, 0, time.UTC).Unix() {
			t.Errorf("good bug modified %v, want it dated back", time.Unix(good.Modified, 0).UTC())
		}
	})
}

// Jobs classified with a duplicate move to its open bug; bugs classified
// with are fetched even without the keyword.
func TestSyncMovesClassifications(t *testing.T) {
	backends(t, func(t *testing.T, st *sqlstore.Store) {
		bz := newFakeBugzilla(t)
		// Cache the duplicate 1204281 alone first, as an earlier run would.
		if err := st.UpsertBugs(ctx, []store.Bug{{BugzillaID: 1204281, Summary: "old", Modified: time.Now().Unix() - 86400*30, DupeOf: ptrInt(1411358)}}); err != nil {
			t.Fatal(err)
		}
		pushID := addPush(t, st, 1, rev(1), time.Now().Unix())
		_ = pushID
		j1 := addJob(t, st, jobSpec{guid: "j1/0", repo: "mozilla-central", revision: rev(1), result: "testfailed", submit: time.Now().Unix()})
		j2 := addJob(t, st, jobSpec{guid: "j2/0", repo: "mozilla-central", revision: rev(1), result: "testfailed", submit: time.Now().Unix()})
		var dupID int64
		if err := st.DB().QueryRowContext(ctx, "SELECT id FROM bugscache WHERE bugzilla_id = 1204281").Scan(&dupID); err != nil {
			t.Fatal(err)
		}
		now := time.Now().Unix()
		if _, err := st.DB().ExecContext(ctx, "INSERT INTO bug_job_map (job_id, bug_id, created) VALUES (?, ?, ?), (?, ?, ?)", j1.ID, dupID, now, j2.ID, dupID, now); err != nil {
			t.Fatal(err)
		}
		rep, err := (&Sync{Store: st, Bugzilla: bz.client(t, BugzillaOptions{})}).Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		maps, err := st.BugJobMaps(ctx, []int64{j1.ID, j2.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(maps) != 2 || rep.Moved != 2 {
			t.Fatalf("maps = %+v, moved %d", maps, rep.Moved)
		}
		for _, m := range maps {
			if m.BugID == nil || *m.BugID != 1411358 {
				t.Errorf("job %d still on bug %v", m.JobID, m.BugID)
			}
		}
	})
}

func ptrInt(n int64) *int64 { return &n }

// Requests go only to allowed hosts, redirects included, and the API key
// travels in its header.
func TestBugzillaAllowedHosts(t *testing.T) {
	if _, err := NewBugzilla(BugzillaOptions{URL: "https://bugzilla.example.org", AllowedHosts: []string{"hg.mozilla.org"}}); err == nil {
		t.Error("a Bugzilla outside allowed_hosts was accepted")
	}
	if _, err := NewBugzilla(BugzillaOptions{URL: "https://bugzilla.example.org", AllowedHosts: []string{"*.example.org"}}); err != nil {
		t.Errorf("wildcard: %v", err)
	}
	if _, err := NewBugzilla(BugzillaOptions{URL: "ftp://x"}); err == nil {
		t.Error("an ftp URL was accepted")
	}
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"bugs":[]}`)) }))
	defer elsewhere.Close()
	var keys []string
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys = append(keys, r.Header.Get("X-BUGZILLA-API-KEY"))
		http.Redirect(w, r, strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)+"/rest/bug", http.StatusFound)
	}))
	defer redirect.Close()
	b, err := NewBugzilla(BugzillaOptions{URL: redirect.URL, APIKey: "sekrit", Backoff: time.Millisecond, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.FetchBugs(ctx, url.Values{})
	if err == nil || !strings.Contains(err.Error(), "allowed_hosts") {
		t.Fatalf("redirect elsewhere: %v", err)
	}
	if len(keys) != 1 || keys[0] != "sekrit" {
		t.Errorf("requests %d with keys %q: a refused redirect is not retried; the key is sent", len(keys), keys)
	}
}

// A response larger than the limit is refused.
func TestBugzillaBoundedResponse(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"bugs":[` + strings.Repeat(`{"id":1},`, 2000) + `{"id":1}]}`))
	}))
	defer srv.Close()
	b, err := NewBugzilla(BugzillaOptions{URL: srv.URL, MaxBody: 1024, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.FetchBugs(ctx, url.Values{}); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("oversized response: %v", err)
	}
}

// Reopening INCOMPLETE bugs: only with an API key; otherwise reported.
func TestSyncReopensIncompleteBugs(t *testing.T) {
	backends(t, func(t *testing.T, st *sqlstore.Store) {
		bz := newFakeBugzilla(t)
		bz.mu.Lock()
		bz.seed = nil
		bz.mu.Unlock()
		now := time.Now().Unix()
		if err := st.UpsertBugs(ctx, []store.Bug{{BugzillaID: 202, Summary: "Intermittent resolved/as/incomplete.js | Mock failure", Status: "RESOLVED", Resolution: "INCOMPLETE", Modified: now}}); err != nil {
			t.Fatal(err)
		}
		addPush(t, st, 77, rev(2), now)
		var bugID int64
		st.DB().QueryRowContext(ctx, "SELECT id FROM bugscache WHERE bugzilla_id = 202").Scan(&bugID)
		for i := 0; i < 3; i++ {
			j := addJob(t, st, jobSpec{guid: "inc" + string(rune('a'+i)) + "/0", repo: "autoland", revision: rev(2), result: "testfailed", submit: now})
			st.DB().ExecContext(ctx, "INSERT INTO bug_job_map (job_id, bug_id, created) VALUES (?, ?, ?)", j.ID, bugID, now)
		}
		var reported []string
		s := &Sync{Store: st, Bugzilla: bz.client(t, BugzillaOptions{}), PublicURL: "https://herder.example.org",
			Report: func(f string, a ...any) { reported = append(reported, f) }}
		if _, err := s.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if len(reported) != 1 || len(bz.puts) != 0 {
			t.Fatalf("without a key: reported %d, put %d", len(reported), len(bz.puts))
		}
		s.Bugzilla = bz.client(t, BugzillaOptions{APIKey: "k"})
		rep, err := s.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rep.Reopened, []int64{202}) || len(bz.puts) != 1 {
			t.Fatalf("reopened %v, puts %q", rep.Reopened, bz.puts)
		}
		var body struct {
			Status  string            `json:"status"`
			Comment map[string]string `json:"comment"`
		}
		path, js, _ := strings.Cut(bz.puts[0], " ")
		json.Unmarshal([]byte(js), &body)
		if path != "/rest/bug/202" || body.Status != "REOPENED" || !strings.HasPrefix(body.Comment["body"], "New failure instance: https://herder.example.org/logviewer?job_id=") {
			t.Errorf("reopen = %s %s", path, js)
		}
	})
}

// Treeherder's tests/model/test_bugscache.py searches over bug_list.json,
// on each backend: the database part (candidates whose summary holds the
// term at a boundary, case-insensitive, "%", "_" and "=" literal).
func TestSearchBugList(t *testing.T) {
	cases := []struct {
		term string
		want []int64
	}{
		{"test_popup_preventdefault_chrome.xul", []int64{455091}},
		{"test_Popup_Preventdefault_Chrome.XUL", []int64{455091}},
		{"test_popup_preventdefault_chrome.xul foo bar", nil},
		{"test_switch_frame.py TestSwitchFrame.test_should_be_able_to_carry_on_working_if_the_frame_is_deleted", []int64{1054669, 1078237}},
		{"command timed out: 3600 seconds without output running ['/tools/buildbot/bin/python', 'scripts/scrip", []int64{1054456}},
		{`[taskcluster:error]  Command " [./test-macosx.sh --no-read-buildbot-config --installer-url=https://q`, []int64{100}},
		{"should not be match_d", nil},
		{"should not be match%d", nil},
		{"should not be matche=d", nil},
		{"standalone-without-folder.html", []int64{1690234}},
		{"slash-folder.html", []int64{1690235}},
		{"backslash.html", []int64{1690236}},
		{"listitem-001.html", []int64{1690345}},
		{"match-at-start.html", []int64{1690456}},
		{"Recently modified resolved bugs should be returned in all_others", []int64{100001}},
	}
	backends(t, func(t *testing.T, st *sqlstore.Store) {
		var bugs []store.Bug
		for _, b := range sharedBugs(t, "bug_list.json") {
			bugs = append(bugs, store.Bug{BugzillaID: int64(b["id"].(float64)), Summary: b["summary"].(string),
				Status: b["status"].(string), Resolution: b["resolution"].(string), Modified: time.Now().Unix()})
		}
		if err := st.UpsertBugs(ctx, bugs); err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			found, err := st.SearchBugs(ctx, c.term, 100)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, f := range found {
				got = append(got, *f.BugzillaID)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("search %q = %v, want %v", c.term, got, c.want)
			}
		}
		// And through the plugin: the full bug suggestion of a line.
		m := &Matcher{Store: st, Proc: startPlugin(t), Processor: "bugmatcher"}
		res, err := m.Terms(ctx, []sdk.BugLine{{Line: "REFTEST TEST-UNEXPECTED-FAIL | file:///builds/worker/mock-folder-2/slash-folder.html | image comparison"}})
		if err != nil || len(res.Lines) != 1 || *res.Lines[0].SearchTerms[0] != "slash-folder.html" {
			t.Fatalf("terms = %+v, %v", res, err)
		}
	})
}

func sortedIDs(xs []int64) []int64 {
	out := append([]int64(nil), xs...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// FuzzParseBug: any record decodes to a bug or a reason, never a panic.
func FuzzParseBug(f *testing.F) {
	f.Add([]byte(`{"id": 1, "summary": "x", "keywords": ["a"], "last_change_time": "2024-01-01T00:00:00Z", "duplicates": [2], "dupe_of": 3}`))
	f.Add([]byte(`{"id": "1"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"id": 5, "keywords": null, "last_change_time": 7}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var rb RawBug
		if json.Unmarshal(raw, &rb) != nil {
			return
		}
		b, _, err := parseBug(rb)
		if err == nil && (b.BugzillaID <= 0 || b.Modified == 0 && !strings.Contains(string(raw), "1970")) {
			t.Fatalf("accepted %s as %+v", raw, b)
		}
	})
}
