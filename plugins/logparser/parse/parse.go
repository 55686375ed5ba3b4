package parse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/herder-ci/herder/sdk"
)

// Version identifies the output of this package's rules. Store it with
// parse results and bump it whenever a change alters what ParseErrors or
// ParseErrorSummary return for some input, so that stored results can be
// recomputed (`herder logs reparse`).
//
// Version 2: GitHub Actions logs (every line prefixed with an RFC 3339
// timestamp) have the prefix stripped before the rules run.
const Version = 2

// Defaults, Treeherder's values.
const (
	// DefaultMaxErrors is settings.MAX_ERROR_LINES.
	DefaultMaxErrors = 40
	// DefaultMaxLineRunes is ArtifactBuilderBase.MAX_LINE_LENGTH: lines are
	// cut to this many characters unless they contain PERFHERDER_DATA.
	DefaultMaxLineRunes = 500
	// DefaultMaxLineBytes is how much of one line is kept. It bounds the
	// size of a PERFHERDER_DATA line that can be read whole; longer lines
	// are cut (Treeherder has no such limit).
	DefaultMaxLineBytes = 1 << 20
)

// Options tune ParseErrors. The zero value means Treeherder's behaviour.
type Options struct {
	// MaxErrors is the number of error lines kept; 0 means
	// DefaultMaxErrors, a negative value means no cap.
	MaxErrors int
	// MaxLineRunes is the character cut applied to lines without
	// PERFHERDER_DATA; 0 means DefaultMaxLineRunes.
	MaxLineRunes int
	// MaxLineBytes is how much of a single line is kept in memory; the
	// rest of a longer line is skipped. 0 means DefaultMaxLineBytes. It is
	// raised to 4*MaxLineRunes so that the character cut is always exact.
	MaxLineBytes int
	// MaxBytes caps the uncompressed size of the log; 0 means no cap.
	// Going over it ends the parse with a *TooLargeError.
	MaxBytes int64

	// check selects how lines are classified; tests compare the modes.
	check checkMode
}

func (o Options) withDefaults() Options {
	if o.MaxErrors == 0 {
		o.MaxErrors = DefaultMaxErrors
	}
	if o.MaxLineRunes <= 0 {
		o.MaxLineRunes = DefaultMaxLineRunes
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	o.MaxLineBytes = max(o.MaxLineBytes, 4*o.MaxLineRunes)
	return o
}

type checkMode int

const (
	checkPrefilter checkMode = iota // prefilter, then the rules
	checkEveryLine                  // the rules on every line
	checkReference                  // Treeherder's alternations on every line
)

// Summary is what ParseErrors found.
type Summary struct {
	// Errors are the error lines, as Treeherder's text_log_summary
	// artifact holds them (characters outside the BMP as they are; see
	// StoredLine for the form Treeherder stores).
	Errors []sdk.ErrorLine
	// PerfData are the PERFHERDER_DATA blobs that are valid, non-empty
	// JSON objects, as raw JSON text, in log order. They are not yet
	// checked against the performance artifact schema.
	PerfData []json.RawMessage
	// PerfRejected counts PERFHERDER_DATA blobs dropped as invalid JSON,
	// empty, or cut because their line exceeded MaxLineBytes.
	PerfRejected int
	// Lines is the number of lines read.
	Lines int64
	// Bytes is the number of uncompressed bytes read.
	Bytes int64
	// LongLines counts lines longer than MaxLineBytes (cut in memory).
	LongLines int64
	// Taskcluster is set once a line starting "[taskcluster " was seen.
	Taskcluster bool
	// Actions is set when the first line starts with GitHub Actions'
	// timestamp prefix; every line then has it stripped before the rules,
	// which anchor at the start of a line, run.
	Actions bool
}

// ErrTooLarge is matched (errors.Is) by the error ParseErrors returns when a
// log goes over Options.MaxBytes.
var ErrTooLarge = errors.New("log too large")

// TooLargeError reports a log larger than the configured limit.
type TooLargeError struct {
	Limit int64 // bytes, uncompressed
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("log too large: more than %d bytes uncompressed", e.Limit)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

var perfMarkerBytes = []byte(perfMarker)

// ParseErrors reads an uncompressed log from r and returns its error lines
// and PERFHERDER_DATA blobs by Treeherder's rules: lines split like Python's
// bytes.splitlines (see docs/logparser-notes.md for the one place Treeherder
// differs), numbered from 0, decoded as UTF-8 with replacement, cut to
// MaxLineRunes characters unless they contain PERFHERDER_DATA, then run
// through ErrorParser.
//
// On a read error, a cancelled context or a log over MaxBytes it returns
// what it found in the lines read completely so far together with the error.
func ParseErrors(ctx context.Context, r io.Reader, opts Options) (*Summary, error) {
	opts = opts.withDefaults()
	m := defaultMatcher
	lr := newLineReader(ctx, r, opts.MaxLineBytes, opts.MaxBytes)
	// Safe: every line kept (errors, perf blobs) is copied into a string.
	defer lr.release()
	s := &Summary{}
	var last string
	for {
		raw, long, ok := lr.next()
		if !ok {
			break
		}
		lineno := s.Lines
		s.Lines++
		if lineno == 0 {
			s.Actions = actionsPrefixLen(bytes.TrimPrefix(raw, utf8BOM)) > 0
		}
		if long {
			s.LongLines++
		}
		capped := opts.MaxErrors >= 0 && len(s.Errors) >= opts.MaxErrors
		var hit uint8
		switch {
		case capped:
			// ErrorParser is done; only PerformanceParser still reads.
			if bytes.Contains(raw, perfMarkerBytes) {
				hit = flagPerf
			}
		case opts.check != checkPrefilter:
			hit = flagError
			if bytes.Contains(raw, perfMarkerBytes) {
				hit |= flagPerf
			}
		default:
			hit = m.scan(raw)
		}
		if !capped && !s.Taskcluster && len(raw) >= 13 && raw[0] == '[' && string(raw[:13]) == "[taskcluster " {
			s.Taskcluster = true
		}
		if hit == 0 {
			continue
		}
		perf := hit&flagPerf != 0
		var line string
		if hit&flagError != 0 && !capped {
			cut := opts.MaxLineRunes
			if perf {
				cut = -1
			}
			if s.Actions {
				raw = bytes.TrimPrefix(raw, utf8BOM)
				raw = raw[actionsPrefixLen(raw):]
			}
			line, _ = pyDecode(raw, cut)
			classify := classifyLine
			if opts.check == checkReference {
				classify = classifyLineRef
			}
			if text, isErr := classify(line, s.Taskcluster); isErr && (len(s.Errors) == 0 || last != text) {
				s.Errors = append(s.Errors, sdk.ErrorLine{LineNumber: int(lineno), Line: text})
				last = text
			}
		}
		if perf {
			if long {
				s.PerfRejected++
				continue
			}
			if line == "" {
				line, _ = pyDecode(raw, -1)
			}
			if blob, found := perfBlob(line); found {
				if validPerfJSON(blob) {
					s.PerfData = append(s.PerfData, json.RawMessage(blob))
				} else {
					s.PerfRejected++
				}
			}
		}
	}
	s.Bytes = lr.total
	if lr.err != nil {
		return s, lr.err
	}
	return s, nil
}

// perfBlob applies PerformanceParser's `.*?PERFHERDER_DATA:\s+({.*})` with
// re.match semantics and returns the captured group.
func perfBlob(line string) (string, bool) {
	const marker = perfMarker + ":"
	for off := 0; ; {
		i := strings.Index(line[off:], marker)
		if i < 0 {
			return "", false
		}
		p := off + i + len(marker)
		q := p
		for q < len(line) {
			r, size := utf8.DecodeRuneInString(line[q:])
			if !pyIsSpace(r) {
				break
			}
			q += size
		}
		if q > p && q < len(line) && line[q] == '{' {
			// {.*} is greedy: it runs to the last '}' of the line. If
			// there is none after this '{' there is none after any
			// later one either.
			last := strings.LastIndexByte(line, '}')
			if last < q {
				return "", false
			}
			return line[q : last+1], true
		}
		off = off + i + 1
	}
}

// validPerfJSON is json.loads succeeding on a non-empty object (the empty
// one raises EmptyPerformanceDataError in Treeherder).
func validPerfJSON(blob string) bool {
	if !json.Valid([]byte(blob)) {
		return false
	}
	inner := strings.Trim(blob[1:len(blob)-1], " \t\r\n")
	return inner != ""
}

// StoredLine returns s with every character outside the Basic Multilingual
// Plane written as "<U+XXXXXX>" (6 upper-case hex digits), which is how
// Treeherder stores text log errors (treeherder/etl/text.py astral_filter).
func StoredLine(s string) string {
	// Only 4-byte sequences (lead byte 0xF0..0xF4) encode such characters.
	i := strings.IndexFunc(s, func(r rune) bool { return r > 0xFFFF })
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for j := i; j < len(s); {
		r, size := utf8.DecodeRuneInString(s[j:])
		if r > 0xFFFF {
			fmt.Fprintf(&b, "<U+%06X>", r)
		} else {
			b.WriteString(s[j : j+size])
		}
		j += size
	}
	return b.String()
}

var utf8BOM = []byte("\xef\xbb\xbf")

// actionsPrefixLen is the length of a leading GitHub Actions timestamp
// ("2026-11-27T04:05:06.1234567Z "), or 0 when the line has none.
func actionsPrefixLen(b []byte) int {
	const shape = "dddd-dd-ddTdd:dd:dd"
	if len(b) < len(shape)+2 {
		return 0
	}
	for i := 0; i < len(shape); i++ {
		c := b[i]
		if shape[i] == 'd' {
			if c < '0' || c > '9' {
				return 0
			}
		} else if c != shape[i] {
			return 0
		}
	}
	i := len(shape)
	if b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i+1 < len(b) && b[i] == 'Z' && b[i+1] == ' ' {
		return i + 2
	}
	return 0
}
