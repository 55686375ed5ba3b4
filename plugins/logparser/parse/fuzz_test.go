package parse

import (
	"bytes"
	"context"
	"slices"
	"testing"
)

func addLineSeeds(f *testing.F) {
	for _, l := range errorCases {
		f.Add([]byte(l), false)
		f.Add([]byte(l), true)
	}
	for _, l := range nonErrorCases {
		f.Add([]byte(l), false)
	}
	for _, l := range defaultMatcher.lits {
		f.Add([]byte("[task 2020-01-01T00:00:00Z] 12:00:00     INFO - "+l), true)
		f.Add([]byte(l[:len(l)-1]), false)
	}
	f.Add([]byte("PERFHERDER_DATA TEST-UNEXPECTED-FAIL \xe2\x82"), false)
	f.Add([]byte("٢٣:٥٧:٥٢ ERROR - x"), false)
}

// FuzzClassifyLine: the prefilter followed by the rules decides exactly what
// Treeherder's rules decide alone (written as Treeherder writes them), and
// nothing panics.
func FuzzClassifyLine(f *testing.F) {
	addLineSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte, taskcluster bool) {
		for _, runes := range []int{DefaultMaxLineRunes, 12} {
			gotText, got := defaultMatcher.classifyRaw(raw, taskcluster, runes)
			wantText, want := classifyRawNoPrefilter(raw, taskcluster, runes)
			if got != want || gotText != wantText {
				t.Fatalf("runes %d: prefilter+rules = (%q, %v), rules alone = (%q, %v)", runes, gotText, got, wantText, want)
			}
			if want && defaultMatcher.scan(raw)&flagError == 0 {
				t.Fatalf("the prefilter rejects an error line")
			}
		}
	})
}

// FuzzParseErrors: whole logs give the same summary with and without the
// prefilter.
func FuzzParseErrors(f *testing.F) {
	f.Add([]byte("[taskcluster 2020-01-01 00:00:00.000Z] x\r\n[task 2020-01-01T00:00:00Z] TEST-UNEXPECTED-FAIL | a\rPERFHERDER_DATA: {\"a\": 1}\n"))
	f.Add([]byte("23:57:52 ERROR - x\n23:57:52 ERROR - x \nabort: y\r\r\n"))
	f.Fuzz(func(t *testing.T, log []byte) {
		opts := Options{MaxLineRunes: 40, MaxErrors: 5}
		a, errA := ParseErrors(context.Background(), bytes.NewReader(log), opts)
		opts.check = checkReference
		b, errB := ParseErrors(context.Background(), bytes.NewReader(log), opts)
		if errA != nil || errB != nil {
			t.Fatalf("errors: %v, %v", errA, errB)
		}
		if !slices.Equal(a.Errors, b.Errors) || a.Lines != b.Lines || len(a.PerfData) != len(b.PerfData) ||
			a.PerfRejected != b.PerfRejected || a.Taskcluster != b.Taskcluster {
			t.Fatalf("prefilter %+v\nreference %+v", a, b)
		}
		if len(a.Errors) > 5 {
			t.Fatalf("%d errors over the cap", len(a.Errors))
		}
	})
}

// FuzzErrorSummary: never panics, respects the cutoff, and a truncated line
// is always the last one read.
func FuzzErrorSummary(f *testing.F) {
	f.Add([]byte(`{"action":"test_result","line":1,"test":"a","status":"FAIL"}`+"\n"+`{"action":"group_result","group":"g","status":"OK","duration":12}`), uint8(1))
	f.Add([]byte(`{"action":"log","line":"2","message":null}`+"\r\n\n"+`{"action":"test_groups","groups":[]}`), uint8(0))
	f.Add([]byte("{\"action\":\"crash\",\"line\":3,\"signature\":\"\xff\"}\n{"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, c uint8) {
		cutoff := int(c%8) + 1
		es, err := ParseErrorSummary(context.Background(), bytes.NewReader(data), SummaryOptions{Cutoff: cutoff, MaxLineBytes: 1 << 12})
		if es == nil {
			t.Fatal("nil summary")
		}
		stored := len(es.FailureLines) + len(es.Groups) + es.Ignored + es.RejectedGroups
		if stored > cutoff+1 || es.Lines > cutoff+1 {
			t.Fatalf("%d stored, %d read, cutoff %d", stored, es.Lines, cutoff)
		}
		if err == nil && stored != es.Lines {
			t.Fatalf("%d lines read, %d accounted for", es.Lines, stored)
		}
		for i, fl := range es.FailureLines {
			if fl.Action == "truncated" && (i != len(es.FailureLines)-1 || !es.Truncated) {
				t.Fatalf("truncated line at %d of %d (truncated=%v)", i, len(es.FailureLines), es.Truncated)
			}
		}
		if err == nil && es.Truncated != (es.Lines == cutoff+1) {
			t.Fatalf("truncated=%v after %d lines", es.Truncated, es.Lines)
		}
	})
}
