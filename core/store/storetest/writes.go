package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/sdk"
)

// testWrites covers the classification writes: the note reset rule, bug
// links (stub bugs, internal issues, duplicates), internal issues, bulk
// unclassification, last_modified bumps, and refusals that store nothing.
func testWrites(t *testing.T, s store.Store) {
	p := newPipeline(t, s)
	if err := s.StorePushes(ctx, []model.Push{push(77, rev(3), 3000, rev(3))}); err != nil {
		t.Fatal(err)
	}
	other := datum("w-other/0", sdk.StateCompleted, sdk.ResultTestFailed)
	other.Project, other.Revision = "autoland", rev(3)
	storeData(t, p, datum("w1/0", sdk.StateCompleted, sdk.ResultTestFailed),
		datum("w2/0", sdk.StateCompleted, sdk.ResultTestFailed), other)
	central := repoByName(t, s, "mozilla-central").ID
	autoland := repoByName(t, s, "autoland").ID
	j1, j2, jOther := job(t, s, "w1/0"), job(t, s, "w2/0"), job(t, s, "w-other/0")
	u, err := s.SyncUser(ctx, "sheriff@example.com", "sheriff@example.com", false)
	if err != nil || u.ID == 0 {
		t.Fatalf("SyncUser = %+v, %v", u, err)
	}

	state := func(id int64) (fc, lastModified int64) {
		t.Helper()
		rec, err := s.JobByID(ctx, 0, id)
		if err != nil {
			t.Fatalf("job %d: %v", id, err)
		}
		return rec.FailureClass, rec.LastModified
	}
	notes := func(id int64) []store.JobNote {
		t.Helper()
		list, err := s.JobNotes(ctx, []int64{id})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	links := func(id int64) []store.BugJobMap {
		t.Helper()
		list, err := s.BugJobMaps(ctx, []int64{id})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}

	// Notes: the job takes its newest note's classification, and falls
	// back to the previous one, then to 1, as notes are deleted.
	_, lm0 := state(j1.ID)
	n1, err := s.AddJobNote(ctx, store.NoteInput{RepositoryID: central, JobID: j1.ID, FailureClassificationID: model.FCIntermittent, UserID: u.ID, Text: "flaky"})
	if err != nil || n1 == 0 {
		t.Fatalf("AddJobNote = %d, %v", n1, err)
	}
	fc, lm1 := state(j1.ID)
	if fc != model.FCIntermittent || lm1 <= lm0 {
		t.Fatalf("after a note: fc %d, last_modified %d -> %d", fc, lm0, lm1)
	}
	n2, err := s.AddJobNote(ctx, store.NoteInput{RepositoryID: central, JobID: j1.ID, FailureClassificationID: model.FCFixedByCommit, UserID: u.ID, Text: "backout"})
	if err != nil {
		t.Fatal(err)
	}
	if fc, lm2 := state(j1.ID); fc != model.FCFixedByCommit || lm2 <= lm1 {
		t.Fatalf("after a second note: fc %d, last_modified %d -> %d", fc, lm1, lm2)
	}
	got := notes(j1.ID)
	if len(got) != 2 || got[0].ID != n1 || got[1].Text != "backout" || got[1].Who != "sheriff@example.com" || got[1].FailureClassificationID != model.FCFixedByCommit {
		t.Fatalf("notes = %+v", got)
	}
	_, lm2 := state(j1.ID)
	if err := s.DeleteJobNote(ctx, central, n2); err != nil {
		t.Fatal(err)
	}
	if fc, lm3 := state(j1.ID); fc != model.FCIntermittent || lm3 <= lm2 {
		t.Fatalf("after deleting the newest note: fc %d, last_modified %d -> %d", fc, lm2, lm3)
	}
	if err := s.DeleteJobNote(ctx, central, n1); err != nil {
		t.Fatal(err)
	}
	if fc, _ := state(j1.ID); fc != model.FCNotClassified || len(notes(j1.ID)) != 0 {
		t.Fatalf("after deleting every note: fc %d, notes %v", fc, notes(j1.ID))
	}
	// A note without a user is the autoclassifier's.
	if _, err := s.AddJobNote(ctx, store.NoteInput{RepositoryID: central, JobID: j2.ID, FailureClassificationID: model.FCAutoclassifiedIntermitt}); err != nil {
		t.Fatal(err)
	}
	if got := notes(j2.ID); len(got) != 1 || got[0].Who != "autoclassifier" {
		t.Fatalf("autoclassifier note = %+v", got)
	}

	// Refusals store nothing.
	fcOther, lmOther := state(jOther.ID)
	for name, in := range map[string]store.NoteInput{
		"other repository's job": {RepositoryID: central, JobID: jOther.ID, FailureClassificationID: 4, UserID: u.ID},
		"unknown job":            {RepositoryID: central, JobID: 1 << 40, FailureClassificationID: 4, UserID: u.ID},
	} {
		if _, err := s.AddJobNote(ctx, in); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("note on %s: %v, want ErrNotFound", name, err)
		}
	}
	if _, err := s.AddJobNote(ctx, store.NoteInput{RepositoryID: autoland, JobID: jOther.ID, FailureClassificationID: 99, UserID: u.ID}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("note with classification 99: %v, want ErrInvalid", err)
	}
	if fc, lm := state(jOther.ID); fc != fcOther || lm != lmOther || len(notes(jOther.ID)) != 0 {
		t.Fatalf("refused notes changed the job: fc %d, last_modified %d -> %d, notes %v", fc, lmOther, lm, notes(jOther.ID))
	}
	nOther, err := s.AddJobNote(ctx, store.NoteInput{RepositoryID: autoland, JobID: jOther.ID, FailureClassificationID: 4, UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteJobNote(ctx, central, nOther); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting another repository's note: %v, want ErrNotFound", err)
	}
	if err := s.DeleteJobNote(ctx, autoland, 1<<40); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting an unknown note: %v, want ErrNotFound", err)
	}
	if len(notes(jOther.ID)) != 1 {
		t.Fatal("a refused delete removed a note")
	}

	// Concurrent notes on one job: the job ends with its newest note's
	// classification whatever order the transactions commit in.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := s.AddJobNote(ctx, store.NoteInput{RepositoryID: central, JobID: j1.ID, FailureClassificationID: int64(2 + i%4), UserID: u.ID, Text: fmt.Sprint(i)})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent note: %v", err)
		}
	}
	all := notes(j1.ID)
	newest := all[0]
	for _, n := range all {
		if n.Created > newest.Created || (n.Created == newest.Created && n.ID > newest.ID) {
			newest = n
		}
	}
	if fc, _ := state(j1.ID); len(all) != 8 || fc != newest.FailureClassificationID {
		t.Fatalf("after concurrent notes: fc %d, newest note %+v of %d", fc, newest, len(all))
	}

	// Bug links: an unknown Bugzilla bug gets a stub row; a second link is
	// skipped; internal issues link by internal id.
	_, lmB := state(j2.ID)
	created, err := s.AddBugJobMap(ctx, store.BugJobMapInput{RepositoryID: central, JobID: j2.ID, Bug: store.BugRef{BugzillaID: 1234567}, UserID: u.ID})
	if err != nil || !created {
		t.Fatalf("AddBugJobMap = %v, %v", created, err)
	}
	if _, lm := state(j2.ID); lm <= lmB {
		t.Fatalf("a bug link did not bump last_modified: %d -> %d", lmB, lm)
	}
	l := links(j2.ID)
	if len(l) != 1 || l[0].BugID == nil || *l[0].BugID != 1234567 || l[0].BugInternalID == 0 || l[0].Who != "sheriff@example.com" {
		t.Fatalf("links = %+v", l)
	}
	stubID := l[0].BugInternalID
	if r, ok := s.(rawDB); ok {
		var summary string
		var modified int64
		if err := r.DB().QueryRowContext(ctx, "SELECT summary, modified FROM bugscache WHERE id = ?", stubID).Scan(&summary, &modified); err != nil ||
			summary != store.StubBugSummary || modified != 0 {
			t.Fatalf("stub bug = %q, %d, %v", summary, modified, err)
		}
	}
	if created, err := s.AddBugJobMap(ctx, store.BugJobMapInput{RepositoryID: central, JobID: j2.ID, Bug: store.BugRef{BugzillaID: 1234567}, UserID: u.ID}); err != nil || created {
		t.Fatalf("duplicate AddBugJobMap = %v, %v", created, err)
	}
	// The same bug by its internal id is the same link.
	if created, err := s.AddBugJobMap(ctx, store.BugJobMapInput{RepositoryID: central, JobID: j2.ID, Bug: store.BugRef{InternalID: stubID}}); err != nil || created {
		t.Fatalf("AddBugJobMap by internal id of a linked bug = %v, %v", created, err)
	}
	issue, created, err := s.CreateInternalIssue(ctx, "Intermittent thing with no Bugzilla bug")
	if err != nil || !created || issue.InternalID == 0 || issue.InternalID == stubID {
		t.Fatalf("CreateInternalIssue = %+v, %v, %v", issue, created, err)
	}
	again, created, err := s.CreateInternalIssue(ctx, "Intermittent thing with no Bugzilla bug")
	if err != nil || created || again != issue {
		t.Fatalf("CreateInternalIssue again = %+v, %v, %v", again, created, err)
	}
	for _, bad := range []string{"", "   ", strings.Repeat("x", 256)} {
		if _, _, err := s.CreateInternalIssue(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("CreateInternalIssue(%q...): %v, want ErrInvalid", bad[:min(len(bad), 5)], err)
		}
	}
	if created, err := s.AddBugJobMap(ctx, store.BugJobMapInput{RepositoryID: central, JobID: j2.ID, Bug: store.BugRef{InternalID: issue.InternalID}, UserID: u.ID, BugOpen: true}); err != nil || !created {
		t.Fatalf("AddBugJobMap(internal) = %v, %v", created, err)
	}
	l = links(j2.ID)
	if len(l) != 2 || l[1].BugID != nil || l[1].BugInternalID != issue.InternalID {
		t.Fatalf("links with an internal issue = %+v", l)
	}
	// Refusals.
	if _, err := s.AddBugJobMap(ctx, store.BugJobMapInput{RepositoryID: central, JobID: j2.ID, Bug: store.BugRef{InternalID: 1 << 40}}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("link to an unknown internal issue: %v, want ErrInvalid", err)
	}
	if _, err := s.AddBugJobMap(ctx, store.BugJobMapInput{RepositoryID: central, JobID: j2.ID}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("link without a bug: %v, want ErrInvalid", err)
	}
	if _, err := s.AddBugJobMap(ctx, store.BugJobMapInput{RepositoryID: central, JobID: jOther.ID, Bug: store.BugRef{BugzillaID: 7654321}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("link on another repository's job: %v, want ErrNotFound", err)
	}
	if len(links(jOther.ID)) != 0 || len(links(j2.ID)) != 2 {
		t.Fatal("a refused link stored something")
	}
	// The same link through the job's own repository works.
	if _, err := s.AddBugJobMap(ctx, store.BugJobMapInput{RepositoryID: autoland, JobID: jOther.ID, Bug: store.BugRef{BugzillaID: 7654321}}); err != nil {
		t.Fatal(err)
	}
	if l := links(jOther.ID); len(l) != 1 || l[0].BugID == nil || *l[0].BugID != 7654321 {
		t.Fatalf("links of the other job = %+v", l)
	}

	// Unlinking, by Bugzilla id and by internal id.
	_, lmB = state(j2.ID)
	if deleted, err := s.DeleteBugJobMap(ctx, central, j2.ID, store.BugRef{BugzillaID: 1234567}); err != nil || !deleted {
		t.Fatalf("DeleteBugJobMap = %v, %v", deleted, err)
	}
	if _, lm := state(j2.ID); lm <= lmB {
		t.Fatalf("unlinking did not bump last_modified: %d -> %d", lmB, lm)
	}
	if deleted, err := s.DeleteBugJobMap(ctx, central, j2.ID, store.BugRef{BugzillaID: 1234567}); err != nil || deleted {
		t.Fatalf("DeleteBugJobMap again = %v, %v", deleted, err)
	}
	if _, err := s.DeleteBugJobMap(ctx, central, jOther.ID, store.BugRef{BugzillaID: 7654321}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unlinking another repository's job: %v, want ErrNotFound", err)
	}
	if deleted, err := s.DeleteBugJobMap(ctx, central, j2.ID, store.BugRef{InternalID: issue.InternalID}); err != nil || !deleted {
		t.Fatalf("DeleteBugJobMap(internal) = %v, %v", deleted, err)
	}
	if len(links(j2.ID)) != 0 || len(links(jOther.ID)) != 1 {
		t.Fatal("unlinking removed the wrong links")
	}

	// Bulk unclassification: notes and links go, the job is not
	// classified, other repositories' jobs are untouched.
	if _, err := s.AddBugJobMap(ctx, store.BugJobMapInput{RepositoryID: central, JobID: j1.ID, Bug: store.BugRef{BugzillaID: 1234567}, UserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	_, lmU := state(j1.ID)
	n, err := s.UnclassifyJobs(ctx, central, []int64{j1.ID, j2.ID, jOther.ID, 1 << 40})
	if err != nil || n != 2 {
		t.Fatalf("UnclassifyJobs = %d, %v", n, err)
	}
	for _, id := range []int64{j1.ID, j2.ID} {
		if fc, _ := state(id); fc != model.FCNotClassified || len(notes(id)) != 0 || len(links(id)) != 0 {
			t.Fatalf("job %d after unclassify: fc %d, notes %v, links %v", id, fc, notes(id), links(id))
		}
	}
	if _, lm := state(j1.ID); lm <= lmU {
		t.Fatalf("unclassify did not bump last_modified: %d -> %d", lmU, lm)
	}
	if fc, _ := state(jOther.ID); fc != model.FCIntermittent || len(notes(jOther.ID)) != 1 || len(links(jOther.ID)) != 1 {
		t.Fatalf("unclassify touched another repository's job: fc %d", fc)
	}
	if n, err := s.UnclassifyJobs(ctx, central, nil); err != nil || n != 0 {
		t.Fatalf("UnclassifyJobs(nil) = %d, %v", n, err)
	}

	// SyncUser sets staff both ways and keeps the email current.
	if u2, err := s.SyncUser(ctx, "sheriff@example.com", "new@example.com", true); err != nil || u2.ID != u.ID || !u2.IsStaff || u2.Email != "new@example.com" {
		t.Fatalf("SyncUser(staff) = %+v, %v", u2, err)
	}
	if u3, err := s.SyncUser(ctx, "sheriff@example.com", "new@example.com", false); err != nil || u3.ID != u.ID || u3.IsStaff {
		t.Fatalf("SyncUser(not staff) = %+v, %v", u3, err)
	}
}
