package parse

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/herder-ci/herder/sdk"
)

// LogView is Treeherder's text_log_summary artifact, the shape of its
// `*.logview.json` fixtures: {"logurl": ..., "errors": [{"linenumber": N,
// "line": "..."}]}. Lines hold characters outside the BMP as they are; the
// "<U+XXXXXX>" form is only applied when text log errors are stored (see
// StoredLine), and the fixtures agree (none of them has such a character,
// and the artifact is built before storage).
type LogView struct {
	LogURL string          `json:"logurl"`
	Errors []sdk.ErrorLine `json:"errors"`
}

// MarshalJSON writes no errors as [] (as Treeherder does), not null.
func (v LogView) MarshalJSON() ([]byte, error) {
	type plain LogView
	if v.Errors == nil {
		v.Errors = []sdk.ErrorLine{}
	}
	return json.Marshal(plain(v))
}

// PythonJSON returns the bytes Treeherder's fixture files hold for v:
// Python's json.dumps(artifact, indent=2) followed by a newline (non-ASCII
// escaped as \uXXXX, astral characters as surrogate pairs), so that output
// can be compared with a fixture byte for byte.
func (v LogView) PythonJSON() []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"logurl\": ")
	pyQuote(&b, v.LogURL)
	b.WriteString(",\n  \"errors\": ")
	if len(v.Errors) == 0 {
		b.WriteString("[]")
	} else {
		b.WriteString("[\n")
		for i, e := range v.Errors {
			b.WriteString("    {\n      \"linenumber\": ")
			b.WriteString(strconv.Itoa(e.LineNumber))
			b.WriteString(",\n      \"line\": ")
			pyQuote(&b, e.Line)
			b.WriteString("\n    }")
			if i < len(v.Errors)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString("  ]")
	}
	b.WriteString("\n}\n")
	return b.Bytes()
}

// pyQuote is json.dumps's ensure_ascii string encoding.
func pyQuote(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	u4 := func(r rune) {
		b.WriteString(`\u`)
		b.WriteByte(hex[r>>12&0xF])
		b.WriteByte(hex[r>>8&0xF])
		b.WriteByte(hex[r>>4&0xF])
		b.WriteByte(hex[r&0xF])
	}
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r >= ' ' && r <= '~':
				b.WriteByte(byte(r))
			case r > 0xFFFF:
				r1, r2 := utf16.EncodeRune(r)
				u4(r1)
				u4(r2)
			default:
				if r == utf8.RuneError {
					r = 0xFFFD
				}
				u4(r)
			}
		}
	}
	b.WriteByte('"')
}
