// Package match holds the bug matcher's text rules, Treeherder's
// treeherder/model/error_summary.py in Go: how an error line is cleaned, which
// search terms it yields, which cached bugs a term really matches, and how
// lines are normalised for the new-failure counter. It touches no database:
// the host looks the terms up and hands candidates back.
package match

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AlgorithmVersion changes whenever these rules would give a different result
// for the same input, so suggestions made by older rules can be recomputed.
const AlgorithmVersion = "treeherder-2026.08-1"

// MaxLineBytes refuses lines longer than any error line a log parser stores
// (Treeherder cuts them to 500 characters, which astral characters written
// as <U+XXXXXX> can stretch to 5,000 bytes).
const MaxLineBytes = 8 << 10

// Python's \d and \s are Unicode-aware; Go's are ASCII. The patterns below
// spell them out so a line with, say, an Arabic-Indic digit or a no-break
// space cleans as in Treeherder.
var pyRe = strings.NewReplacer(`\d`, `\p{Nd}`, `\s`, `[`+pySpaceClass+`]`, `\S`, `[^`+pySpaceClass+`]`)

func compile(pattern string) *regexp.Regexp { return regexp.MustCompile(pyRe.Replace(pattern)) }

var (
	// Python's `$` also matches before a final newline: `\n?\z`.
	leakRE       = compile(`\d+ bytes leaked \((.+)\)\n?\z|leak at (.+)\n?\z`)
	crashRE      = compile(`^.+ application crashed \[@ (.+)\] \|.+`)
	mozharnessRE = compile(`^\d+:\d+:\d+[ ]+(?:DEBUG|INFO|WARNING|ERROR|CRITICAL|FATAL) - [ ]?`)
	marionetteRE = compile(`.+marionette([_harness/]?).*/test_.+.py ([A-Za-z]+).+`)
	processID1RE = compile(`(?:PID \d+|GECKO\(\d+\)) \| +`)
	processID2RE = compile(`^\[\d+\] +`)
	cppLineRE    = compile(`.cpp:[0-9]+`)
	childRE      = compile(`\[Child [0-9]+, [a-zA-Z]+ Thread`)
	parentRE     = compile(`\[Parent [0-9]+, [a-zA-Z]+ Thread`)
	reftestRE    = compile(`\s+[=!]=\s+.*`)
	prefixRE     = compile(`^(TEST-UNEXPECTED-\S+|PROCESS-CRASH)\s+\|\s+`)

	counterRules = []struct {
		re   *regexp.Regexp
		with string
	}{
		{compile(` [0-9]+\.[0-9]+ `), " X "},
		{compile(` leaked [0-9]+ window(s)`), " leaked X window(s)"},
		{compile(` [0-9]+ bytes leaked`), " X bytes leaked"},
		{compile(` value=[0-9]+`), " value=*"},
		{compile(`ot [0-9]+, expected [0-9]+`), "ot X, expected Y"},
		{compile(` http://localhost:[0-9]+/`), " http://localhost:X/"},
		{compile(` finished in \d+ms`), " finished"},
	}
)

// blacklist holds terms that would match too many bug summaries to help.
var blacklist = map[string]bool{
	"automation.py":                      true,
	"remoteautomation.py":                true,
	"Shutdown":                           true,
	"undefined":                          true,
	"Main app process exited normally":   true,
	"Traceback (most recent call last):": true,
	"Return code: 0":                     true,
	"Return code: 1":                     true,
	"Return code: 2":                     true,
	"Return code: 10":                    true,
	"mozalloc_abort(char const*)":        true,
	"mozalloc_abort":                     true,
	"CrashingThread(void *)":             true,
	"gtest":                              true,
	"Last test finished":                 true,
	"leakcheck":                          true,
	"LeakSanitizer":                      true,
	"# TBPL FAILURE #":                   true,
}

// CleanLine strips what varies between runs of the same failure: the
// mozharness timestamp prefix, process ids, C++ line numbers and thread
// names (get_cleaned_line). The result is the suggestion's `search` field.
func CleanLine(line string) string {
	s := pyStrip(mozharnessRE.ReplaceAllLiteralString(line, ""))
	s = processID1RE.ReplaceAllLiteralString(s, "")
	s = cppLineRE.ReplaceAllLiteralString(s, ".cpp:X")
	s = childRE.ReplaceAllLiteralString(s, "[Child X, Y Thread")
	s = parentRE.ReplaceAllLiteralString(s, "[Parent X, Y Thread")
	return processID2RE.ReplaceAllLiteralString(s, "")
}

// CounterKey normalises a cleaned line for the 21-day sighting counter
// (cache_clean_error_line): decimals, leak and window counts, values, ports
// and durations become placeholders.
func CounterKey(clean string) string {
	for _, r := range counterRules {
		clean = r.re.ReplaceAllLiteralString(clean, r.with)
	}
	return clean
}

// IsHelpful says whether a term is worth searching: longer than four
// characters once stripped and not one of the generic blacklisted strings.
func IsHelpful(term string) bool {
	t := pyStrip(term)
	return pyLen(t) > 4 && !blacklist[t]
}

// Terms is a line's search terms and test path (get_error_search_term_and_path).
type Terms struct {
	// SearchTerms is [t], [t, t before "?"] or [nil] without a term.
	SearchTerms []*string
	PathEnd     *string
}

// SearchTerms derives the search terms of a cleaned line. A line in the
// "TYPE | test | message" form searches for the test's file name (or a
// leak's object list, or a crash's message); other lines search for
// themselves when that is specific enough. Terms are cut to 100 characters.
func SearchTerms(line string) Terms {
	if line == "" {
		// Treeherder returns None here and the caller then fails on it; an
		// empty line simply has no term.
		return Terms{SearchTerms: []*string{nil}}
	}
	tokens := strings.Split(line, " | ")
	var term, pathEnd *string
	if len(tokens) >= 3 {
		isCrash := strings.Contains(tokens[0], "PROCESS-CRASH")
		test, message := tokens[1], tokens[2]
		if isCrash {
			test, message = tokens[2], tokens[1]
		}
		if m := leakRE.FindStringSubmatchIndex(message); m != nil {
			var t string
			if m[2] >= 0 {
				t = message[m[2]:m[3]]
			} else {
				t = message[m[4]:m[5]]
			}
			term = &t
		} else {
			test = strings.ReplaceAll(reftestRE.ReplaceAllLiteralString(test, ""), `\`, "/")
			if marionetteRE.MatchString(test) {
				test = strings.SplitN(test, ".py ", 2)[0] + ".py"
			}
			p := test
			pathEnd = &p
			t := test[strings.LastIndex(test, "/")+1:]
			if isCrash {
				t = message
			}
			term = &t
		}
	}
	if term == nil || *term == "" || !IsHelpful(*term) {
		if IsHelpful(line) {
			l := line
			term = &l
		} else {
			term = nil
			if pathEnd != nil && !strings.Contains(*pathEnd, "/") {
				pathEnd = nil
			}
		}
	}
	if term == nil || *term == "" {
		return Terms{SearchTerms: []*string{nil}, PathEnd: pathEnd}
	}
	// Cutting the prefix can leave "": Treeherder then reports [""].
	t := pyCut(prefixRE.ReplaceAllLiteralString(*term, ""), 100)
	if i := strings.IndexByte(t, '?'); i >= 0 {
		name := t[:i]
		return Terms{SearchTerms: []*string{&t, &name}, PathEnd: pathEnd}
	}
	return Terms{SearchTerms: []*string{&t}, PathEnd: pathEnd}
}

// CrashSignature returns the helpful signature of an "application crashed
// [@ signature] | ..." line, or nil.
func CrashSignature(line string) *string {
	m := crashRE.FindStringSubmatch(line)
	if m == nil || !IsHelpful(m[1]) {
		return nil
	}
	return &m[1]
}

// Refuse says why a raw line is not worth matching at all, or "" when it
// is: lines longer than MaxLineBytes (no parser stores those) and binary
// junk (invalid UTF-8, NUL bytes, or mostly control characters).
func Refuse(line string) string {
	if len(line) > MaxLineBytes {
		return fmt.Sprintf("no search term: the line is %d bytes long, more than the %d an error line can be", len(line), MaxLineBytes)
	}
	if !utf8.ValidString(line) {
		return "no search term: the line is not valid UTF-8 (binary data)"
	}
	if strings.IndexByte(line, 0) >= 0 {
		return "no search term: the line holds NUL bytes (binary data)"
	}
	junk, total := 0, 0
	for _, r := range line {
		total++
		if r == utf8.RuneError || (unicode.IsControl(r) && !pyIsSpace(r)) {
			junk++
		}
	}
	if junk*4 > total {
		return fmt.Sprintf("no search term: %d of the line's %d characters are control or replacement characters (binary data)", junk, total)
	}
	return ""
}
