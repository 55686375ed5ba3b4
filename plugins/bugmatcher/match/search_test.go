package match

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/sdk"
)

// bugList reads Treeherder's tests/sample_data/bug_list.json from the shared
// data, summaries cut to the bug cache's 255 characters as Treeherder stores them.
func bugList(t *testing.T, resolution string) []sdk.BugCandidate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.SharedData(t), "bugs", "bug_list.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Bugs []struct {
			ID      int64  `json:"id"`
			Summary string `json:"summary"`
		} `json:"bugs"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out []sdk.BugCandidate
	for _, bug := range doc.Bugs {
		id := bug.ID
		out = append(out, sdk.BugCandidate{ID: id, BugzillaID: &id, Summary: pyCut(bug.Summary, 255), Resolution: resolution})
	}
	return out
}

// substring is what the host's database search hands over: summaries that
// contain the term, ignoring case.
func substring(cands []sdk.BugCandidate, term string) []sdk.BugCandidate {
	var out []sdk.BugCandidate
	for _, c := range cands {
		if strings.Contains(pyLower(c.Summary), pyLower(term)) {
			out = append(out, c)
		}
	}
	return out
}

// Treeherder's tests/model/test_bugscache.py BUG_SEARCHES.
var bugSearches = []struct {
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
}

func ids(cs []sdk.BugCandidate) []int64 {
	var out []int64
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestSearchBugListOpen(t *testing.T) {
	bugs := bugList(t, "")
	for _, c := range bugSearches {
		f := Search(c.term, substring(bugs, c.term))
		if !reflect.DeepEqual(ids(f.OpenRecent), c.want) || len(f.AllOthers) != 0 {
			t.Errorf("Search(%q) = open %v others %v, want open %v", c.term, ids(f.OpenRecent), ids(f.AllOthers), c.want)
		}
	}
}

func TestSearchBugListResolved(t *testing.T) {
	bugs := bugList(t, "FIXED")
	for _, c := range bugSearches {
		f := Search(c.term, substring(bugs, c.term))
		if !reflect.DeepEqual(ids(f.AllOthers), c.want) || len(f.OpenRecent) != 0 {
			t.Errorf("Search(%q) = open %v others %v, want others %v", c.term, ids(f.OpenRecent), ids(f.AllOthers), c.want)
		}
	}
	f := Search("Recently modified resolved bugs should be returned in all_others", substring(bugs, "Recently modified resolved bugs should be returned in all_others"))
	if !reflect.DeepEqual(ids(f.AllOthers), []int64{100001}) {
		t.Errorf("recent resolved = %v", ids(f.AllOthers))
	}
}

func TestSearchLimitAndOrder(t *testing.T) {
	var cands []sdk.BugCandidate
	for i := int64(1); i <= 80; i++ {
		cands = append(cands, sdk.BugCandidate{ID: i, Summary: "Intermittent foo.html | failure number " + strings.Repeat("x", int(i)), Resolution: []string{"", "FIXED"}[i%2]})
	}
	f := Search("foo.html", cands)
	if got := len(f.OpenRecent) + len(f.AllOthers); got != MaxBugs {
		t.Fatalf("kept %d bugs, want %d", got, MaxBugs)
	}
	// Shorter summaries share more trigrams with the term: they rank first.
	if f.AllOthers[0].ID != 1 || f.OpenRecent[0].ID != 2 {
		t.Errorf("first bugs = %d, %d", f.AllOthers[0].ID, f.OpenRecent[0].ID)
	}
	for _, c := range append(f.OpenRecent, f.AllOthers...) {
		if c.ID > MaxBugs {
			t.Errorf("bug %d kept over a better one", c.ID)
		}
	}
}

func TestMatchLineDedupeAndCrashFallback(t *testing.T) {
	bz := func(n int64) *int64 { return &n }
	cands := map[string][]sdk.BugCandidate{
		"test_a.html?x":    {{ID: 1, BugzillaID: bz(11), Summary: "Intermittent test_a.html?x | boom"}},
		"test_a.html":      {{ID: 1, BugzillaID: bz(11), Summary: "Intermittent test_a.html?x | boom"}, {ID: 2, BugzillaID: bz(12), Summary: "test_a.html fails", Resolution: "FIXED"}},
		"nsFoo::Crash()":   {{ID: 3, BugzillaID: bz(13), Summary: "crash in nsFoo::Crash()"}},
		"test_b.html":      nil,
		"internal/one.htm": {{ID: 4, Summary: "Intermittent internal/one.htm | x"}},
	}
	got := MatchLine(sdk.BugLineTerms{LineNumber: 7, SearchTerms: []*string{ptr("test_a.html?x"), ptr("test_a.html")}}, cands)
	if !reflect.DeepEqual(got.OpenRecent, []int64{1}) || !reflect.DeepEqual(got.AllOthers, []int64{2}) || len(got.SearchTerms) != 2 {
		t.Errorf("two terms = %+v", got)
	}
	crash := MatchLine(sdk.BugLineTerms{SearchTerms: []*string{ptr("test_b.html")}, CrashSignature: ptr("nsFoo::Crash()")}, cands)
	if !reflect.DeepEqual(crash.OpenRecent, []int64{3}) || len(crash.SearchTerms) != 2 || *crash.SearchTerms[1] != "nsFoo::Crash()" {
		t.Errorf("crash fallback = %s", js(crash))
	}
	// The crash signature is not searched when the terms found bugs.
	hit := MatchLine(sdk.BugLineTerms{SearchTerms: []*string{ptr("test_a.html")}, CrashSignature: ptr("nsFoo::Crash()")}, cands)
	if len(hit.SearchTerms) != 1 {
		t.Errorf("crash signature used although the term matched: %s", js(hit))
	}
	none := MatchLine(sdk.BugLineTerms{SearchTerms: []*string{nil}}, cands)
	if js(none) != `{"line_number":0,"search_terms":[null],"open_recent":[],"all_others":[]}` {
		t.Errorf("no term = %s", js(none))
	}
	internal := MatchLine(sdk.BugLineTerms{SearchTerms: []*string{ptr("internal/one.htm")}}, cands)
	if !reflect.DeepEqual(internal.OpenRecent, []int64{4}) {
		t.Errorf("internal issue = %s", js(internal))
	}
}

func TestMatchesBoundaries(t *testing.T) {
	for _, c := range []struct {
		summary, term string
		want          bool
	}{
		{"match-at-start.html | x", "match-at-start.html", true},
		{"Intermittent a/b.html", "b.html", true},
		{`Intermittent a\b.html`, "b.html", true},
		{"Intermittent a.html,b.html", "b.html", true},
		{"Intermittent ab.html", "b.html", false},
		{"Intermittent a-b.html", "b.html", false},
		{"INTERMITTENT FOO.HTML", "foo.html", true},
		{"Intermittent FOO İ.html", "foo i̇.html", true},
	} {
		if got := Matches(c.summary, c.term); got != c.want {
			t.Errorf("Matches(%q, %q) = %v", c.summary, c.term, got)
		}
	}
}

func FuzzLineTerms(f *testing.F) {
	for _, s := range []string{
		"TEST-UNEXPECTED-FAIL | a/b.html | c",
		"PROCESS-CRASH | application crashed [@ x::y()] | z/a.js",
		"12:00:00     INFO -  GECKO(1) | [2] TEST-UNEXPECTED-FAIL | leakcheck | 12 bytes leaked (A, B)",
		"\xff\x00", "?", " | | ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		lt := LineTerms(sdk.BugLine{Line: line})
		if len(lt.SearchTerms) == 0 || len(lt.SearchTerms) > 2 {
			t.Fatalf("%d terms", len(lt.SearchTerms))
		}
		for _, term := range lt.SearchTerms {
			if term != nil && pyLen(*term) > 100 {
				t.Fatalf("term of %d characters", pyLen(*term))
			}
		}
		if _, err := json.Marshal(lt); err != nil {
			t.Fatal(err)
		}
		cands := map[string][]sdk.BugCandidate{}
		for _, term := range lt.SearchTerms {
			if term != nil {
				cands[*term] = []sdk.BugCandidate{{ID: 1, Summary: *term}}
			}
		}
		MatchLine(lt, cands)
	})
}
