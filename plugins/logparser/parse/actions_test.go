package parse

import (
	"context"
	"strings"
	"testing"
)

// GitHub Actions prefixes every line with a timestamp; the rules anchored at
// a line's start must see the line without it, and the stored error line is
// what the job printed.
func TestActionsTimestampsAreStripped(t *testing.T) {
	log := "\ufeff2026-11-27T04:05:06.1234567Z ##[group]Run make test\n" +
		"2026-11-27T04:05:07.0000000Z TEST-UNEXPECTED-FAIL | dom/a.html | boom\n" +
		"2026-11-27T04:05:08.5Z make: *** [Makefile:12: test] Error 2\n" +
		"2026-11-27T04:05:09Z PROCESS-CRASH | a.html | application crashed\n" +
		"2026-11-27T04:05:10.0000000Z all good here\n"
	s, err := ParseErrors(context.Background(), strings.NewReader(log), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Actions {
		t.Fatal("the log was not recognised as a GitHub Actions log")
	}
	var got []string
	for _, e := range s.Errors {
		got = append(got, e.Line)
	}
	want := []string{"TEST-UNEXPECTED-FAIL | dom/a.html | boom", "make: *** [Makefile:12: test] Error 2", "PROCESS-CRASH | a.html | application crashed"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("errors = %q, want %q", got, want)
	}
	if s.Errors[0].LineNumber != 1 {
		t.Errorf("first error on line %d, want 1", s.Errors[0].LineNumber)
	}
}

// Only a log that starts like an Actions log is treated as one: Treeherder's
// output for every other log stays as it was.
func TestTimestampsElsewhereAreKept(t *testing.T) {
	log := "[task 2026-11-27T04:05:06.000Z] starting\n" +
		"2026-11-27T04:05:07.0000000Z TEST-UNEXPECTED-FAIL | dom/a.html | boom\n"
	s, err := ParseErrors(context.Background(), strings.NewReader(log), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Actions {
		t.Fatal("a Taskcluster log was taken for an Actions log")
	}
	for _, e := range s.Errors {
		if !strings.HasPrefix(e.Line, "2026-11-27T04:05:07") && strings.Contains(e.Line, "TEST-UNEXPECTED-FAIL") {
			t.Errorf("error line lost its text: %q", e.Line)
		}
	}
}

func TestActionsPrefixLen(t *testing.T) {
	for in, want := range map[string]int{
		"2026-11-27T04:05:06.1234567Z x": 29,
		"2026-11-27T04:05:06Z x":         21,
		"2026-11-27T04:05:06.1Z":         0,
		"2026-11-27 04:05:06Z x":         0,
		"04:05:06     INFO - x":          0,
		"":                               0,
	} {
		if got := actionsPrefixLen([]byte(in)); got != want {
			t.Errorf("actionsPrefixLen(%q) = %d, want %d", in, got, want)
		}
	}
}
