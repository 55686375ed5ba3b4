package parse

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/herder-ci/herder/sdk"
)

// errorCases and nonErrorCases are Treeherder's own unit cases
// (tests/log_parser/test_error_parser.py), one per rule.
var errorCases = []string{
	// TEST-UNEXPECTED-
	"23:52:39 INFO - 346 INFO TEST-UNEXPECTED-FAIL | dom/base/test/test_XHRDocURI.html | foo",
	// fatal error
	`c:/Users/task_1584487163/dist/Release/lib\softokn3.dll.lib : fatal error LNK1120: 2 unresolved externals`,
	// FATAL ERROR
	"20:10:13     INFO - PID 15468 | FATAL ERROR: AsyncShutdown timeout in xpcom-will-shutdown",
	// Hit MOZ_CRASH
	"15:28:28     INFO - GECKO(3166) | Hit MOZ_CRASH(Shutdown hanging after all known phases and workers finished.) at /builds/worker/checkouts/gecko/toolkit/components/terminator/nsTerminator.cpp:246",
	// PROCESS-CRASH
	"00:54:55 WARNING - PROCESS-CRASH | Shutdown | application crashed [@ PR_GetThreadPrivate]",
	// Assertion fail
	"GECKO(6227) | Assertion failure: parent, at /builds/worker/checkouts/gecko/docshell/base/BrowsingContext.cpp:1365",
	// ^\d+:\d+:\d+ +(?:ERROR|CRITICAL|FATAL) -
	"23:57:52 ERROR - Return code: 1",
	"23:57:52 CRITICAL - Preparing to abort run due to failed verify check.",
	"23:57:52 FATAL - Dying due to failing verification",
	// ^remoteFailed:
	"remoteFailed: [Failure instance: Traceback (failure with no frames): Foo.",
	// ^g?make(?:\[\d+\])?: \*\*\*
	"08:13:37 INFO - make: *** [test-integration-test] Error 1",
	// mozmake\.(?:exe|EXE)(?:\[\d+\])?: \*\*\*
	`pymake\..\..\mozmake.exe: *** [buildsymbols] Error 11`,
	`pymake\..\..\mozmake.EXE: *** [buildsymbols] Error 11`,
	// SUMMARY: AddressSanitizer / ThreadSanitizer / UndefinedBehaviorSanitizer
	"00:55:13 INFO - SUMMARY: AddressSanitizer: 64 byte(s) leaked in 1 allocation(s).",
	"INFO - GECKO(2552) | SUMMARY: ThreadSanitizer: data race /builds/worker/checkouts/gecko/js/src/gc/Cell.h:572:21 in lengthField",
	"04:48:03     INFO -  [webrender 0.61.0] SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior glsl-optimizer/src/compiler/glsl/glcpp/pp.c:198:28 in",
	// ThreadSanitizer: nested bug
	"19:34:37     INFO - GECKO(2516) | ThreadSanitizer: nested bug in the same thread, aborting.",
	// Automation Error:
	"Automation Error: Foo bar",
	// command timed out:
	"22:16:31     INFO -  command timed out: fake -f param",
	// wget: unable
	"22:16:31     INFO -  wget: unable to resolve host address `queue.taskcluster.net'",
	// ^g?make(?:\[\d+\])?: \*\*\* after an ERROR prefix
	"20:57:49    ERROR -  make[3]: *** [widget/gtk/target-objects] Error 2",
	// ^[A-Za-z.]+Error:
	"subprocess.CalledProcessError: Command '['/usr/bin/python3', 'doc', '--outdir', 'docs-out', '--no-open', '--no-serve', '--archive']' returned non-zero exit status 2.",
	// ^[A-Za-z.]*Exception:
	"InvalidArgumentException: Unknown pointerType: [object String]",
	// ^abort:
	"abort: reached maximum number of network attempts; giving up",
	// ^rm: cannot
	"rm: cannot remove `debian/git/usr/share/doc/git/contrib': Is a directory",
	// ^\[taskcluster\] Error:
	"[taskcluster] Error: Task run time exceeded 7200 seconds.",
	// ERROR [45]\d\d:
	"2014-04-04 06:37:57 ERROR 403: Forbidden.",
	// ^\[[\w._-]+:(?:error|exception)\]
	"[taskcluster:error] Could not upload artifact",
	"[taskcluster-image-build:error] Dockerfile must be present in /home/worker/nss/automation.",
	"[test_linux.sh:error] could not download zip file",
	// REFTEST ERROR
	"14:15:32     INFO -  REFTEST ERROR | file:///Z:/task_1491573689/build/tests/reftest/tests/layout/reftests/w3c-css/submitted/text3/text-justify-inter-character-001.html | application timed out after 330 seconds with no output",
	// ^\[  FAILED  \]
	"[  FAILED  ] AllHashFuncs/TlsHkdfTest.HkdfNullNull/1, where GetParam() = 5",
	// bash.exe: ***
	`[task 2019-01-07T09:43:24.098Z] C:\mozilla-build\msys\bin\bash.exe: *** Couldn't reserve space for cygwin's heap, Win32 error 0`,
	// error\(\d*\):
	`12:54:44     INFO -  ChunkedEncodingError: ("Connection broken: error(54, 'Connection reset by peer')", error(54, 'Connection reset by peer'))`,
	// :\d+: error:
	"2020-03-18 20:40:52 UTC 39:27.50 /builds/worker/checkouts/gecko/widget/gtk/nsWindow.cpp:3536:30: error: too few arguments to function 'const gchar* gtk_check_version(guint, guint, guint)'",
	// error R?C\d*:
	"src/gl.cc(2249): error C2065: 'BLEND_1': undeclared identifier",
	// YOU ARE LEAKING THE WORLD
	"20:28:29     INFO - WARNING: YOU ARE LEAKING THE WORLD (at least one JSRuntime and everything alive inside it, that is) AT JS_ShutDown TIME.  FIX THIS!",
	// Unsuccessful task run with exit code: 137
	"[taskcluster 2020-08-25T10:00:00.000Z] Unsuccessful task run with exit code: 137 completed in 3600.123 seconds",
}

var nonErrorCases = []string{
	// A passing test step.
	"TEST-PASS | foo | bar",
	// TEST-UNEXPECTED-WARNING does not fail a task.
	"TEST-UNEXPECTED-WARNING | /builds/worker/checkouts/gecko/browser/components/migration/IEProfileMigrator.sys.mjs:377:12 | OS.File is deprecated. You should use IOUtils instead. (mozilla/reject-osfile)",
	// Does not match ^[A-Za-z.]*Exception:
	"07:42:02     INFO -  Exception:",
	// Does not match ^[A-Za-z.]+Error:
	"07:51:08     INFO -  Caught Exception: Remote Device Error: unable to connect to panda-0501 after 5 attempts",
	// I[ /](Gecko|TestRunner).*TEST-UNEXPECTED-
	"06:21:18     INFO -  I/GeckoDump(  730): 110 INFO TEST-UNEXPECTED-FAIL | foo | bar",
	// Does not match ^\[taskcluster\] Error: or ^\[[\w._-]+:(?:error|exception)\]
	"[taskcluster:info] Starting task",
	"[taskcluster] Starting task",
	// ^ImportError: No module named pygtk$, also with a line end
	"01:22:41     INFO -  ImportError: No module named pygtk",
	"01:22:41     INFO -  ImportError: No module named pygtk\r\n",
	// non-fatal error
	"2023-02-28 22:06:01+0000: non-fatal error removing directory: icons/, rv: 0, err: 39",
	// Assertion failure$
	"PROCESS(1234) | Assertion failure",
	// RE_EXCLUDE_1_SEARCH beats RE_ERR_1_MATCH.
	"23:57:52 ERROR - TEST-INFO | Return code: 1",
	"23:57:52 ERROR - TEST-PASS | Return code: 1",
	"12:00:00 ERROR - A content process crashed and MOZ_CRASHREPORTER_SHUTDOWN is set, shutting down",
	// ^TimeoutException:
	"12:00:00     INFO -  TimeoutException: Timed out after 60 seconds",
	// Treeherder revisions after the reference snapshot add ^error: (see
	// docs/logparser-notes.md); the reference rules do not have it.
	"error: failed to parse lock file at: /builds/worker/workspace/build/src/tools/lint/moz-linter/Cargo.lock",
	// Ordinary lines.
	"[task 2025-02-13T21:32:14.225Z] 21:44:59     INFO - GECKO(8692) | nothing to see here",
	"",
}

func TestErrorRules(t *testing.T) {
	for _, tc := range []bool{false, true} {
		for _, line := range errorCases {
			if _, ok := ClassifyLine([]byte(line), tc); !ok {
				t.Errorf("taskcluster=%v: not an error: %q", tc, line)
			}
			if _, ok := classifyLineRef(line, tc); !ok {
				t.Errorf("taskcluster=%v: reference: not an error: %q", tc, line)
			}
		}
		for _, line := range nonErrorCases {
			if _, ok := ClassifyLine([]byte(line), tc); ok {
				t.Errorf("taskcluster=%v: an error: %q", tc, line)
			}
			if _, ok := classifyLineRef(line, tc); ok {
				t.Errorf("taskcluster=%v: reference: an error: %q", tc, line)
			}
		}
	}
}

// Python's \d, \w, \s and \b are Unicode-aware; so are the translations.
func TestErrorRulesUnicodeClasses(t *testing.T) {
	for _, tc := range []struct {
		line string
		want bool
	}{
		{"٢٣:٥٧:٥٢ ERROR - Arabic-Indic digits are \\d in Python", true},
		{"x.cpp:١٢: error: Arabic-Indic digits again", true},
		{"[тест_1:error] Cyrillic is \\w in Python", true},
		{"TEST-UNEXPECTED-WARNINGé is no word boundary in Python", true},
		{"TEST-UNEXPECTED-WARNING| is a word boundary", false},
		{"TEST-UNEXPECTED-WARNING_x is no boundary", true},
	} {
		if _, ok := ClassifyLine([]byte(tc.line), false); ok != tc.want {
			t.Errorf("%q: error=%v, want %v", tc.line, ok, tc.want)
		}
		if _, ok := classifyLineRef(tc.line, false); ok != tc.want {
			t.Errorf("reference %q: error=%v, want %v", tc.line, ok, tc.want)
		}
	}
}

func TestTaskclusterPrefix(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"[vcs 2016-09-07T19:03:02.188327Z] 23:57:52 ERROR - Return code: 1", "23:57:52 ERROR - Return code: 1"},
		{"[task 2016-08-18T17:50:56.955523Z] x", "x"},
		{"[2016- task] x", "x"},
		{"[taskcluster:error] x", "[taskcluster:error] x"},
		{"[taskcluster:something 2016-] x", "[taskcluster:something 2016-] x"},
		{"[task 2016-] x", "[task 2016-] x"},                   // nothing between "-" and "]"
		{"[task 2016-09]x", "[task 2016-09]x"},                 // no whitespace after "]"
		{"[task 2016-09]\u00a0x", "x"},                         // NO-BREAK SPACE is \s in Python
		{"[a] [task 2016-09-07] x", "[a] [task 2016-09-07] x"}, // only a leading prefix
		{"[task 20١٦-09] x", "x"},                              // \d matches any decimal digit
	} {
		if got := stripTaskclusterPrefix(tc.in); got != tc.want {
			t.Errorf("strip(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func parseString(t *testing.T, log string, opts Options) *Summary {
	t.Helper()
	s, err := ParseErrors(context.Background(), strings.NewReader(log), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func errs(pairs ...any) []sdk.ErrorLine {
	var out []sdk.ErrorLine
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, sdk.ErrorLine{LineNumber: pairs[i].(int), Line: pairs[i+1].(string)})
	}
	return out
}

func checkErrors(t *testing.T, got, want []sdk.ErrorLine) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n got  %+v\n want %+v", got, want)
	}
}

// test_taskcluster_strip_prefix: the prefix is only stripped once a
// "[taskcluster " line was seen, and line numbers count from 0.
func TestParseTaskclusterStrip(t *testing.T) {
	log := "[vcs 2016-09-07T19:03:02.188327Z] 23:57:52 ERROR - Return code: 1\n" +
		"[taskcluster 2016-09-07 19:02:55.114Z] Task ID: PWden6jYS4SfVKYj4p7y6w\n" +
		"[vcs 2016-09-07T19:03:02.188327Z] 23:57:52 ERROR - Return code: 1\n"
	s := parseString(t, log, Options{})
	checkErrors(t, s.Errors, errs(2, "23:57:52 ERROR - Return code: 1"))
	if !s.Taskcluster || s.Lines != 3 {
		t.Errorf("taskcluster %v, lines %d", s.Taskcluster, s.Lines)
	}
}

// The stored line keeps the mozharness prefix, loses trailing whitespace.
func TestParseStoredText(t *testing.T) {
	log := "[taskcluster 2016-09-07 19:02:55.114Z] start\n" +
		"[task 2016-09-07T19:03:02Z] 12:00:00     INFO - TEST-UNEXPECTED-FAIL | a | b \t \x0b\n"
	s := parseString(t, log, Options{})
	checkErrors(t, s.Errors, errs(1, "12:00:00     INFO - TEST-UNEXPECTED-FAIL | a | b"))
}

func TestParseDuplicates(t *testing.T) {
	log := strings.Join([]string{
		"[taskcluster 2016-09-07 19:02:55.114Z] start",
		"[task 2016-09-07T19:03:02Z] TEST-UNEXPECTED-FAIL | a",
		"[task 2017-01-01T00:00:00Z] TEST-UNEXPECTED-FAIL | a   ", // same once stripped and rstripped
		"TEST-UNEXPECTED-FAIL | a",
		"ordinary line",
		"TEST-UNEXPECTED-FAIL | a", // not consecutive among stored lines? it is: the ordinary line is not stored
		"TEST-UNEXPECTED-FAIL | b",
		"TEST-UNEXPECTED-FAIL | a",
	}, "\n")
	s := parseString(t, log, Options{})
	checkErrors(t, s.Errors, errs(1, "TEST-UNEXPECTED-FAIL | a", 6, "TEST-UNEXPECTED-FAIL | b", 7, "TEST-UNEXPECTED-FAIL | a"))
}

func TestParseErrorCap(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "TEST-UNEXPECTED-FAIL | test %d\nok\n", i)
	}
	s := parseString(t, b.String(), Options{})
	if len(s.Errors) != 40 || s.Errors[39].LineNumber != 78 || s.Errors[39].Line != "TEST-UNEXPECTED-FAIL | test 39" {
		t.Fatalf("%d errors, last %+v", len(s.Errors), s.Errors[len(s.Errors)-1])
	}
	if s.Lines != 200 {
		t.Errorf("lines %d", s.Lines)
	}
	s = parseString(t, b.String(), Options{MaxErrors: 3})
	if len(s.Errors) != 3 {
		t.Errorf("MaxErrors 3: %d", len(s.Errors))
	}
	s = parseString(t, b.String(), Options{MaxErrors: -1})
	if len(s.Errors) != 100 {
		t.Errorf("no cap: %d", len(s.Errors))
	}
}

// Lines are cut to 500 characters (not bytes) before the rules run, unless
// they contain PERFHERDER_DATA.
func TestParseLineCut(t *testing.T) {
	long := "TEST-UNEXPECTED-FAIL | " + strings.Repeat("é", 600)
	late := strings.Repeat("é", 500) + "TEST-UNEXPECTED-FAIL"
	perf := "TEST-UNEXPECTED-FAIL | " + strings.Repeat("é", 600) + " PERFHERDER_DATA"
	s := parseString(t, long+"\n"+late+"\n"+perf+"\n", Options{})
	want := "TEST-UNEXPECTED-FAIL | " + strings.Repeat("é", 500-23)
	checkErrors(t, s.Errors, errs(0, want, 2, perf))
	// A cut that falls inside the TC prefix or leaves trailing spaces: the
	// cut comes first, then the strip and the rstrip.
	spaced := "TEST-UNEXPECTED-FAIL" + strings.Repeat(" ", 490) + "x"
	s = parseString(t, spaced+"\n", Options{})
	checkErrors(t, s.Errors, errs(0, "TEST-UNEXPECTED-FAIL"))
	s = parseString(t, long+"\n", Options{MaxLineRunes: 30})
	checkErrors(t, s.Errors, errs(0, "TEST-UNEXPECTED-FAIL | ééééééé"))
}

// Lines split like bytes.splitlines: \n, \r and \r\n.
func TestParseLineSplitting(t *testing.T) {
	log := "TEST-UNEXPECTED-FAIL 0\rTEST-UNEXPECTED-FAIL 1\r\nTEST-UNEXPECTED-FAIL 2\n\r\nTEST-UNEXPECTED-FAIL 4\r\rTEST-UNEXPECTED-FAIL 6\v7\f8\x1c9\u0085 \u2028 x TEST-UNEXPECTED-FAIL 10"
	want := errs(0, "TEST-UNEXPECTED-FAIL 0", 1, "TEST-UNEXPECTED-FAIL 1", 2, "TEST-UNEXPECTED-FAIL 2",
		4, "TEST-UNEXPECTED-FAIL 4", 6, "TEST-UNEXPECTED-FAIL 6\v7\f8\x1c9\u0085 \u2028 x TEST-UNEXPECTED-FAIL 10")
	s := parseString(t, log, Options{})
	checkErrors(t, s.Errors, want)
	if s.Lines != 7 {
		t.Errorf("lines %d, want 7", s.Lines)
	}
	// Byte-at-a-time reads split "\r\n" across reads: same result.
	s2, err := ParseErrors(context.Background(), &oneByteReader{r: strings.NewReader(log)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkErrors(t, s2.Errors, want)
	if s2.Lines != 7 {
		t.Errorf("one byte at a time: lines %d, want 7", s2.Lines)
	}
	for _, tc := range []struct {
		in    string
		lines int64
	}{{"", 0}, {"\n", 1}, {"a", 1}, {"a\n", 1}, {"a\r\n", 1}, {"a\r", 1}, {"a\n\n", 2}, {"\r\r\n", 2}, {"a\n\rb", 3}} {
		if s := parseString(t, tc.in, Options{}); s.Lines != tc.lines {
			t.Errorf("%q: %d lines, want %d", tc.in, s.Lines, tc.lines)
		}
	}
}

type oneByteReader struct{ r *strings.Reader }

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestParsePerfData(t *testing.T) {
	log := strings.Join([]string{
		`12:00:00 INFO - PERFHERDER_DATA: {"framework": {"name": "build_metrics"}, "suites": []}`,
		`PERFHERDER_DATA: {}`,                               // empty: rejected
		`PERFHERDER_DATA: {"a": 1} trailing }`,              // {.*} runs to the last brace: invalid
		`PERFHERDER_DATA:{"a": 1}`,                          // \s+ needs one whitespace: no match
		`PERFHERDER_DATA: x PERFHERDER_DATA:  {"b": 2}`,     // the regex backtracks to the second marker
		"PERFHERDER_DATA:\u00a0{\"c\": \"\u00e9\"}",         // NO-BREAK SPACE is \s
		`PERFHERDER_DATA: {"d": [1, 2]`,                     // no closing brace: no match
		`TEST-UNEXPECTED-FAIL PERFHERDER_DATA: {"e": true}`, // an error line and perf data
		`PERFHERDER_DATA: {"f": 1}` + "\xff",                // invalid UTF-8 after the blob
	}, "\n")
	s := parseString(t, log, Options{})
	var got []string
	for _, p := range s.PerfData {
		got = append(got, string(p))
	}
	want := []string{`{"framework": {"name": "build_metrics"}, "suites": []}`, `{"b": 2}`, "{\"c\": \"\u00e9\"}", `{"e": true}`, `{"f": 1}`}
	if !slices.Equal(got, want) {
		t.Errorf("perf data:\n got  %q\n want %q", got, want)
	}
	if s.PerfRejected != 2 {
		t.Errorf("rejected %d, want 2", s.PerfRejected)
	}
	checkErrors(t, s.Errors, errs(7, `TEST-UNEXPECTED-FAIL PERFHERDER_DATA: {"e": true}`))
	// Perf data is still read after the error cap.
	s = parseString(t, "TEST-UNEXPECTED-FAIL\n"+`PERFHERDER_DATA: {"a": 1}`+"\n", Options{MaxErrors: 1})
	if len(s.PerfData) != 1 {
		t.Errorf("after the cap: %d blobs", len(s.PerfData))
	}
}

// Invalid UTF-8 becomes U+FFFD the way Python's decode(..., "replace")
// does: one per maximal invalid subsequence, not one per byte.
func TestPyDecode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"\xe2\x82A", "\ufffdA"},
		{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"},
		{"\xf0\x80\x80\x80", "\ufffd\ufffd\ufffd\ufffd"},
		{"\xf0\x9f\x98A", "\ufffdA"},
		{"\xc0\xaf", "\ufffd\ufffd"},
		{"\xf4\x90\x80\x80", "\ufffd\ufffd\ufffd\ufffd"},
		{"\xe0\x80\xaf", "\ufffd\ufffd\ufffd"},
		{"\xf0\x9f\x98\x80", "\U0001F600"},
		{"\xc3", "\ufffd"},
		{"\xff\xfe", "\ufffd\ufffd"},
		{"a\x80b", "a\ufffdb"},
		{"plain", "plain"},
	} {
		if got, _ := pyDecode([]byte(tc.in), -1); got != tc.want {
			t.Errorf("pyDecode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// The cut counts characters after replacement.
	if got, cut := pyDecode([]byte("\xe2\x82AB\xffC"), 3); got != "\ufffdAB" || !cut {
		t.Errorf("cut: %q %v", got, cut)
	}
	if got, cut := pyDecode([]byte("ééé"), 2); got != "éé" || !cut {
		t.Errorf("cut: %q %v", got, cut)
	}
	s := parseString(t, "TEST-UNEXPECTED-FAIL \xe2\x82| \xff\n", Options{})
	checkErrors(t, s.Errors, errs(0, "TEST-UNEXPECTED-FAIL \ufffd| \ufffd"))
}

func TestPyRstrip(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a \t\r\n\v\f\x1c\x1d\x1e\x1f", "a"},
		{"a\u0085\u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000", "a"},
		{"a\u200b", "a\u200b"}, // ZERO WIDTH SPACE is not whitespace
		{"a\x00", "a\x00"},
		{"   ", ""},
		{"é ", "é"},
	} {
		if got := pyRstrip(tc.in); got != tc.want {
			t.Errorf("pyRstrip(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStoredLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"BMP é € \uffff", "BMP é € \uffff"},
		{"a\U0001F346b", "a<U+01F346>b"},
		{"\U00010081\U000F0151\U0010FFFF", "<U+010081><U+0F0151><U+10FFFF>"},
	} {
		if got := StoredLine(tc.in); got != tc.want {
			t.Errorf("StoredLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The literal set derived from the rules is what the rules need; this pins
// it so a rule change that loosens it is noticed.
func TestPrefilterLiterals(t *testing.T) {
	if defaultMatcher.always != 0 {
		t.Fatal("some rule has no literal: the prefilter passes every line")
	}
	for _, want := range []string{"TEST-UNEXPECTED-", "ERROR - ", "CRITICAL - ", "FATAL - ", ": ***", "Error: ",
		"Exception: ", ":error]", ":exception]", " error(", ": error:", " error C", " error RC", "ERROR 4", "ERROR 5",
		"mozmake.exe", "mozmake.EXE"} {
		if !slices.Contains(defaultMatcher.lits, want) {
			t.Errorf("derived literals lack %q: %q", want, defaultMatcher.lits)
		}
	}
	for _, r := range append(slices.Clone(errMatchRules), errSearchRules...) {
		if len(r.guard) == 0 {
			t.Errorf("rule %s has no guard literal", r.re)
		}
	}
	// A rule with no fixed text makes the prefilter pass everything.
	if set, ok := requiredLiterals(mustCompile(`^\d+x?`)); ok {
		t.Errorf("derived %q from a rule without a literal", set)
	}
	if set, _ := requiredLiterals(mustCompile(`ab(?:cd|ef)g|h[ij]k`)); !slices.Equal(set, []string{"abcdg", "abefg", "hik", "hjk"}) {
		t.Errorf("derived %q", set)
	}
}

func mustCompile(s string) *regexp.Regexp { return regexp.MustCompile(py(s)) }

func TestLogViewJSON(t *testing.T) {
	v := LogView{LogURL: "u"}
	if b, _ := json.Marshal(v); string(b) != `{"logurl":"u","errors":[]}` {
		t.Errorf("MarshalJSON: %s", b)
	}
	if got := string(v.PythonJSON()); got != "{\n  \"logurl\": \"u\",\n  \"errors\": []\n}\n" {
		t.Errorf("PythonJSON empty: %q", got)
	}
	// Compared with Python 3.11's json.dumps(..., indent=2).
	v = LogView{LogURL: "http://x/1.log.gz", Errors: errs(1, "x\x7f\x00\x1f é \U0001F346 / <&> \"\\ \b\f\n\r\t", 22, "b")}
	want := `{
  "logurl": "http://x/1.log.gz",
  "errors": [
    {
      "linenumber": 1,
      "line": "x\u007f\u0000\u001f \u00e9 \ud83c\udf46 / <&> \"\\ \b\f\n\r\t"
    },
    {
      "linenumber": 22,
      "line": "b"
    }
  ]
}
`
	if got := string(v.PythonJSON()); got != want {
		t.Errorf("PythonJSON:\n%s\nwant\n%s", got, want)
	}
	var back LogView
	if b, err := json.Marshal(v); err != nil || json.Unmarshal(b, &back) != nil || !slices.Equal(back.Errors, v.Errors) {
		t.Errorf("round trip: %v %+v", err, back)
	}
}
