package parse

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The error-line rules of Treeherder's ErrorParser
// (treeherder/log_parser/parsers.py, as described in
// shared/reference/treeherder-ingestion.md §4), translated to Go regexp
// syntax with Python's Unicode-aware classes spelled out: in a Python str
// pattern \d is any Unicode decimal digit, \w any letter or number or '_',
// \s the str.isspace() set and \b a boundary between such \w characters,
// where Go's are ASCII-only.
const pyDigit = `\p{Nd}`

// py rewrites the Python class shorthands used in the rule patterns.
func py(pattern string) string {
	r := strings.NewReplacer(`\d`, pyDigit, `\w`, `\p{L}\p{N}_`, `\s`, pySpaceClass)
	return r.Replace(pattern)
}

// inSearchTerms: a line is an error if the trimmed line contains any of them
// (IN_SEARCH_TERMS).
var inSearchTerms = []string{
	"TEST-UNEXPECTED-",
	"fatal error",
	"FATAL ERROR",
	"Hit MOZ_CRASH",
	"REFTEST ERROR",
	"PROCESS-CRASH",
	"Assertion fail",
	"###!!! ABORT:",
	"SUMMARY: AddressSanitizer",
	"SUMMARY: ThreadSanitizer",
	"SUMMARY: UndefinedBehaviorSanitizer",
	"ThreadSanitizer: nested bug",
	"Automation Error:",
	"command timed out:",
	"wget: unable ",
	"bash.exe: *** ",
	"Unsuccessful task run with exit code: 137",
	"YOU ARE LEAKING THE WORLD",
}

// The positive regular expressions, one alternative each, in Python syntax
// (compare them with Treeherder's by eye); py() translates them. Treeherder
// compiles each group as one alternation; matching the alternatives one by
// one is the same test and lets each be guarded by its own literals.
var (
	// RE_ERR_MATCH, matched at the start of the trimmed line. Treeherder
	// revisions after the reference snapshot add `^error: ` here (Rust/Cargo
	// errors); see docs/logparser-notes.md.
	srcErrMatch = []string{
		`^g?make(?:\[\d+\])?: \*\*\*`,
		`^[A-Za-z.]+Error: `,
		`^[A-Za-z.]*Exception: `,
		`^\[  FAILED  \] `,
		`^remoteFailed:`,
		`^rm: cannot `,
		`^abort:`,
		`^\[taskcluster\] Error:`,
		`^\[[\w._-]+:(?:error|exception)\]`,
	}
	// RE_ERR_SEARCH, searched anywhere in the trimmed line.
	srcErrSearch = []string{
		` error\(\d*\):`,
		`:\d+: error:`,
		` error R?C\d*:`,
		`ERROR [45]\d\d:`,
		`mozmake\.(?:exe|EXE)(?:\[\d+\])?: \*\*\*`,
	}
	// RE_EXCLUDE_2_SEARCH, searched in the trimmed line. `\b` after WARNING
	// is Python's Unicode word boundary, spelled out because Go's \b is
	// ASCII-only. The fast path (isErrorLine) checks these by hand.
	srcExclude2 = []string{
		`I[ /](Gecko|TestRunner).*TEST-UNEXPECTED-`,
		`Assertion failure$`,
		`^TEST-UNEXPECTED-WARNING(?:$|[^\w])`,
		`^TimeoutException: `,
		`^ImportError: No module named pygtk$`,
		`non-fatal error`,
	}
)

const (
	// RE_ERR_1_MATCH, matched at the start of the (untrimmed) line.
	srcErr1 = `^\d+:\d+:\d+ +(?:ERROR|CRITICAL|FATAL) - `
	// RE_EXCLUDE_1_SEARCH, searched in the (untrimmed) line.
	srcExclude1 = `TEST-(?:INFO|PASS) ` +
		`|A content process crashed and MOZ_CRASHREPORTER_SHUTDOWN is set, shutting down`
	// RE_MOZHARNESS_PREFIX, removed before the remaining checks.
	srcMozharnessPrefix = `^\d+:\d+:\d+ +(?:DEBUG|INFO|WARNING) - +`
	// RE_TASKCLUSTER_NORMAL_PREFIX without its `(?!taskcluster:)` lookahead,
	// which Go's regexp lacks; stripTaskclusterPrefix checks it by hand.
	srcTaskclusterPrefix = `^\[[^\]]*20\d{2}-[^\]]+\]\s`
)

// RE_EXCLUDE_1_SEARCH as the plain substrings the fast path checks.
const (
	exclude1a = "TEST-INFO "
	exclude1b = "TEST-PASS "
	exclude1c = "A content process crashed and MOZ_CRASHREPORTER_SHUTDOWN is set, shutting down"
)

// guardedRule is one positive alternative with the literals (derived from
// its syntax, see requiredLiterals) any match must contain: checking them
// first spares the regexp engine nearly every line.
type guardedRule struct {
	re    *regexp.Regexp
	guard []string
}

func (g guardedRule) match(s string) bool {
	if g.guard != nil {
		found := false
		for _, l := range g.guard {
			if strings.Contains(s, l) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return g.re.MatchString(s)
}

func guarded(srcs []string) []guardedRule {
	out := make([]guardedRule, len(srcs))
	for i, src := range srcs {
		re := regexp.MustCompile(py(src))
		set, _ := requiredLiterals(re)
		out[i] = guardedRule{re: re, guard: set}
	}
	return out
}

func alternation(srcs []string) *regexp.Regexp {
	return regexp.MustCompile(py(strings.Join(srcs, "|")))
}

var (
	reErr1              = regexp.MustCompile(py(srcErr1))
	reMozharnessPrefix  = regexp.MustCompile(py(srcMozharnessPrefix))
	reTaskclusterPrefix = regexp.MustCompile(py(srcTaskclusterPrefix))
	errMatchRules       = guarded(srcErrMatch)
	errSearchRules      = guarded(srcErrSearch)
	reExclude2UnexpGT   = regexp.MustCompile(py(srcExclude2[0]))

	// The rule groups as single alternations, like Treeherder's: the
	// reference the fast path and the prefilter are tested against, and
	// what the prefilter is derived from.
	refErrMatch  = alternation(srcErrMatch)
	refErrSearch = alternation(srcErrSearch)
	refExclude1  = regexp.MustCompile(py(srcExclude1))
	refExclude2  = alternation(srcExclude2)
)

// positiveRules are the regular expressions that can make a line an error;
// together with inSearchTerms they are what the prefilter is derived from.
var positiveRules = []*regexp.Regexp{reErr1, refErrMatch, refErrSearch}

// stripTaskclusterPrefix removes a leading "[name 2016-...] " prefix the way
// re.sub(RE_TASKCLUSTER_NORMAL_PREFIX, "", line) does.
func stripTaskclusterPrefix(line string) string {
	if len(line) == 0 || line[0] != '[' || strings.HasPrefix(line, "[taskcluster:") {
		return line
	}
	if loc := reTaskclusterPrefix.FindStringIndex(line); loc != nil {
		return line[loc[1]:]
	}
	return line
}

// trimMozharness removes the mozharness prefix and trailing whitespace.
func trimMozharness(line string) string {
	if len(line) > 0 && line[0] >= '0' && line[0] <= '9' || len(line) > 0 && line[0] >= 0x80 {
		if loc := reMozharnessPrefix.FindStringIndex(line); loc != nil {
			line = line[loc[1]:]
		}
	}
	return pyRstrip(line)
}

// isErrorLine is ErrorParser.is_error_line: line has already had the
// Taskcluster prefix stripped (when the log is a Taskcluster log) and been
// cut to the maximum length. isErrorLineRef is the same test written as
// Treeherder writes it; FuzzClassifyLine holds the two equal.
func isErrorLine(line string) bool {
	if strings.Contains(line, exclude1a) || strings.Contains(line, exclude1b) || strings.Contains(line, exclude1c) {
		return false
	}
	if reErr1.MatchString(line) {
		return true
	}
	trim := trimMozharness(line)
	if excluded2(trim) {
		return false
	}
	for _, t := range inSearchTerms {
		if strings.Contains(trim, t) {
			return true
		}
	}
	for _, r := range errMatchRules {
		if r.match(trim) {
			return true
		}
	}
	for _, r := range errSearchRules {
		if r.match(trim) {
			return true
		}
	}
	return false
}

// excluded2 is RE_EXCLUDE_2_SEARCH written out by hand.
func excluded2(trim string) bool {
	if strings.Contains(trim, "TEST-UNEXPECTED-") && reExclude2UnexpGT.MatchString(trim) {
		return true
	}
	// `$` may also match before a final "\n", but trim has been rstripped.
	if strings.HasSuffix(trim, "Assertion failure") {
		return true
	}
	if rest, ok := strings.CutPrefix(trim, "TEST-UNEXPECTED-WARNING"); ok {
		if rest == "" {
			return true
		}
		if r, _ := utf8.DecodeRuneInString(rest); !isPyWord(r) {
			return true
		}
	}
	return strings.HasPrefix(trim, "TimeoutException: ") ||
		trim == "ImportError: No module named pygtk" ||
		strings.Contains(trim, "non-fatal error")
}

func isErrorLineRef(line string) bool {
	if refExclude1.MatchString(line) {
		return false
	}
	if reErr1.MatchString(line) {
		return true
	}
	trim := line
	if loc := reMozharnessPrefix.FindStringIndex(trim); loc != nil {
		trim = trim[loc[1]:]
	}
	trim = pyRstrip(trim)
	if refExclude2.MatchString(trim) {
		return false
	}
	for _, t := range inSearchTerms {
		if strings.Contains(trim, t) {
			return true
		}
	}
	return refErrMatch.MatchString(trim) || refErrSearch.MatchString(trim)
}

// classifyLine applies ErrorParser.parse_line's per-line logic to a decoded,
// cut line: it returns the text Treeherder would store and whether the line
// is an error. Duplicate suppression and the error cap are the caller's.
func classifyLine(line string, taskcluster bool) (string, bool) {
	if taskcluster {
		line = stripTaskclusterPrefix(line)
	}
	if !isErrorLine(line) {
		return "", false
	}
	return pyRstrip(line), true
}

func classifyLineRef(line string, taskcluster bool) (string, bool) {
	if taskcluster {
		line = stripTaskclusterPrefix(line)
	}
	if !isErrorLineRef(line) {
		return "", false
	}
	return pyRstrip(line), true
}

// ClassifyLine runs Treeherder's error-line rules on one raw line (without
// its line terminator), exactly as ParseErrors does including the prefilter,
// and returns the stored text and whether the line is an error. taskcluster
// says whether a line starting "[taskcluster " was seen earlier in the log.
// It is meant for tools and tests; ParseErrors does not call it per line.
func ClassifyLine(raw []byte, taskcluster bool) (string, bool) {
	return defaultMatcher.classifyRaw(raw, taskcluster, DefaultMaxLineRunes)
}

// classifyRaw is the per-line path of ParseErrors: prefilter, decode, cut,
// rules.
func (m *matcher) classifyRaw(raw []byte, taskcluster bool, maxRunes int) (string, bool) {
	hit := m.scan(raw)
	if hit&flagError == 0 {
		return "", false
	}
	cut := maxRunes
	if hit&flagPerf != 0 {
		cut = -1
	}
	line, _ := pyDecode(raw, cut)
	return classifyLine(line, taskcluster)
}

// classifyRawNoPrefilter is classifyRaw without the prefilter: the reference
// the prefilter is tested against.
func classifyRawNoPrefilter(raw []byte, taskcluster bool, maxRunes int) (string, bool) {
	line, _ := pyDecode(raw, -1)
	if !strings.Contains(line, perfMarker) {
		line, _ = pyDecode(raw, maxRunes)
	}
	return classifyLineRef(line, taskcluster)
}

// isPyWord reports whether r is a \w character in a Python str pattern.
func isPyWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }
