package perf

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"unicode/utf16"
)

// SignatureProps are the properties a performance signature's hash covers
// (treeherder/etl/perf.py): the suite, the test (subtests only), the job's
// option collection hash and machine platform, the suite's extra options
// and the summary signature's hash (subtests of a suite with a value).
type SignatureProps struct {
	Suite                string
	Test                 *string // nil for a suite's summary series
	OptionCollectionHash string
	MachinePlatform      string
	TestOptions          []string // extraOptions; left out of the hash when empty
	ParentSignature      string   // left out when ""
}

// Hash is Treeherder's _get_signature_hash: the property names and values
// (non-string values as json.dumps(v, sort_keys=True)), all sorted together,
// concatenated, SHA-1, hex.
func (p SignatureProps) Hash() string {
	parts := []string{"suite", p.Suite, "option_collection_hash", p.OptionCollectionHash, "machine_platform", p.MachinePlatform}
	if p.Test != nil {
		parts = append(parts, "test", *p.Test)
	}
	if len(p.TestOptions) > 0 {
		opts := append([]string(nil), p.TestOptions...)
		sort.Strings(opts)
		parts = append(parts, "test_options", pyJSONList(opts))
	}
	if p.ParentSignature != "" {
		parts = append(parts, "parent_signature", p.ParentSignature)
	}
	// Go orders strings by bytes, which for UTF-8 is code point order, as
	// Python's sorted() on str.
	sort.Strings(parts)
	h := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(h[:])
}

// pyJSONList is simplejson.dumps(list_of_str): ", " between items, every
// character outside printable ASCII escaped (astral ones as surrogate
// pairs), lower-case hex.
func pyJSONList(items []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('"')
		for _, r := range s {
			switch {
			case r == '"':
				b.WriteString(`\"`)
			case r == '\\':
				b.WriteString(`\\`)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == '\t':
				b.WriteString(`\t`)
			case r == '\b':
				b.WriteString(`\b`)
			case r == '\f':
				b.WriteString(`\f`)
			case r >= 0x20 && r <= 0x7e:
				b.WriteRune(r)
			case r > 0xffff:
				hi, lo := utf16.EncodeRune(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, hi, lo)
			default:
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		}
		b.WriteByte('"')
	}
	b.WriteByte(']')
	return b.String()
}
