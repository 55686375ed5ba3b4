package match

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Treeherder's rules are Python: these helpers give Go's strings Python's
// meaning where the two differ, so edge cases come out the same.

// pySpaceClass is Python's `\s` for str patterns (str.isspace): Go's
// unicode.IsSpace plus the four ASCII separators U+001C..U+001F.
const pySpaceClass = `\t\n\v\f\r\x{1c}-\x{1f} \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`

func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pyStrip is str.strip().
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// pyStripChars is str.strip(chars): it removes any of the characters at both
// ends (Treeherder strips "-cf" this way, so "x-ref" loses its "f" too).
func pyStripChars(s, chars string) string {
	return strings.Trim(s, chars)
}

// pyLen is len() of a str: code points, not bytes.
func pyLen(s string) int { return utf8.RuneCountInString(s) }

// pyCut is s[:n] on a str.
func pyCut(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// pyLower is str.lower(): Go's simple case mapping plus the one special
// casing rule that changes length (U+0130 becomes "i" and a combining dot).
func pyLower(s string) string {
	if !strings.ContainsRune(s, 'İ') {
		return strings.ToLower(s)
	}
	return strings.ToLower(strings.ReplaceAll(s, "İ", "i̇"))
}
