// Package perf takes in performance data the way Perfherder does: it checks
// PERFHERDER_DATA blobs and perfherder-data artifacts against Treeherder's
// performance-artifact schema, computes Treeherder's signature hashes, and
// stores performance signatures and data points.
package perf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is matched (errors.Is) by every error Validate returns.
var ErrInvalid = errors.New("invalid performance data")

// ValidationError names the part of an artifact that breaks a rule.
type ValidationError struct {
	Path   string // e.g. "suites[0].subtests[3].value"
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Path == "" {
		return "performance data: " + e.Reason
	}
	return "performance data: " + e.Path + ": " + e.Reason
}

func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Artifact is a validated performance artifact (performance-artifact.json).
type Artifact struct {
	Framework   string // framework.name; "" when absent
	Application *Application
	Suites      []Suite
}

// Application is the application under test.
type Application struct {
	Name    string
	Version string
}

// Suite is one suite of an artifact.
type Suite struct {
	Name            string
	PublicName      *string
	Tags            []string
	ExtraOptions    []string
	Subtests        []Subtest
	Value           *float64
	Unit            *string
	LowerIsBetter   *bool
	ShouldAlert     *bool
	AlertThreshold  *float64
	AlertChangeType *string
	MinBackWindow   *float64
	MaxBackWindow   *float64
	ForeWindow      *float64
}

// Subtest is one subtest of a suite.
type Subtest struct {
	Name            string
	PublicName      *string
	Value           float64
	Unit            *string
	LowerIsBetter   *bool
	ShouldAlert     *bool
	AlertThreshold  *float64
	AlertChangeType *string
	MinBackWindow   *float64
	MaxBackWindow   *float64
	ForeWindow      *float64
}

// Limits of the schema, and validate_perf_data's own rule on extraOptions.
const (
	maxValue        = 1e12
	longOptionRunes = 45 // at most one extra option may be longer than this
	maxOptionRunes  = 100
	maxExtraOptions = 8
	maxTags         = 14
	maxTagRunes     = 24
	maxNameRunes    = 80
	maxPublicRunes  = 30
	maxUnitRunes    = 20
	maxAppNameRunes = 10
	maxAppVerRunes  = 40
	maxOSRunes      = 100
	maxNotifyEmails = 8
	maxEmailRunes   = 100
	minWindow       = 1
	maxWindow       = 255
)

var (
	applicationNames = []string{"firefox", "chrome", "chrome-m", "fennec", "geckoview", "refbrow", "fenix", "focus",
		"safari", "safari-tp", "custom-car", "cstm-car-m"}
	alertSeverities  = []string{"critical", "subcritical", "normal"}
	alertChangeTypes = []string{"absolute", "percentage"}
)

// Validate parses a PERFHERDER_DATA blob or a perfherder-data artifact and
// checks it the way Treeherder's validate_perf_data does: the rules of
// schemas/performance-artifact.json (types, required keys, lengths, ranges,
// enums, tag pattern, unique items) and at most one extra option longer
// than 45 characters per suite. Keys the schema does not name are allowed,
// as there. Lengths count characters (code points), as Python does.
func Validate(raw []byte) (*Artifact, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &ValidationError{Reason: "not JSON: " + err.Error()}
	}
	if dec.More() {
		return nil, &ValidationError{Reason: "not JSON: data after the top-level value"}
	}
	var c checker
	a := c.artifact(v)
	if c.err != nil {
		return nil, c.err
	}
	return a, nil
}

// checker records the first rule broken; later checks are then no-ops, so
// the walk reads straight through.
type checker struct{ err *ValidationError }

func (c *checker) fail(path, format string, args ...any) {
	if c.err == nil {
		c.err = &ValidationError{Path: path, Reason: fmt.Sprintf(format, args...)}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func (c *checker) object(path string, v any, required ...string) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		c.fail(path, "must be an object, not %s", typeName(v))
		return nil
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			c.fail(path, "%q is required", k)
		}
	}
	return m
}

// str checks an optional string property; nil when absent.
func (c *checker) str(m map[string]any, path, key string, minRunes, maxRunes int, enum []string) *string {
	v, ok := m[key]
	if !ok {
		return nil
	}
	p := join(path, key)
	s, ok := v.(string)
	if !ok {
		c.fail(p, "must be a string, not %s", typeName(v))
		return nil
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n < minRunes:
		c.fail(p, "must be at least %d characters", minRunes)
	case maxRunes > 0 && n > maxRunes:
		c.fail(p, "must be at most %d characters, is %d", maxRunes, n)
	case enum != nil && !contains(enum, s):
		c.fail(p, "must be one of %s, not %q", strings.Join(enum, ", "), s)
	}
	return &s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// number checks an optional number property within [lo, hi]; integer asks
// for a whole number (JSON Schema's "integer": 3.0 counts).
func (c *checker) number(m map[string]any, path, key string, lo, hi float64, integer bool) *float64 {
	v, ok := m[key]
	if !ok {
		return nil
	}
	f, ok := c.num(join(path, key), v, lo, hi, integer)
	if !ok {
		return nil
	}
	return &f
}

func (c *checker) num(p string, v any, lo, hi float64, integer bool) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		c.fail(p, "must be a number, not %s", typeName(v))
		return 0, false
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		c.fail(p, "number %s is out of range", n)
		return 0, false
	}
	if integer && f != math.Trunc(f) {
		c.fail(p, "must be a whole number, not %s", n)
		return 0, false
	}
	if f < lo || f > hi {
		c.fail(p, "must be between %g and %g, not %s", lo, hi, n)
		return 0, false
	}
	return f, true
}

func (c *checker) boolean(m map[string]any, path, key string) *bool {
	v, ok := m[key]
	if !ok {
		return nil
	}
	b, ok := v.(bool)
	if !ok {
		c.fail(join(path, key), "must be a boolean, not %s", typeName(v))
		return nil
	}
	return &b
}

// strings checks an optional array of unique strings.
func (c *checker) strings(m map[string]any, path, key string, maxItems int, item func(p, s string)) []string {
	v, ok := m[key]
	if !ok {
		return nil
	}
	p := join(path, key)
	list, ok := v.([]any)
	if !ok {
		c.fail(p, "must be an array, not %s", typeName(v))
		return nil
	}
	if len(list) > maxItems {
		c.fail(p, "must have at most %d items, has %d", maxItems, len(list))
	}
	out := make([]string, 0, len(list))
	seen := map[string]bool{}
	for i, x := range list {
		s, ok := x.(string)
		if !ok {
			c.fail(index(p, i), "must be a string, not %s", typeName(x))
			continue
		}
		item(index(p, i), s)
		if seen[s] {
			c.fail(p, "items must be unique; %q repeats", s)
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

func (c *checker) artifact(v any) *Artifact {
	m := c.object("", v, "framework", "suites")
	if m == nil {
		return nil
	}
	a := &Artifact{}
	if app, ok := m["application"]; ok {
		am := c.object("application", app, "name")
		if am != nil {
			name := c.str(am, "application", "name", 0, maxAppNameRunes, applicationNames)
			version := c.str(am, "application", "version", 0, maxAppVerRunes, nil)
			a.Application = &Application{}
			if name != nil {
				a.Application.Name = *name
			}
			if version != nil {
				a.Application.Version = *version
			}
		}
	}
	if os, ok := m["os"]; ok {
		if om := c.object("os", os); om != nil {
			c.str(om, "os", "name", 1, maxOSRunes, nil)
			c.str(om, "os", "platform_version", 1, maxOSRunes, nil)
		}
	}
	if fm := c.object("framework", m["framework"]); fm != nil {
		if name := c.str(fm, "framework", "name", 0, 0, nil); name != nil {
			a.Framework = *name
		}
	}
	suites, ok := m["suites"].([]any)
	if !ok {
		c.fail("suites", "must be an array, not %s", typeName(m["suites"]))
		return nil
	}
	for i, s := range suites {
		if suite := c.suite(index("suites", i), s); suite != nil {
			a.Suites = append(a.Suites, *suite)
		}
	}
	return a
}

func (c *checker) suite(path string, v any) *Suite {
	m := c.object(path, v, "name", "subtests")
	if m == nil {
		return nil
	}
	s := &Suite{}
	if name := c.str(m, path, "name", 0, maxNameRunes, nil); name != nil {
		s.Name = *name
	}
	s.PublicName = c.str(m, path, "publicName", 0, maxPublicRunes, nil)
	s.Tags = c.strings(m, path, "tags", maxTags, func(p, tag string) {
		if !validTag(tag) {
			c.fail(p, "tag %q must be 1 to %d letters, digits or '-'", tag, maxTagRunes)
		}
	})
	long := 0
	s.ExtraOptions = c.strings(m, path, "extraOptions", maxExtraOptions, func(p, opt string) {
		n := utf8.RuneCountInString(opt)
		if n > maxOptionRunes {
			c.fail(p, "must be at most %d characters, is %d", maxOptionRunes, n)
		}
		if n > longOptionRunes {
			long++
		}
	})
	if long > 1 {
		c.fail(join(path, "extraOptions"), "too many extra options longer than %d characters", longOptionRunes)
	}
	s.Value = c.number(m, path, "value", -maxValue, maxValue, false)
	s.Unit = c.str(m, path, "unit", 1, maxUnitRunes, nil)
	if rv, ok := m["replicates"]; ok {
		p := join(path, "replicates")
		if list, ok := rv.([]any); ok {
			for i, x := range list {
				c.num(index(p, i), x, -maxValue, maxValue, false)
			}
		} else {
			c.fail(p, "must be an array, not %s", typeName(rv))
		}
	}
	s.LowerIsBetter = c.boolean(m, path, "lowerIsBetter")
	s.ShouldAlert = c.boolean(m, path, "shouldAlert")
	c.boolean(m, path, "monitor")
	s.AlertThreshold = c.number(m, path, "alertThreshold", 0, math.MaxFloat64, false)
	c.str(m, path, "alertSeverity", 0, 0, alertSeverities)
	s.AlertChangeType = c.str(m, path, "alertChangeType", 0, 0, alertChangeTypes)
	s.MinBackWindow = c.number(m, path, "minBackWindow", minWindow, maxWindow, true)
	s.MaxBackWindow = c.number(m, path, "maxBackWindow", minWindow, maxWindow, true)
	s.ForeWindow = c.number(m, path, "foreWindow", minWindow, maxWindow, true)
	c.strings(m, path, "alertNotifyEmails", maxNotifyEmails, func(p, e string) {
		if n := utf8.RuneCountInString(e); n > maxEmailRunes {
			c.fail(p, "must be at most %d characters, is %d", maxEmailRunes, n)
		}
	})
	subtests, ok := m["subtests"].([]any)
	if !ok {
		c.fail(join(path, "subtests"), "must be an array, not %s", typeName(m["subtests"]))
		return nil
	}
	for i, st := range subtests {
		if sub := c.subtest(index(join(path, "subtests"), i), st); sub != nil {
			s.Subtests = append(s.Subtests, *sub)
		}
	}
	return s
}

func (c *checker) subtest(path string, v any) *Subtest {
	m := c.object(path, v, "name", "value")
	if m == nil {
		return nil
	}
	s := &Subtest{}
	if name := c.str(m, path, "name", 0, maxNameRunes, nil); name != nil {
		s.Name = *name
	}
	s.PublicName = c.str(m, path, "publicName", 0, maxPublicRunes, nil)
	if f := c.number(m, path, "value", -maxValue, maxValue, false); f != nil {
		s.Value = *f
	}
	s.Unit = c.str(m, path, "unit", 1, maxUnitRunes, nil)
	s.LowerIsBetter = c.boolean(m, path, "lowerIsBetter")
	s.ShouldAlert = c.boolean(m, path, "shouldAlert")
	s.AlertChangeType = c.str(m, path, "alertChangeType", 0, 0, alertChangeTypes)
	s.AlertThreshold = c.number(m, path, "alertThreshold", 0, math.MaxFloat64, false)
	c.str(m, path, "alertSeverity", 0, 0, alertSeverities)
	// The subtest windows are "number", not "integer", in the schema.
	s.MinBackWindow = c.number(m, path, "minBackWindow", minWindow, maxWindow, false)
	s.MaxBackWindow = c.number(m, path, "maxBackWindow", minWindow, maxWindow, false)
	s.ForeWindow = c.number(m, path, "foreWindow", minWindow, maxWindow, false)
	return s
}

// validTag is the schema's ^[a-zA-Z0-9-]{1,24}$ under Python's re.search,
// where $ also matches before a final newline.
func validTag(s string) bool {
	s = strings.TrimSuffix(s, "\n")
	if len(s) < 1 || len(s) > maxTagRunes {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-') {
			return false
		}
	}
	return true
}
