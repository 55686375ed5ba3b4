package parse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultFailureLinesCutoff is Treeherder's settings.FAILURE_LINES_CUTOFF.
const DefaultFailureLinesCutoff = 150

// SupportedActions is FailureLine.ACTION_LIST in the Treeherder code this
// package follows: other actions (test_groups above all) are not stored.
// The reference notes mention a 7-entry list upstream whose two extra
// entries are not known here; SummaryOptions.Actions can add them.
var SupportedActions = []string{"test_result", "log", "crash", "truncated", "group_result"}

// Group result statuses (GroupStatus in Treeherder).
const (
	GroupOK          = 1
	GroupError       = 2
	GroupSkip        = 3
	GroupUnsupported = 10
)

// maxGroupDurationMS: durations above two hours are taken as bogus.
const maxGroupDurationMS = 7200 * 1000

// SummaryOptions tune ParseErrorSummary. The zero value is Treeherder's
// behaviour.
type SummaryOptions struct {
	// Cutoff is the number of lines stored before the next one is stored
	// as "truncated" and reading stops; 0 means DefaultFailureLinesCutoff,
	// a negative value means no cutoff.
	Cutoff int
	// MaxLineBytes is the longest JSON line accepted; 0 means
	// DefaultMaxLineBytes. A longer line is an error.
	MaxLineBytes int
	// MaxBytes caps the uncompressed bytes read; 0 means no cap.
	MaxBytes int64
	// Actions replaces SupportedActions when not nil.
	Actions []string
}

// FailureLine is one stored errorsummary line. JSON names are the columns
// of Treeherder's failure_line table; text columns are nullable there, so
// they are pointers here (nil for JSON null or an absent key).
type FailureLine struct {
	Action          string  `json:"action"`
	Line            int64   `json:"line"`
	Test            *string `json:"test"`
	Subtest         *string `json:"subtest"`
	Status          string  `json:"status"`
	Expected        *string `json:"expected"`
	Message         *string `json:"message"`
	Signature       *string `json:"signature"`
	Level           *string `json:"level"`
	Stack           *string `json:"stack"`
	StackwalkStdout *string `json:"stackwalk_stdout"`
	StackwalkStderr *string `json:"stackwalk_stderr"`

	// Group and KnownIntermittent are mozlog fields Treeherder reads but
	// does not store in failure_line; kept for callers that want them.
	Group             *string  `json:"group,omitempty"`
	KnownIntermittent []string `json:"known_intermittent,omitempty"`
}

// GroupResult is one group_result line: the group's name (the group table's
// name) with a group_status row's status and duration in whole seconds.
type GroupResult struct {
	Group    string `json:"group"`
	Status   int    `json:"status"`
	Duration int64  `json:"duration"`
}

// ErrorSummary is what ParseErrorSummary found, in log order within each
// list.
type ErrorSummary struct {
	FailureLines []FailureLine `json:"failure_lines"`
	Groups       []GroupResult `json:"groups"`
	// RejectedGroups counts group_result lines whose group name has a
	// backslash or more than 255 characters (Treeherder drops them).
	RejectedGroups int `json:"rejected_groups"`
	// Ignored counts lines with an action that is not stored
	// (test_groups, unknown actions).
	Ignored int `json:"ignored"`
	// Lines is the number of JSON lines read.
	Lines int `json:"lines"`
	// Truncated is set when the cutoff was reached.
	Truncated bool `json:"truncated"`
	// Bytes is the number of uncompressed bytes read.
	Bytes int64 `json:"bytes"`
}

// ParseErrorSummary reads a structured errorsummary log (one JSON object per
// line) the way Treeherder's store_failure_lines does: the first Cutoff
// lines are kept, line Cutoff+1 is kept with its action replaced by
// "truncated" and nothing after it is read; group_result lines become
// GroupResults, lines with another supported action FailureLines.
//
// The log is streamed one line at a time. Like Treeherder, which stores
// nothing when json.loads fails, a line that is not a JSON object, has no
// "action", or is a group_result without "group" or "status" is an error;
// the lines before it are returned with the error. Unlike Treeherder, blank
// lines are skipped instead of failing the whole log.
func ParseErrorSummary(ctx context.Context, r io.Reader, opts SummaryOptions) (*ErrorSummary, error) {
	cutoff := opts.Cutoff
	if cutoff == 0 {
		cutoff = DefaultFailureLinesCutoff
	}
	maxLine := opts.MaxLineBytes
	if maxLine <= 0 {
		maxLine = DefaultMaxLineBytes
	}
	actions := opts.Actions
	if actions == nil {
		actions = SupportedActions
	}
	lr := newLineReader(ctx, r, maxLine, opts.MaxBytes)
	es := &ErrorSummary{}
	var lineno int64 // physical line, for error messages
	for cutoff < 0 || es.Lines <= cutoff {
		raw, long, ok := lr.next()
		if !ok {
			break
		}
		lineno++
		if long {
			es.Bytes = lr.total
			return es, fmt.Errorf("errorsummary line %d: longer than %d bytes", lineno, maxLine)
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		es.Lines++
		truncated := cutoff >= 0 && es.Lines == cutoff+1
		if err := es.addLine(raw, truncated, actions); err != nil {
			es.Bytes = lr.total
			return es, fmt.Errorf("errorsummary line %d: %w", lineno, err)
		}
		if truncated {
			es.Truncated = true
		}
	}
	es.Bytes = lr.total
	if lr.err != nil {
		return es, lr.err
	}
	return es, nil
}

func (es *ErrorSummary) addLine(raw []byte, truncated bool, actions []string) error {
	text, _ := pyDecode(raw, -1)
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &obj); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	if obj == nil {
		return fmt.Errorf("not a JSON object: null")
	}
	rawAction, ok := obj["action"]
	if !ok {
		return fmt.Errorf(`no "action"`)
	}
	action, isString := jsonString(rawAction)
	if truncated {
		action, isString = "truncated", true
	}
	if !isString || !slices.Contains(actions, action) {
		es.Ignored++
		return nil
	}
	if action == "group_result" {
		return es.addGroup(obj)
	}
	fl := FailureLine{Action: action}
	lineRaw, ok := obj["line"]
	if !ok || string(lineRaw) == "null" {
		return fmt.Errorf(`no "line"`)
	}
	n, err := jsonInt(lineRaw)
	if err != nil {
		return fmt.Errorf(`"line": %w`, err)
	}
	fl.Line = n
	if s := textField(obj, "status"); s != nil {
		fl.Status = *s
	}
	fl.Test = textField(obj, "test")
	fl.Subtest = textField(obj, "subtest")
	fl.Expected = textField(obj, "expected")
	fl.Message = textField(obj, "message")
	fl.Signature = textField(obj, "signature")
	fl.Level = textField(obj, "level")
	fl.Stack = textField(obj, "stack")
	fl.StackwalkStdout = textField(obj, "stackwalk_stdout")
	fl.StackwalkStderr = textField(obj, "stackwalk_stderr")
	fl.Group = textField(obj, "group")
	if ki, ok := obj["known_intermittent"]; ok {
		var list []string
		if json.Unmarshal(ki, &list) == nil {
			fl.KnownIntermittent = list
		}
	}
	es.FailureLines = append(es.FailureLines, fl)
	return nil
}

// addGroup is create_group_result.
func (es *ErrorSummary) addGroup(obj map[string]json.RawMessage) error {
	rawGroup, ok := obj["group"]
	if !ok {
		return fmt.Errorf(`group_result without "group"`)
	}
	group, ok := jsonString(rawGroup)
	if !ok {
		return fmt.Errorf(`group_result "group" is not a string`)
	}
	if strings.Contains(group, `\`) || utf8.RuneCountInString(group) > 255 {
		es.RejectedGroups++
		return nil
	}
	rawStatus, ok := obj["status"]
	if !ok {
		return fmt.Errorf(`group_result without "status"`)
	}
	status := GroupUnsupported
	if s, ok := jsonString(rawStatus); ok {
		switch s {
		case "OK":
			status = GroupOK
		case "ERROR":
			status = GroupError
		case "SKIP":
			status = GroupSkip
		}
	}
	es.Groups = append(es.Groups, GroupResult{
		Group:    group,
		Status:   status,
		Duration: groupDuration(obj["duration"]),
	})
	return nil
}

// groupDuration turns a duration in milliseconds into whole seconds the way
// Treeherder does: anything but a JSON number is 0, a float is truncated
// first, negative values and values over two hours are 0.
func groupDuration(raw json.RawMessage) int64 {
	if len(raw) == 0 {
		return 0
	}
	s := string(raw)
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return 0 // string, bool, null, object, array
	}
	var ms float64
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0
		}
		ms = math.Trunc(f)
	} else {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0 // out of int64 range: far over two hours or negative
		}
		ms = float64(n)
	}
	if ms > maxGroupDurationMS || ms < 0 {
		return 0
	}
	return int64(ms / 1000)
}

// jsonString returns the value of a JSON string. raw comes from a parsed
// object, so it is valid JSON: without a backslash its text is its value.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonInt reads an integer column the way Django's int() conversion would
// take it: a number (truncated) or a string of digits.
func jsonInt(raw json.RawMessage) (int64, error) {
	s := string(raw)
	if str, ok := jsonString(raw); ok {
		s = strings.TrimSpace(str)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > math.MaxInt64/2 {
		return 0, fmt.Errorf("not an integer: %.40s", s)
	}
	return int64(f), nil
}

// textField reads a nullable text column: a JSON string as itself, null or
// absent as nil, any other JSON value as its JSON text (Django would store
// Python's str() of it, which matches for integers).
func textField(obj map[string]json.RawMessage, key string) *string {
	raw, ok := obj[key]
	if !ok || string(raw) == "null" {
		return nil
	}
	if s, ok := jsonString(raw); ok {
		return &s
	}
	s := string(raw)
	return &s
}
