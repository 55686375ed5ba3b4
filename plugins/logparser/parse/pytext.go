package parse

import (
	"strings"
	"unicode/utf8"
)

// This file holds the small pieces of Python text semantics that Treeherder's
// output depends on: how bytes.decode("utf-8", "replace") turns invalid input
// into U+FFFD, which characters str.isspace() (and so rstrip() and the
// regular-expression class \s) treats as whitespace.

// pyDecode decodes b the way Python's b.decode("utf-8", "replace") does and
// stops after maxRunes characters when maxRunes >= 0. It reports whether it
// stopped early.
//
// Python replaces each maximal invalid subsequence (the Unicode "best
// practice" for U+FFFD substitution) with one U+FFFD, where Go's
// utf8.DecodeRune gives one per byte: "\xe2\x82A" is "\ufffdA" in Python and
// "\ufffd\ufffdA" in Go. The number of characters decides where the 500
// character cut falls, so the difference matters.
func pyDecode(b []byte, maxRunes int) (string, bool) {
	// Fast path: valid UTF-8 needs no rewriting, only the cut.
	if utf8.Valid(b) {
		if maxRunes < 0 || len(b) <= maxRunes {
			return string(b), false
		}
		n := 0
		for i := range string(b) {
			if n == maxRunes {
				return string(b[:i]), true
			}
			n++
		}
		return string(b), false
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	n := 0
	for i := 0; i < len(b); {
		if maxRunes >= 0 && n == maxRunes {
			return sb.String(), true
		}
		c := b[i]
		if c < utf8.RuneSelf {
			sb.WriteByte(c)
			i++
			n++
			continue
		}
		size, valid := pyRuneLen(b[i:])
		if valid {
			sb.Write(b[i : i+size])
		} else {
			sb.WriteRune(utf8.RuneError)
		}
		i += size
		n++
	}
	return sb.String(), false
}

// pyRuneLen looks at the sequence starting with a non-ASCII byte and returns
// either the length of a valid encoded character or the length of the
// maximal invalid subpart that Python replaces with one U+FFFD.
func pyRuneLen(b []byte) (int, bool) {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF) // allowed range of the second byte
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default: // continuation byte, C0, C1, F5..FF: invalid start byte on its own
		return 1, false
	}
	for k := 1; k <= need; k++ {
		if k >= len(b) {
			return k, false
		}
		x := b[k]
		if k == 1 {
			if x < lo || x > hi {
				return 1, false
			}
		} else if x < 0x80 || x > 0xBF {
			return k, false
		}
	}
	return need + 1, true
}

// pyIsSpace reports whether Python's str.isspace() is true for r; the same
// set is what \s matches in a str pattern and what str.strip() removes.
func pyIsSpace(r rune) bool {
	switch {
	case r <= 0x20:
		return r == ' ' || (r >= '\t' && r <= '\r') || (r >= 0x1C && r <= 0x1F)
	case r < 0x85:
		return false
	case r == 0x85, r == 0xA0, r == 0x1680, r == 0x2028, r == 0x2029, r == 0x202F, r == 0x205F, r == 0x3000:
		return true
	case r >= 0x2000 && r <= 0x200A:
		return true
	}
	return false
}

// pySpaceClass is pyIsSpace as a regexp character class.
const pySpaceClass = `[\t\n\x0B\f\r\x1C-\x1F \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]`

// pyRstrip is Python's str.rstrip() without arguments.
func pyRstrip(s string) string {
	for len(s) > 0 {
		c := s[len(s)-1]
		if c < utf8.RuneSelf {
			if !pyIsSpace(rune(c)) {
				return s
			}
			s = s[:len(s)-1]
			continue
		}
		r, size := utf8.DecodeLastRuneInString(s)
		if !pyIsSpace(r) {
			return s
		}
		s = s[:len(s)-size]
	}
	return s
}
