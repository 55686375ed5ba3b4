package parse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parseSummaryFile(t *testing.T, name string, opts SummaryOptions) *ErrorSummary {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedLogs(t), name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	es, err := ParseErrorSummary(context.Background(), f, opts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return es
}

func countStatus(gs []GroupResult, status int) int {
	n := 0
	for _, g := range gs {
		if g.Status == status {
			n++
		}
	}
	return n
}

func firstWithStatus(gs []GroupResult, status int) string {
	for _, g := range gs {
		if g.Status == status {
			return g.Group
		}
	}
	return ""
}

// tests/log_parser/test_store_failure_lines.py::test_store_error_summary_group_status
// and test_group_status_duration.
func TestErrorSummaryMochitestBrowserChrome(t *testing.T) {
	es := parseSummaryFile(t, "mochitest-browser-chrome_errorsummary.log", SummaryOptions{})
	if len(es.FailureLines) != 5 {
		t.Errorf("%d failure lines, want 5", len(es.FailureLines))
	}
	if len(es.Groups) != 29 || countStatus(es.Groups, GroupOK) != 26 || countStatus(es.Groups, GroupError) != 3 {
		t.Errorf("groups: %d (%d OK, %d ERROR), want 29 (26 OK, 3 ERROR)",
			len(es.Groups), countStatus(es.Groups, GroupOK), countStatus(es.Groups, GroupError))
	}
	if g := firstWithStatus(es.Groups, GroupOK); g != "dom/base/test/browser.ini" {
		t.Errorf("first OK group %q", g)
	}
	if g := firstWithStatus(es.Groups, GroupError); g != "dom/workers/test/browser.ini" {
		t.Errorf("first ERROR group %q", g)
	}
	positive := 0
	for _, g := range es.Groups {
		if g.Duration > 0 {
			positive++
		}
	}
	if positive != 27 {
		t.Errorf("%d groups with a positive duration, want 27 (and 2 with 0)", positive)
	}
	if es.Ignored != 1 || es.Truncated || es.RejectedGroups != 0 {
		t.Errorf("ignored %d (test_groups), truncated %v, rejected %d", es.Ignored, es.Truncated, es.RejectedGroups)
	}
	fl := es.FailureLines[0]
	if fl.Action != "test_result" || fl.Line != 4167 || fl.Status != "FAIL" || *fl.Expected != "PASS" ||
		*fl.Test != "toolkit/components/pictureinpicture/tests/browser_fullscreen.js" ||
		*fl.Subtest != "Uncaught exception" || *fl.Message != "undefined - timed out after 50 tries." ||
		fl.Stack != nil || fl.Level != nil || *fl.Group != "toolkit/components/pictureinpicture/tests/browser.ini" ||
		fl.KnownIntermittent == nil || len(fl.KnownIntermittent) != 0 {
		t.Errorf("first failure line: %+v", fl)
	}
}

func TestErrorSummaryOtherMochitestLogs(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		lines, ok, errs, all int
	}{
		{"mochitest-browser-chrome_2_errorsummary.log", 5, 27, 2, 29},
		{"mochitest-browser-chrome_pass_errorsummary.log", 0, 29, 0, 29},
		{"mochitest-browser-chrome_infra_errorsummary.log", 1, 0, 0, 0},
		{"mochitest-browser-chrome_cf1_errorsummary.log", 0, 0, 1, 1},
		{"mochitest-browser-chrome_cf1_pass_errorsummary.log", 0, 1, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := parseSummaryFile(t, tc.name, SummaryOptions{})
			if len(es.FailureLines) != tc.lines || len(es.Groups) != tc.all ||
				countStatus(es.Groups, GroupOK) != tc.ok || countStatus(es.Groups, GroupError) != tc.errs {
				t.Errorf("%d lines, %d groups (%d OK, %d ERROR)", len(es.FailureLines), len(es.Groups),
					countStatus(es.Groups, GroupOK), countStatus(es.Groups, GroupError))
			}
		})
	}
}

// test_store_error_summary: one failure line.
func TestErrorSummaryPlainChunked(t *testing.T) {
	es := parseSummaryFile(t, "plain-chunked_errorsummary.log", SummaryOptions{})
	if len(es.FailureLines) != 1 || len(es.Groups) != 0 {
		t.Fatalf("%d failure lines, %d groups; want 1, 0", len(es.FailureLines), len(es.Groups))
	}
	fl := es.FailureLines[0]
	if fl.Action != "test_result" || fl.Line != 3116 || fl.Message != nil || fl.StackwalkStdout != nil ||
		*fl.Subtest != "Test timed out." || !strings.HasPrefix(*fl.Stack, "    reportError@") {
		t.Errorf("failure line: %+v", fl)
	}
}

// test_store_error_summary_truncated: cutoff 5 gives 5 lines plus one
// "truncated".
func TestErrorSummaryTruncated(t *testing.T) {
	es := parseSummaryFile(t, "plain-chunked_errorsummary_10_lines.log", SummaryOptions{Cutoff: 5})
	if len(es.FailureLines) != 6 || !es.Truncated || es.Lines != 6 {
		t.Fatalf("%d failure lines (truncated %v, %d read), want 5+1", len(es.FailureLines), es.Truncated, es.Lines)
	}
	for i, fl := range es.FailureLines {
		want := "test_result"
		if i == 5 {
			want = "truncated"
		}
		if fl.Action != want {
			t.Errorf("line %d: action %q, want %q", i, fl.Action, want)
		}
	}
	// The truncated line keeps its other fields.
	if es.FailureLines[5].Test == nil || es.FailureLines[5].Line == 0 {
		t.Errorf("truncated line lost its fields: %+v", es.FailureLines[5])
	}
	// With the default cutoff the 10 lines are all stored.
	es = parseSummaryFile(t, "plain-chunked_errorsummary_10_lines.log", SummaryOptions{})
	if len(es.FailureLines) != 10 || es.Truncated {
		t.Fatalf("default cutoff: %d lines, truncated %v", len(es.FailureLines), es.Truncated)
	}
}

// test_store_error_summary_astral: characters outside the BMP are kept
// (PostgreSQL-era Treeherder; MySQL-era replaced them, see StoredLine).
func TestErrorSummaryAstral(t *testing.T) {
	es := parseSummaryFile(t, "plain-chunked_errorsummary_astral.log", SummaryOptions{})
	if len(es.FailureLines) != 1 {
		t.Fatalf("%d failure lines", len(es.FailureLines))
	}
	fl := es.FailureLines[0]
	if *fl.Test != "toolkit/content/tests/widgets/test_videocontrols_video_direction.html \U0001F346" ||
		*fl.Subtest != "Test timed out. \U00010081" || *fl.Message != "\U000F0151" ||
		!strings.HasSuffix(*fl.Stack, "\U000F0151") || fl.StackwalkStdout != nil || fl.StackwalkStderr != nil {
		t.Errorf("failure line: %+v", fl)
	}
	if got := StoredLine(*fl.Test); got != "toolkit/content/tests/widgets/test_videocontrols_video_direction.html <U+01F346>" {
		t.Errorf("StoredLine: %q", got)
	}
	if got := StoredLine(*fl.Subtest); got != "Test timed out. <U+010081>" {
		t.Errorf("StoredLine: %q", got)
	}
}

// test_get_group_results_with_colon: group names keep their ':'.
func TestErrorSummaryGroupsWithColon(t *testing.T) {
	es := parseSummaryFile(t, "xpcshell-errorsummary-with-colon.log", SummaryOptions{})
	want := []GroupResult{
		{"toolkit/components/extensions/test/xpcshell/xpcshell-e10s.ini:toolkit/components/extensions/test/xpcshell/xpcshell-content.ini", GroupOK, 85},
		{"toolkit/components/places/tests/unit/xpcshell.ini", GroupOK, 108},
		{"toolkit/components/extensions/test/xpcshell/xpcshell-e10s.ini:toolkit/components/extensions/test/xpcshell/xpcshell-common-e10s.ini", GroupOK, 31},
		{"toolkit/components/normandy/test/unit/xpcshell.ini", GroupOK, 27},
		{"docshell/test/unit/xpcshell.ini", GroupOK, 36},
	}
	if fmt.Sprint(es.Groups) != fmt.Sprint(want) {
		t.Errorf("groups:\n got  %v\n want %v", es.Groups, want)
	}
	if len(es.FailureLines) != 0 || es.Ignored != 1 {
		t.Errorf("%d failure lines, %d ignored", len(es.FailureLines), es.Ignored)
	}
}

func parseSummaryString(t *testing.T, s string, opts SummaryOptions) (*ErrorSummary, error) {
	t.Helper()
	return ParseErrorSummary(context.Background(), strings.NewReader(s), opts)
}

func TestErrorSummaryGroupRules(t *testing.T) {
	long := strings.Repeat("é", 256)
	ok255 := strings.Repeat("é", 255)
	in := strings.Join([]string{
		`{"action":"group_result","group":"a","status":"OK","duration":1999}`,
		`{"action":"group_result","group":"b","status":"ERROR","duration":7200000}`,
		`{"action":"group_result","group":"c","status":"SKIP","duration":7200001}`,
		`{"action":"group_result","group":"d","status":"TIMEOUT","duration":-1}`,
		`{"action":"group_result","group":"e","status":null,"duration":"1000"}`,
		`{"action":"group_result","group":"f","status":"OK","duration":2500.9}`,
		`{"action":"group_result","group":"g","status":"OK"}`,
		`{"action":"group_result","group":"h","status":"OK","duration":true}`,
		`{"action":"group_result","group":"i","status":"OK","duration":1e30}`,
		`{"action":"group_result","group":"j\\k","status":"OK","duration":1}`,
		`{"action":"group_result","group":"` + long + `","duration":1}`,
		`{"action":"group_result","group":"` + ok255 + `","status":"OK","duration":999}`,
		`{"action":"test_groups","groups":["a"],"line":1}`,
		`{"action":"lint","line":2}`,
		`{"action":42,"line":3}`,
	}, "\n")
	es, err := parseSummaryString(t, in, SummaryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []GroupResult{
		{"a", GroupOK, 1}, {"b", GroupError, 7200}, {"c", GroupSkip, 0}, {"d", GroupUnsupported, 0},
		{"e", GroupUnsupported, 0}, {"f", GroupOK, 2}, {"g", GroupOK, 0}, {"h", GroupOK, 0}, {"i", GroupOK, 0},
		{ok255, GroupOK, 0},
	}
	if fmt.Sprint(es.Groups) != fmt.Sprint(want) {
		t.Errorf("groups:\n got  %v\n want %v", es.Groups, want)
	}
	if es.RejectedGroups != 2 || es.Ignored != 3 || len(es.FailureLines) != 0 {
		t.Errorf("rejected %d (want 2), ignored %d (want 3), failure lines %d", es.RejectedGroups, es.Ignored, len(es.FailureLines))
	}
}

func TestErrorSummaryFailureLineFields(t *testing.T) {
	in := `{"action":"log","level":"ERROR","message":"boom","line":"7","signature":"sig","stackwalk_stdout":"out","stackwalk_stderr":12}` + "\r\n" +
		`{"action":"crash","line":8.9,"signature":"s","test":"t","status":null}` + "\n"
	es, err := parseSummaryString(t, in, SummaryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(es.FailureLines) != 2 {
		t.Fatalf("%d lines", len(es.FailureLines))
	}
	a, b := es.FailureLines[0], es.FailureLines[1]
	if a.Action != "log" || a.Line != 7 || *a.Level != "ERROR" || *a.Message != "boom" || *a.Signature != "sig" ||
		*a.StackwalkStdout != "out" || *a.StackwalkStderr != "12" || a.Status != "" || a.Test != nil {
		t.Errorf("log line: %+v", a)
	}
	if b.Action != "crash" || b.Line != 8 || *b.Test != "t" || b.Status != "" {
		t.Errorf("crash line: %+v", b)
	}
}

// Blank lines are skipped (Treeherder would fail on them) and do not count
// towards the cutoff.
func TestErrorSummaryBlankLines(t *testing.T) {
	in := "\n" + `{"action":"log","line":1}` + "\n  \n\n" + `{"action":"log","line":2}` + "\n\n"
	es, err := parseSummaryString(t, in, SummaryOptions{Cutoff: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(es.FailureLines) != 2 || es.FailureLines[1].Action != "truncated" || es.Lines != 2 {
		t.Fatalf("%+v", es)
	}
}

func TestErrorSummaryBadInput(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"invalid JSON", `{"action":"log","line":1}` + "\n{not json}\n", "errorsummary line 2: not a JSON object"},
		{"array", `[1,2]`, "not a JSON object"},
		{"null", `null`, "not a JSON object: null"},
		{"no action", `{"line":1}`, `no "action"`},
		{"no line", `{"action":"log"}`, `no "line"`},
		{"bad line", `{"action":"log","line":"x"}`, `"line": not an integer`},
		{"group without group", `{"action":"group_result","status":"OK"}`, `without "group"`},
		{"group without status", `{"action":"group_result","group":"a"}`, `without "status"`},
		{"group not a string", `{"action":"group_result","group":5,"status":"OK"}`, `not a string`},
		{"binary", "\x00\xff\xfe\x01garbage", "not a JSON object"},
		{"NaN", `{"action":"log","line":1,"message":NaN}`, "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es, err := parseSummaryString(t, tc.in, SummaryOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
			if es == nil {
				t.Fatal("no partial result")
			}
		})
	}
	// Lines before the bad one are returned.
	es, _ := parseSummaryString(t, `{"action":"log","line":1}`+"\n{", SummaryOptions{})
	if len(es.FailureLines) != 1 {
		t.Errorf("partial result: %d lines", len(es.FailureLines))
	}
	// A line over the limit is an error, not a silent cut.
	_, err := parseSummaryString(t, `{"action":"log","line":1,"message":"`+strings.Repeat("x", 5000)+`"}`, SummaryOptions{MaxLineBytes: 4096})
	if err == nil || !strings.Contains(err.Error(), "longer than 4096 bytes") {
		t.Errorf("long line: %v", err)
	}
	// Invalid UTF-8 is replaced the way Python's decode("utf-8", "replace") does.
	es, err = parseSummaryString(t, "{\"action\":\"log\",\"line\":1,\"message\":\"a\xe2\x82b\xff\"}", SummaryOptions{})
	if err != nil || *es.FailureLines[0].Message != "a\ufffdb\ufffd" {
		t.Errorf("invalid UTF-8: %v %q", err, *es.FailureLines[0].Message)
	}
}

// jsonLines is an endless errorsummary: it fails the test if read far past
// the cutoff, proving the reader streams and stops.
type jsonLines struct {
	t    *testing.T
	n    int
	read int64
	buf  []byte
}

func (j *jsonLines) Read(p []byte) (int, error) {
	if j.read > 8<<20 {
		j.t.Errorf("read %d bytes: the reader does not stop after the cutoff", j.read)
		return 0, errors.New("read too far")
	}
	for len(j.buf) < len(p) {
		j.buf = fmt.Appendf(j.buf, `{"action":"test_result","line":%d,"test":"t%d","status":"FAIL","expected":"PASS"}`+"\n", j.n, j.n)
		j.n++
	}
	n := copy(p, j.buf)
	j.buf = j.buf[n:]
	j.read += int64(n)
	return n, nil
}

func TestErrorSummaryStopsAtCutoff(t *testing.T) {
	src := &jsonLines{t: t}
	es, err := ParseErrorSummary(context.Background(), src, SummaryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(es.FailureLines) != 151 || es.FailureLines[150].Action != "truncated" || es.FailureLines[149].Action != "test_result" {
		t.Fatalf("%d lines, last action %q", len(es.FailureLines), es.FailureLines[len(es.FailureLines)-1].Action)
	}
	if src.read > 1<<20 {
		t.Errorf("read %d bytes for 151 lines", src.read)
	}
}

func TestErrorSummaryContextAndSize(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ParseErrorSummary(ctx, &jsonLines{t: t}, SummaryOptions{Cutoff: -1})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	_, err = ParseErrorSummary(context.Background(), &jsonLines{t: t}, SummaryOptions{Cutoff: -1, MaxBytes: 100 << 10})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("size: %v", err)
	}
	_, err = ParseErrorSummary(context.Background(), io.MultiReader(strings.NewReader(`{"action":"log","line":1}`+"\n"), iotestErrReader{}), SummaryOptions{})
	if err == nil || !strings.Contains(err.Error(), "read log: boom") {
		t.Errorf("read error: %v", err)
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("boom") }
