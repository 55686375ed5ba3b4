package match

import (
	"encoding/json"

	"github.com/herder-ci/herder/sdk"
	"reflect"
	"strings"
	"testing"
)

func ptr(s string) *string { return &s }

// Treeherder's tests/model/test_error_summary.py, case for case.

func TestCleanLineTreeherderCases(t *testing.T) {
	cases := []struct{ raw, want string }{
		{
			"00:54:20     INFO - GECKO(1943) | Assertion failure: rc != 0 (destroyed timer off its target thread!), at /builds/worker/checkouts/gecko/xpcom/threads/TimerThread.cpp:434",
			"Assertion failure: rc != 0 (destroyed timer off its target thread!), at /builds/worker/checkouts/gecko/xpcom/threads/TimerThread.cpp:X",
		},
		{
			"17:22:43 INFO - PID 2944 | [6132] Assertion failure: XRE_IsGPUProcess() || gfxPlatform::GetPlatform()->DevicesInitialized(), at /builds/worker/checkouts/gecko/gfx/thebes/DeviceManagerDx.cpp:1320",
			"Assertion failure: XRE_IsGPUProcess() || gfxPlatform::GetPlatform()->DevicesInitialized(), at /builds/worker/checkouts/gecko/gfx/thebes/DeviceManagerDx.cpp:X",
		},
		{
			"10:27:00  WARNING -  PROCESS-CRASH | [Child 8959, Main Thread] ###!!! ASSERTION: Should only schedule view manager flush on root prescontexts: 'mPresContext && mPresContext->IsRoot()', file /builds/worker/checkouts/gecko/layout/base/nsRefreshDriver.cpp:2931 [@ nsRefreshDriver::SchedulePaint] | docshell/test/unit/test_subframe_stop_after_parent_error.js",
			"PROCESS-CRASH | [Child X, Y Thread] ###!!! ASSERTION: Should only schedule view manager flush on root prescontexts: 'mPresContext && mPresContext->IsRoot()', file /builds/worker/checkouts/gecko/layout/base/nsRefreshDriver.cpp:X [@ nsRefreshDriver::SchedulePaint] | docshell/test/unit/test_subframe_stop_after_parent_error.js",
		},
		// Each rule on its own.
		{"12:34:56     INFO -  TEST-UNEXPECTED-FAIL | a.html | b", "TEST-UNEXPECTED-FAIL | a.html | b"},
		{"12:34:56 CRITICAL - boom", "boom"},
		{"  GECKO(12) | PID 3 | x  ", "x"},
		{"[Parent 123, IPC Thread] x", "[Parent X, Y Thread] x"},
		{"[1234]   leading pid", "leading pid"},
		{"not [1234] leading", "not [1234] leading"},
		{"foo_cpp:12", "foo.cpp:X"}, // the unescaped '.' of Treeherder's pattern
		{"12:34:56 INFO - \u00a0spaces\u001f", "spaces"},
		{"١٢:٣٤:٥٦     INFO - arabic digits", "arabic digits"}, // Python's \d is Unicode
	}
	for _, c := range cases {
		if got := CleanLine(c.raw); got != c.want {
			t.Errorf("CleanLine(%q)\n got %q\nwant %q", c.raw, got, c.want)
		}
	}
}

type termsCase struct {
	line    string
	terms   []*string
	pathEnd *string
}

func checkTerms(t *testing.T, cases []termsCase) {
	t.Helper()
	for _, c := range cases {
		got := SearchTerms(c.line)
		if !reflect.DeepEqual(got.SearchTerms, c.terms) || !reflect.DeepEqual(got.PathEnd, c.pathEnd) {
			t.Errorf("SearchTerms(%q)\n got %s path_end %s\nwant %s path_end %s", c.line,
				js(got.SearchTerms), js(got.PathEnd), js(c.terms), js(c.pathEnd))
		}
	}
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestSearchTermsPipeDelimited(t *testing.T) {
	checkTerms(t, []termsCase{
		{
			"596 INFO TEST-UNEXPECTED-FAIL | chrome://mochitests/content/browser/browser/components/loop/test/mochitest/browser_fxa_login.js | Check settings tab URL - Got http://mochi.test:8888/browser/browser/components/loop/test/mochitest/loop_fxa.sjs",
			[]*string{ptr("browser_fxa_login.js")},
			ptr("chrome://mochitests/content/browser/browser/components/loop/test/mochitest/browser_fxa_login.js"),
		},
		{
			"REFTEST TEST-UNEXPECTED-FAIL | file:///C:/slave/test/build/tests/reftest/tests/layout/reftests/layers/component-alpha-exit-1.html | image comparison (==), max difference: 255, number of differing pixels: 251",
			[]*string{ptr("component-alpha-exit-1.html")},
			ptr("file:///C:/slave/test/build/tests/reftest/tests/layout/reftests/layers/component-alpha-exit-1.html"),
		},
		{
			"2423 INFO TEST-UNEXPECTED-FAIL | /tests/dom/media/tests/mochitest/test_dataChannel_basicAudio.html | undefined assertion name - Result logged after SimpleTest.finish()",
			[]*string{ptr("test_dataChannel_basicAudio.html")},
			ptr("/tests/dom/media/tests/mochitest/test_dataChannel_basicAudio.html"),
		},
		{
			`TEST-UNEXPECTED-FAIL | mainthreadio | File 'c:\users\cltbld~1.t-w' was accessed and we were not expecting it: {'Count': 6, 'Duration': 0.112512, 'RunCount': 6}`,
			[]*string{ptr("mainthreadio")},
			ptr("mainthreadio"),
		},
		{
			"REFTEST PROCESS-CRASH | application crashed [@ jemalloc_crash] | http://10.0.2.2:8854/tests/dom/canvas/test/reftest/webgl-resize-test.html == http://10.0.2.2:8854/tests/dom/canvas/test/reftest/wrapper.html?green.png",
			[]*string{ptr("application crashed [@ jemalloc_crash]")},
			ptr("http://10.0.2.2:8854/tests/dom/canvas/test/reftest/webgl-resize-test.html"),
		},
		{
			"REFTEST PROCESS-CRASH | application crashed [@ jemalloc_crash] | http://10.0.2.2:8854/tests/dom/canvas/test/reftest/webgl-resize-test.html != http://10.0.2.2:8854/tests/dom/canvas/test/reftest/wrapper.html?green.png",
			[]*string{ptr("application crashed [@ jemalloc_crash]")},
			ptr("http://10.0.2.2:8854/tests/dom/canvas/test/reftest/webgl-resize-test.html"),
		},
		{
			"TEST-UNEXPECTED-FAIL | /tests/dom/events/test/pointerevents/pointerevent_touch-action-table-test_touch-manual.html | touch-action attribute test on the cell: assert_true: scroll received while shouldn't expected true got false",
			[]*string{ptr("pointerevent_touch-action-table-test_touch-manual.html")},
			ptr("/tests/dom/events/test/pointerevents/pointerevent_touch-action-table-test_touch-manual.html"),
		},
		// Windows paths: backslashes become slashes before the file name is taken.
		{
			`TEST-UNEXPECTED-FAIL | C:\tests\dom\test_win_path.html | failed`,
			[]*string{ptr("test_win_path.html")},
			ptr("C:/tests/dom/test_win_path.html"),
		},
	})
}

func TestSearchTermsWithParams(t *testing.T) {
	checkTerms(t, []termsCase{{
		"INFO TEST-UNEXPECTED-TIMEOUT | /html/cross-origin-opener-policy/coep-navigate-popup.https.html?4-last | TestRunner hit external timeout (this may indicate a hang)",
		[]*string{ptr("coep-navigate-popup.https.html?4-last"), ptr("coep-navigate-popup.https.html")},
		ptr("/html/cross-origin-opener-policy/coep-navigate-popup.https.html?4-last"),
	}})
}

func TestSearchTermsLeaks(t *testing.T) {
	checkTerms(t, []termsCase{
		{
			"TEST-UNEXPECTED-FAIL | leakcheck | 13195 bytes leaked (BackstagePass, CallbackObject, DOMEventTargetHelper, EventListenerManager, EventTokenBucket, ...)",
			[]*string{ptr("BackstagePass, CallbackObject, DOMEventTargetHelper, EventListenerManager, EventTokenBucket, ...")},
			nil,
		},
		{
			"TEST-UNEXPECTED-FAIL | leakcheck | tab process: 44330 bytes leaked (AsyncLatencyLogger, AsyncTransactionTrackersHolder, AudioOutputObserver, BufferRecycleBin, CipherSuiteChangeObserver, ...)",
			[]*string{ptr("AsyncLatencyLogger, AsyncTransactionTrackersHolder, AudioOutputObserver, BufferRecycleBin, CipherSui")},
			nil,
		},
		{
			"TEST-UNEXPECTED-FAIL | LeakSanitizer | leak at MakeUnique, nsThread::nsChainedEventQueue::nsChainedEventQueue, nsThread, nsThreadManager::Init",
			[]*string{ptr("MakeUnique, nsThread::nsChainedEventQueue::nsChainedEventQueue, nsThread, nsThreadManager::Init")},
			nil,
		},
	})
}

func TestSearchTermsFullLineFallback(t *testing.T) {
	checkTerms(t, []termsCase{
		{
			"Automation Error: No crash directory (/mnt/sdcard/tests/profile/minidumps/) found on remote device",
			[]*string{ptr("Automation Error: No crash directory (/mnt/sdcard/tests/profile/minidumps/) found on remote device")},
			nil,
		},
		{
			"PROCESS-CRASH | Automation Error: Missing end of test marker (process crashed?)",
			[]*string{ptr("Automation Error: Missing end of test marker (process crashed?)"), ptr("Automation Error: Missing end of test marker (process crashed")},
			nil,
		},
	})
}

func TestSearchTermsLongLines(t *testing.T) {
	checkTerms(t, []termsCase{
		{
			"command timed out: 2400 seconds without output running ['/tools/buildbot/bin/python', 'scripts/scripts/android_emulator_unittest.py', '--cfg', 'android/androidx86.py', '--test-suite', 'robocop-1', '--test-suite', 'robocop-2', '--test-suite', 'robocop-3', '--test-suite', 'xpcshell', '--blob-upload-branch', 'b2g-inbound', '--download-symbols', 'ondemand'], attempting to kill",
			[]*string{ptr("command timed out: 2400 seconds without output running ['/tools/buildbot/bin/python', 'scripts/scrip")},
			nil,
		},
		{
			"TEST-UNEXPECTED-FAIL | frames/marionette/test_switch_frame.py TestSwitchFrame.test_should_be_able_to_carry_on_working_if_the_frame_is_deleted_from_under_us | AssertionError: 0 != 1",
			[]*string{ptr("test_switch_frame.py")},
			ptr("frames/marionette/test_switch_frame.py"),
		},
		// The 100-character cut counts characters, not bytes.
		{
			strings.Repeat("é", 150),
			[]*string{ptr(strings.Repeat("é", 100))},
			nil,
		},
	})
}

func TestCrashSignatureTreeherderCase(t *testing.T) {
	line := "PROCESS-CRASH | application crashed [@ nsInputStreamPump::OnStateStop()] | file:///C:/slave/test/build/tests/jsreftest/tests/jsreftest.html?test=test262/ch11/11.4/11.4.1/11.4.1-4.a-6.js"
	if got := CrashSignature(line); got == nil || *got != "nsInputStreamPump::OnStateStop()" {
		t.Fatalf("CrashSignature = %s", js(got))
	}
	for _, l := range []string{
		"PROCESS-CRASH | application crashed [@ mozalloc_abort] | x.html", // blacklisted
		"PROCESS-CRASH | application crashed [@ abc] | x.html",            // too short
		"application crashed [@ nsFoo::Bar()] | x",                        // nothing before
		"PROCESS-CRASH | application crashed [@ nsFoo::Bar()]",            // nothing after
	} {
		if got := CrashSignature(l); got != nil {
			t.Errorf("CrashSignature(%q) = %q, want none", l, *got)
		}
	}
}

func TestSearchTermsBlacklist(t *testing.T) {
	checkTerms(t, []termsCase{
		{
			"TEST-UNEXPECTED-FAIL | remoteautomation.py | application timed out after 330 seconds with no output",
			[]*string{ptr("remoteautomation.py | application timed out after 330 seconds with no output")},
			ptr("remoteautomation.py"),
		},
		{"Return code: 1", []*string{nil}, nil},
		{
			"REFTEST PROCESS-CRASH | application crashed [@ mozalloc_abort] | file:///home/worker/workspace/build/tests/reftest/tests/layout/reftests/font-inflation/video-1.html",
			[]*string{ptr("application crashed [@ mozalloc_abort]")},
			ptr("file:///home/worker/workspace/build/tests/reftest/tests/layout/reftests/font-inflation/video-1.html"),
		},
	})
}

// The rules of the reference (§5) one by one, beyond Treeherder's own cases.
func TestSearchTermsRules(t *testing.T) {
	checkTerms(t, []termsCase{
		// Every blacklisted string on its own has no term.
		{"Shutdown", []*string{nil}, nil},
		{"  undefined  ", []*string{nil}, nil},
		{"# TBPL FAILURE #", []*string{nil}, nil},
		{"Traceback (most recent call last):", []*string{nil}, nil},
		// Four characters are not enough, five are.
		{"abcd", []*string{nil}, nil},
		{"abcde", []*string{ptr("abcde")}, nil},
		// A blacklisted test name falls back to the whole line.
		{"TEST-UNEXPECTED-FAIL | automation.py | x", []*string{ptr("automation.py | x")}, ptr("automation.py")},
		// A short test name: the whole line is the term (a three-token line
		// is always long enough).
		{"A | b/c | d", []*string{ptr("A | b/c | d")}, ptr("b/c")},
		{"A | bc | d", []*string{ptr("A | bc | d")}, ptr("bc")},
		// Only two tokens: not the pipe form.
		{"TEST-UNEXPECTED-FAIL | some/test_thing.html", []*string{ptr("some/test_thing.html")}, nil},
		// The prefix comes off the whole-line term, then the 100 cut.
		{"PROCESS-CRASH | " + strings.Repeat("x", 120), []*string{ptr(strings.Repeat("x", 100))}, nil},
		// Removing the prefix may leave nothing: Treeherder reports [""].
		{"TEST-UNEXPECTED-FAIL |  \u00a0", []*string{ptr("")}, nil},
		// Reftest references go; the test's file name is the term.
		{"REFTEST TEST-UNEXPECTED-FAIL | a/b/foo.html != a/b/foo-ref.html | image", []*string{ptr("foo.html")}, ptr("a/b/foo.html")},
		// Marionette paths are cut after .py.
		{"TEST-UNEXPECTED-FAIL | testing/marionette/harness/tests/test_foo.py TestFoo.test_bar | boom", []*string{ptr("test_foo.py")}, ptr("testing/marionette/harness/tests/test_foo.py")},
		// A crash: the message is the term, the test is the path end.
		{"PROCESS-CRASH | application crashed [@ nsFoo::Bar()] | dom/test_crash.html", []*string{ptr("application crashed [@ nsFoo::Bar()]")}, ptr("dom/test_crash.html")},
		{"", []*string{nil}, nil},
	})
}

func TestCounterKeyTreeherderCases(t *testing.T) {
	cases := []struct{ line, want string }{
		{"TEST-UNEXPECT-FAIL | test_drag_1digit.html | offset 21.45 pixel is over limit.", "TEST-UNEXPECT-FAIL | test_drag_1digit.html | offset X pixel is over limit."},
		{"TEST-UNEXPECT-FAIL | test_drag_nodigit.html | offset 81px is over limit.", "TEST-UNEXPECT-FAIL | test_drag_nodigit.html | offset 81px is over limit."},
		{"TEST-UNEXPECT-FAIL | test_complete.html | finished in 617ms.", "TEST-UNEXPECT-FAIL | test_complete.html | finished."},
		// The other rules.
		{"x | leaked 3 windows", "x | leaked X window(s)"},
		{"x | 1234 bytes leaked (A, B)", "x | X bytes leaked (A, B)"},
		{"assert value=12 ok", "assert value=* ok"},
		{"got 3, expected 4", "got X, expected Y"},
		{"load http://localhost:8888/x failed", "load http://localhost:X/x failed"},
		{"a 1.5 2.5 b", "a X 2.5 b"}, // matches do not overlap
	}
	for _, c := range cases {
		if got := CounterKey(c.line); got != c.want {
			t.Errorf("CounterKey(%q) = %q, want %q", c.line, got, c.want)
		}
	}
}

func TestRefuseJunk(t *testing.T) {
	for _, c := range []struct {
		line string
		want string
	}{
		{strings.Repeat("TEST-UNEXPECTED-FAIL | x | ", 400), "bytes long"},
		{"abc\xff\xfe\x00def", "not valid UTF-8"},
		{"abc\x00defghi", "NUL"},
		{"\x01\x02\x03\x04ab", "control"},
	} {
		got := LineTerms(sdkLine(c.line))
		if !strings.Contains(got.NoTermReason, c.want) || len(got.SearchTerms) != 1 || got.SearchTerms[0] != nil {
			t.Errorf("LineTerms(%q) = reason %q terms %s, want a %q refusal", c.line[:min(len(c.line), 20)], got.NoTermReason, js(got.SearchTerms), c.want)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Errorf("refusal does not encode: %v", err)
		}
	}
	if got := LineTerms(sdkLine("TEST-UNEXPECTED-FAIL | a/test_ok.html | tab\tin message")); got.NoTermReason != "" {
		t.Errorf("a normal line was refused: %q", got.NoTermReason)
	}
}

func sdkLine(l string) sdk.BugLine { return sdk.BugLine{LineNumber: 1, Line: l} }
