package parse

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
)

// The prefilter.
//
// A line can only be an error if some positive rule matches it, and every
// positive rule needs some literal text to be present: an IN_SEARCH_TERMS
// entry is its own literal, and for each regular expression requiredLiterals
// derives, from its parsed syntax tree, a set of strings at least one of
// which any match must contain (for `ERROR [45]\d\d:` that is "ERROR 4" or
// "ERROR 5"). The union of those sets is the prefilter: a line that contains
// none of them cannot be an error, so it skips decoding and every regexp.
//
// That holds for the raw bytes as well as for the decoded, cut, prefix-
// stripped, trimmed text the rules see: each of those steps keeps a substring
// of the line, and decoding with replacement leaves valid UTF-8 (all the
// literals are valid UTF-8 without U+FFFD) exactly as it was.
//
// The scan itself looks up every adjacent byte pair of the line in a 64 KiB
// table that marks one "anchor" pair per literal (its rarest pair); only on
// a marked pair are the literals anchored there compared. The same scan
// reports "PERFHERDER_DATA", which decides whether a line is cut and whether
// it may hold performance data.

const perfMarker = "PERFHERDER_DATA"

// Flags the scan reports.
const (
	flagError = 1 << iota // some literal a positive rule needs is present
	flagPerf              // "PERFHERDER_DATA" is present
)

type anchored struct {
	lit  string
	off  int // offset of the anchor pair inside lit
	flag uint8
}

type matcher struct {
	// table maps a byte pair (first<<8 | second) to 1 + its index in
	// groups, or 0 when no literal is anchored on it.
	table  [1 << 16]uint8
	groups [][]anchored
	// always is set when some rule has no usable literal: then every line
	// is a candidate and the prefilter only saves the perf check.
	always uint8
	lits   []string // the derived error literals, for tests and docs
}

var defaultMatcher = newMatcher()

func newMatcher() *matcher {
	var lits []string
	always := false
	lits = append(lits, inSearchTerms...)
	for _, re := range positiveRules {
		set, ok := requiredLiterals(re)
		if !ok {
			always = true
			continue
		}
		lits = append(lits, set...)
	}
	lits = minimalLiterals(lits)
	m := &matcher{lits: lits}
	if always {
		m.always = flagError
	}
	for _, l := range lits {
		if len(l) < 2 {
			m.always = flagError
			continue
		}
		m.add(l, flagError)
	}
	m.add(perfMarker, flagPerf)
	return m
}

func (m *matcher) add(lit string, flag uint8) {
	off := anchorOffset(lit)
	key := uint16(lit[off])<<8 | uint16(lit[off+1])
	g := m.table[key]
	if g == 0 {
		if len(m.groups) >= 255 {
			panic("parse: too many prefilter anchor groups")
		}
		m.groups = append(m.groups, nil)
		g = uint8(len(m.groups))
		m.table[key] = g
	}
	m.groups[g-1] = append(m.groups[g-1], anchored{lit: lit, off: off, flag: flag})
}

// scan returns the flags of the literals present in b.
func (m *matcher) scan(b []byte) uint8 {
	flags := m.always
	if len(b) < 2 {
		return flags
	}
	t := &m.table
	prev := uint16(b[0])
	for i := 1; i < len(b); i++ {
		cur := uint16(b[i])
		g := t[prev<<8|cur]
		prev = cur
		if g == 0 {
			continue
		}
		for _, a := range m.groups[g-1] {
			start := i - 1 - a.off
			if start < 0 || start+len(a.lit) > len(b) || flags&a.flag != 0 {
				continue
			}
			if string(b[start:start+len(a.lit)]) == a.lit {
				flags |= a.flag
			}
		}
		if flags == flagError|flagPerf {
			return flags
		}
	}
	return flags
}

// anchorOffset picks the pair of lit least likely to occur in log text, so
// that the table rarely sends the scan to compare strings.
func anchorOffset(lit string) int {
	best, bestCost := 0, 1e18
	for i := 0; i+1 < len(lit); i++ {
		c := byteWeight(lit[i]) * byteWeight(lit[i+1])
		if c < bestCost {
			best, bestCost = i, c
		}
	}
	return best
}

// byteWeight is a rough frequency of a byte in CI logs: lower-case letters,
// digits, spaces and common punctuation are frequent, upper case less, the
// rest rare. Only speed depends on it.
func byteWeight(c byte) float64 {
	switch {
	case c == ' ':
		return 160
	case c == 'e' || c == 't' || c == 'a' || c == 'o' || c == 'i' || c == 'n' || c == 's' || c == 'r':
		return 60
	case c >= 'a' && c <= 'z':
		return 25
	case c >= '0' && c <= '9':
		return 40
	case c == '/' || c == '.' || c == ':' || c == '-' || c == '_' || c == '[' || c == ']':
		return 30
	case c == 'I' || c == 'N' || c == 'F' || c == 'O' || c == 'T' || c == 'Z' || c == 'E' || c == 'S':
		return 12
	case c >= 'A' && c <= 'Z':
		return 6
	default:
		return 3
	}
}

// minimalLiterals sorts and de-duplicates lits and drops any literal that
// contains another one: a line containing the longer one also contains the
// shorter, so the shorter alone keeps the filter exact.
func minimalLiterals(lits []string) []string {
	sort.Slice(lits, func(i, j int) bool {
		if len(lits[i]) != len(lits[j]) {
			return len(lits[i]) < len(lits[j])
		}
		return lits[i] < lits[j]
	})
	lits = slices.Compact(lits)
	var out []string
	for _, l := range lits {
		covered := false
		for _, o := range out {
			if strings.Contains(l, o) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// requiredLiterals derives from re a set of strings such that every match of
// re contains at least one of them. ok is false when no such set can be
// derived (a rule that can match without any fixed text).
func requiredLiterals(re *regexp.Regexp) ([]string, bool) {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		panic(fmt.Sprintf("parse: re-parse %q: %v", re.String(), err))
	}
	info := litsOf(tree.Simplify())
	set := info.required()
	if set == nil {
		return nil, false
	}
	return set, true
}

// maxExact bounds the cross products built for concatenations.
const maxExact = 64

// litInfo describes the strings a syntax node can match: exact is the full
// set of strings it matches when that set is known and small (nil when not),
// match a set of strings every match contains (nil when unknown).
type litInfo struct {
	exact []string
	match []string
}

// required is the best requirement the node gives: its exact set unless that
// set allows the empty string.
func (li litInfo) required() []string {
	if li.exact != nil {
		if slices.Contains(li.exact, "") {
			return nil
		}
		return li.exact
	}
	return li.match
}

func litsOf(re *syntax.Regexp) litInfo {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return litInfo{}
		}
		s := string(re.Rune)
		return litInfo{exact: []string{s}, match: []string{s}}
	case syntax.OpEmptyMatch, syntax.OpBeginText, syntax.OpEndText, syntax.OpBeginLine,
		syntax.OpEndLine, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return litInfo{exact: []string{""}}
	case syntax.OpCharClass:
		var set []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			if int(hi-lo)+len(set) >= 8 {
				return litInfo{}
			}
			for r := lo; r <= hi; r++ {
				set = append(set, string(r))
			}
		}
		return litInfo{exact: set, match: set}
	case syntax.OpCapture:
		return litsOf(re.Sub[0])
	case syntax.OpStar:
		return litInfo{}
	case syntax.OpQuest:
		sub := litsOf(re.Sub[0])
		if sub.exact != nil {
			return litInfo{exact: union(sub.exact, []string{""})}
		}
		return litInfo{}
	case syntax.OpPlus:
		return litInfo{match: litsOf(re.Sub[0]).required()}
	case syntax.OpRepeat:
		if re.Min == 0 {
			return litInfo{}
		}
		return litInfo{match: litsOf(re.Sub[0]).required()}
	case syntax.OpAlternate:
		var exact, match []string
		exactOK, matchOK := true, true
		for _, sub := range re.Sub {
			si := litsOf(sub)
			if si.exact == nil {
				exactOK = false
			} else {
				exact = union(exact, si.exact)
			}
			if r := si.required(); r == nil {
				matchOK = false
			} else {
				match = union(match, r)
			}
		}
		var out litInfo
		if exactOK && len(exact) <= maxExact {
			out.exact = exact
		}
		if matchOK {
			out.match = match
		}
		return out
	case syntax.OpConcat:
		cur := []string{""}
		var candidates [][]string
		allExact := true
		for _, sub := range re.Sub {
			si := litsOf(sub)
			if si.exact != nil && len(cur)*len(si.exact) <= maxExact {
				cur = cross(cur, si.exact)
				continue
			}
			allExact = false
			candidates = append(candidates, cur)
			if si.exact != nil {
				cur = si.exact
			} else {
				if r := si.required(); r != nil {
					candidates = append(candidates, r)
				}
				cur = []string{""}
			}
		}
		if allExact {
			return litInfo{exact: cur, match: cur}
		}
		candidates = append(candidates, cur)
		return litInfo{match: bestSet(candidates)}
	}
	return litInfo{}
}

// bestSet picks the most selective usable requirement: no empty member, and
// the longest shortest member.
func bestSet(sets [][]string) []string {
	var best []string
	bestScore := -1
	for _, s := range sets {
		if len(s) == 0 || slices.Contains(s, "") {
			continue
		}
		minLen := len(s[0])
		for _, x := range s {
			minLen = min(minLen, len(x))
		}
		score := minLen*100 - len(s)
		if score > bestScore {
			best, bestScore = s, score
		}
	}
	return best
}

func cross(a, b []string) []string {
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return slices.Compact(sortedCopy(out))
}

func union(a, b []string) []string {
	out := append(append([]string(nil), a...), b...)
	return slices.Compact(sortedCopy(out))
}

func sortedCopy(s []string) []string {
	sort.Strings(s)
	return s
}
