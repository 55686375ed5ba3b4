package bugs

import (
	"context"
	"testing"

	"github.com/herder-ci/herder/core/dispatch"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/sdk"
)

type recordingQueue struct {
	WorkStore
	kinds []string
}

func (q *recordingQueue) EnqueueBugWork(_ context.Context, _ int64, kind string, _ int64) error {
	q.kinds = append(q.kinds, kind)
	return nil
}

type storedResults struct {
	dispatch.LogStore
	n int
}

func (s *storedResults) StoreLogResult(context.Context, model.LogTask, sdk.LogParseResult) error {
	s.n++
	return nil
}

// Matching is queued when a parse can change a job's suggestions: error
// lines to match, or a reparse whose earlier lines may have had some. A
// green job's first parse has neither.
func TestFollowLogsQueuesMatchingOnlyWhenItCanChangeSomething(t *testing.T) {
	lines := []sdk.ErrorLine{{LineNumber: 3, Line: "TEST-UNEXPECTED-FAIL | a.html | boom"}}
	for _, c := range []struct {
		name  string
		log   string
		fresh bool
		r     sdk.LogParseResult
		want  []string
	}{
		{"fresh, no errors", sdk.LogLiveBacking, true, sdk.LogParseResult{Status: sdk.LogStatusParsed}, nil},
		{"fresh, errors", sdk.LogLiveBacking, true, sdk.LogParseResult{Status: sdk.LogStatusParsed, Errors: lines}, []string{store.BugWorkSuggest}},
		{"reparse, no errors", sdk.LogLiveBacking, false, sdk.LogParseResult{Status: sdk.LogStatusParsed}, []string{store.BugWorkSuggest}},
		{"fresh, failed parse", sdk.LogLiveBacking, true, sdk.LogParseResult{Status: sdk.LogStatusFailed, Errors: lines}, nil},
		{"errorsummary", sdk.LogErrorSummary, true, sdk.LogParseResult{Status: sdk.LogStatusParsed}, []string{store.BugWorkIntermittent}},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, st := &recordingQueue{}, &storedResults{}
			f := FollowLogs{LogStore: st, Queue: q}
			task := model.LogTask{JobLogID: 1, JobID: 2, Name: c.log, Fresh: c.fresh}
			if err := f.StoreLogResult(context.Background(), task, c.r); err != nil {
				t.Fatal(err)
			}
			if st.n != 1 {
				t.Errorf("result stored %d times, want 1", st.n)
			}
			if len(q.kinds) != len(c.want) || (len(c.want) == 1 && q.kinds[0] != c.want[0]) {
				t.Errorf("queued %v, want %v", q.kinds, c.want)
			}
		})
	}
}
