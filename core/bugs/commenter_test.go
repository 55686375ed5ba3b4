package bugs

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/sdk"
)

// classify stores n failed jobs on a push and classifies them with a bug.
func classify(t *testing.T, st *sqlstore.Store, repo string, revision string, at int64, bugzillaID int64, n int, prefix string) {
	t.Helper()
	var bugID int64
	if err := st.DB().QueryRowContext(ctx, "SELECT id FROM bugscache WHERE bugzilla_id = ?", bugzillaID).Scan(&bugID); err != nil {
		t.Fatal(err)
	}
	var data []sdk.JobDatum
	for i := 0; i < n; i++ {
		data = append(data, sdk.JobDatum{Project: repo, Revision: revision, Job: sdk.Job{
			JobGUID: fmt.Sprintf("%s-%d/0", prefix, i), Name: "test-linux64/opt-mochitest-1", JobSymbol: "M1", State: sdk.StateCompleted,
			Result: "testfailed", Tier: 1, BuildSystemType: "taskcluster", ProductName: "firefox", Machine: "w",
			BuildPlatform:    sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"},
			MachinePlatform:  sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"},
			OptionCollection: map[string]bool{"opt": true}, SubmitTimestamp: at,
		}})
	}
	p := ingest.NewPipeline(st, nil, nil)
	if err := p.ReloadRepositories(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.StoreJobData(ctx, "test", data); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().ExecContext(ctx, `INSERT INTO bug_job_map (job_id, bug_id, created)
		SELECT id, ?, ? FROM job WHERE guid LIKE ?`, bugID, at, prefix+"-%"); err != nil {
		t.Fatal(err)
	}
}

func TestCommenter(t *testing.T) {
	backends(t, func(t *testing.T, st *sqlstore.Store) {
		// A Wednesday: daily mode under "auto".
		now := time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC)
		yesterday := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC).Unix()
		lastWeek := time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC).Unix()
		threeWeeks := time.Date(2026, 2, 20, 12, 0, 0, 0, time.UTC).Unix()
		if err := st.UpsertBugs(ctx, []store.Bug{
			{BugzillaID: 111, Summary: "Intermittent a.html | frequent", Modified: now.Unix(), Whiteboard: "[stockwell unknown]"},
			{BugzillaID: 222, Summary: "Intermittent b.html | rare", Modified: now.Unix(), Whiteboard: "[stockwell needswork:owner]"},
			{BugzillaID: 333, Summary: "Intermittent c.html | settled", Modified: now.Unix(), Whiteboard: "[stockwell disabled]"},
		}); err != nil {
			t.Fatal(err)
		}
		addPush(t, st, 77, rev(1), yesterday)
		addPush(t, st, 1, rev(2), lastWeek)
		addPush(t, st, 1, rev(3), threeWeeks)
		classify(t, st, "autoland", rev(1), yesterday, 111, 16, "y111")
		classify(t, st, "mozilla-central", rev(3), threeWeeks, 111, 140, "old111")
		classify(t, st, "autoland", rev(1), yesterday, 222, 2, "y222")
		classify(t, st, "mozilla-central", rev(2), lastWeek, 222, 3, "w222")
		classify(t, st, "autoland", rev(1), yesterday, 333, 20, "y333")
		classify(t, st, "mozilla-central", rev(3), threeWeeks, 333, 140, "old333")

		bz := newFakeBugzilla(t)
		var printed []string
		c := &Commenter{Store: st, Bugzilla: bz.client(t, BugzillaOptions{}), Mode: ModeAuto, PublicURL: "https://herder.example.org",
			Now: func() time.Time { return now }, Pause: time.Millisecond,
			Report: func(f string, a ...any) { printed = append(printed, fmt.Sprintf(f, a...)) }}
		rep, err := c.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Daily: bugs with at least 15 failures yesterday.
		if rep.Weekly || rep.From != "2026-03-10" || len(rep.Changes) != 2 || rep.Changes[0].BugID != 333 || rep.Changes[1].BugID != 111 {
			t.Fatalf("daily = %+v", rep)
		}
		frequent := rep.Changes[1]
		if !strings.HasPrefix(frequent.Comment, "16 failures were associated with this bug yesterday.") ||
			!strings.Contains(frequent.Comment, "more than 150 times in the last 21 days") ||
			!strings.Contains(frequent.Comment, "* autoland: 16") || !strings.Contains(frequent.Comment, "* linux64/opt: 16") ||
			!strings.Contains(frequent.Comment, "https://herder.example.org/intermittent-failures/bugdetails?bug=111&startday=2026-03-10&endday=2026-03-10&tree=all") {
			t.Errorf("comment:\n%s", frequent.Comment)
		}
		if frequent.Whiteboard != "[stockwell disable-recommended]" {
			t.Errorf("whiteboard = %q", frequent.Whiteboard)
		}
		if rep.Changes[0].Whiteboard != "" {
			t.Errorf("a disabled test's whiteboard changed: %q", rep.Changes[0].Whiteboard)
		}
		// No API key: printed, not posted.
		if len(bz.puts) != 0 || len(printed) != 3 || !strings.Contains(printed[0], "would comment on bug 333") {
			t.Errorf("puts %d, printed %q", len(bz.puts), printed)
		}

		// Weekly, posted with a key.
		c.Mode, c.Bugzilla, printed = ModeWeekly, bz.client(t, BugzillaOptions{APIKey: "commenter-key"}), nil
		rep, err = c.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Weekly || rep.From != "2026-03-04" || len(rep.Changes) != 3 || rep.Posted != 3 || len(printed) != 0 {
			t.Fatalf("weekly = %+v printed %q", rep, printed)
		}
		rare := rep.Changes[2]
		if rare.BugID != 222 || !strings.HasPrefix(rare.Comment, "5 failures were associated with this bug in the last 7 days.\nThis is the #3 most frequent failure this week.") ||
			rare.Whiteboard != "[stockwell unknown]" {
			t.Errorf("rare bug = %+v", rare)
		}
		if len(bz.puts) != 3 {
			t.Fatalf("puts = %q", bz.puts)
		}
		path, body, _ := strings.Cut(bz.puts[2], " ")
		var sent map[string]any
		json.Unmarshal([]byte(body), &sent)
		if path != "/rest/bug/222" || sent["whiteboard"] != "[stockwell unknown]" || !strings.HasPrefix(sent["comment"].(map[string]any)["body"].(string), "5 failures") {
			t.Errorf("put = %s %s", path, body)
		}
		for _, k := range bz.apiKeys[len(bz.apiKeys)-3:] {
			if k != "commenter-key" {
				t.Errorf("api key %q", k)
			}
		}
	})
}
