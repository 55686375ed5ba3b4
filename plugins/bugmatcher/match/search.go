package match

import (
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/herder-ci/herder/sdk"
)

// MaxBugs is how many bugs one term suggests at most (Bugscache.search).
const MaxBugs = 50

// Found is what one term finds, split the way the UI shows it.
type Found struct {
	OpenRecent []sdk.BugCandidate
	AllOthers  []sdk.BugCandidate
}

// Matches reports whether a bug summary really matches a term: the
// summary, lowercased, starts with the lowercased term or has it right after
// a slash, a space, a backslash or a comma. Substring hits inside a longer
// word ("different-start-slash-folder.html" for "slash-folder.html") are not
// suggestions.
func Matches(summary, term string) bool {
	return matchesLower(pyLower(summary), pyLower(term))
}

func matchesLower(s, t string) bool {
	return strings.HasPrefix(s, t) || strings.Contains(s, "/"+t) || strings.Contains(s, " "+t) ||
		strings.Contains(s, `\`+t) || strings.Contains(s, ","+t)
}

// Search keeps the candidates that match term, best first (trigram
// similarity of summary and term, as PostgreSQL's pg_trgm ranks them, then
// id), at most MaxBugs, and splits them into open bugs (empty resolution)
// and the rest.
func Search(term string, candidates []sdk.BugCandidate) Found {
	t := pyLower(term)
	tg := trigrams(t)
	type ranked struct {
		c   sdk.BugCandidate
		sim float64
	}
	var keep []ranked
	for _, c := range candidates {
		s := pyLower(c.Summary)
		if matchesLower(s, t) {
			keep = append(keep, ranked{c, similarity(tg, trigrams(s))})
		}
	}
	slices.SortStableFunc(keep, func(a, b ranked) int {
		switch {
		case a.sim > b.sim:
			return -1
		case a.sim < b.sim:
			return 1
		}
		return cmpInt(a.c.ID, b.c.ID)
	})
	if len(keep) > MaxBugs {
		keep = keep[:MaxBugs]
	}
	var f Found
	for _, k := range keep {
		if k.c.Resolution == "" {
			f.OpenRecent = append(f.OpenRecent, k.c)
		} else {
			f.AllOthers = append(f.AllOthers, k.c)
		}
	}
	return f
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// trigrams is pg_trgm's set for a lowercased string: each run of letters
// and digits padded with two spaces before and one after, cut into every
// three-character window.
func trigrams(s string) map[string]struct{} {
	out := map[string]struct{}{}
	word := make([]rune, 0, 64)
	flush := func() {
		if len(word) == 0 {
			return
		}
		p := append([]rune{' ', ' '}, word...)
		p = append(p, ' ')
		for i := 0; i+3 <= len(p); i++ {
			out[string(p[i:i+3])] = struct{}{}
		}
		word = word[:0]
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			word = append(word, r)
		} else {
			flush()
		}
	}
	flush()
	return out
}

func similarity(a, b map[string]struct{}) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	common := 0
	for g := range a {
		if _, ok := b[g]; ok {
			common++
		}
	}
	return float64(common) / float64(len(a)+len(b)-common)
}

// MatchLine turns a line's terms and the candidates of each term into the
// line's suggestions (bug_suggestions_line): the bugs of every term, each
// bucket without repeats, and when nothing matched, the bugs of the crash
// signature instead.
func MatchLine(lt sdk.BugLineTerms, candidates map[string][]sdk.BugCandidate) sdk.BugLineMatch {
	out := sdk.BugLineMatch{LineNumber: lt.LineNumber, SearchTerms: slices.Clone(lt.SearchTerms)}
	if out.SearchTerms == nil {
		out.SearchTerms = []*string{}
	}
	seenOpen, seenOther := map[string]bool{}, map[string]bool{}
	for _, term := range lt.SearchTerms {
		if term == nil || pyStrip(*term) == "" {
			continue
		}
		f := Search(*term, candidates[*term])
		for _, c := range f.OpenRecent {
			if k := bugKey(c); !seenOpen[k] {
				seenOpen[k] = true
				out.OpenRecent = append(out.OpenRecent, c.ID)
			}
		}
		for _, c := range f.AllOthers {
			if k := bugKey(c); !seenOther[k] {
				seenOther[k] = true
				out.AllOthers = append(out.AllOthers, c.ID)
			}
		}
	}
	if len(out.OpenRecent) == 0 && len(out.AllOthers) == 0 && lt.CrashSignature != nil {
		sig := *lt.CrashSignature
		out.SearchTerms = append(out.SearchTerms, &sig)
		f := Search(sig, candidates[sig])
		for _, c := range f.OpenRecent {
			out.OpenRecent = append(out.OpenRecent, c.ID)
		}
		for _, c := range f.AllOthers {
			out.AllOthers = append(out.AllOthers, c.ID)
		}
	}
	if out.OpenRecent == nil {
		out.OpenRecent = []int64{}
	}
	if out.AllOthers == nil {
		out.AllOthers = []int64{}
	}
	return out
}

// bugKey identifies a bug across terms: its Bugzilla id, or for an internal
// issue its cache id.
func bugKey(c sdk.BugCandidate) string {
	if c.BugzillaID != nil {
		return "b" + strconv.FormatInt(*c.BugzillaID, 10)
	}
	return "i" + strconv.FormatInt(c.ID, 10)
}
