package transform

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file implements, in Go, the two JSON schemas Treeherder validates
// Taskcluster data against: task-treeherder-config.yml (a task's
// extra.treeherder) and pulse-job.yml (the intermediate job). It covers the
// keywords those schemas use, with Python jsonschema's semantics:
//   - lengths count code points;
//   - "integer" accepts integral floats (draft 6+) but not booleans;
//   - "format" is not checked (jsonschema.validate has no format checker);
//   - patterns are searched with Python's re, so `$` also matches before a
//     final newline and `\w` is Unicode-aware.

type jsonType uint8

const (
	typeAny jsonType = iota
	typeObject
	typeArray
	typeString
	typeInteger
	typeBoolean
)

type schema struct {
	typ      jsonType
	props    map[string]*schema
	required []string
	// closed is additionalProperties: false.
	closed bool
	items  *schema
	// minLen/maxLen are -1 when unset.
	minLen, maxLen int
	pattern        *charClass
	patternText    string
	enum           []string
	intEnum        []int64
	minimum        *float64
	maximum        *float64
}

func str(minLen, maxLen int) *schema {
	return &schema{typ: typeString, minLen: minLen, maxLen: maxLen}
}

// strP is a string with a pattern; pyPattern is written as in the YAML.
func strP(minLen, maxLen int, pyPattern string, cc *charClass) *schema {
	s := str(minLen, maxLen)
	s.pattern, s.patternText = cc, pyPattern
	return s
}

// charClass matches the only pattern shape the schemas use, `^[class]+$`,
// with Python re.search semantics: `$` also matches before one final "\n".
// (A hand-written matcher: regexp's Unicode classes cost a third of the
// transform.)
type charClass struct {
	ok func(r rune) bool
}

func (c *charClass) MatchString(s string) bool {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return false
	}
	for _, r := range s {
		if !c.ok(r) {
			return false
		}
	}
	return true
}

func isASCIIName(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}

// isPyWord is Python's \w for str patterns (letters and digits of any
// script, and "_"), plus "-".
func isPyWord(r rune) bool {
	if r < utf8.RuneSelf {
		return isASCIIName(r)
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

func enumOf(values ...string) *schema {
	return &schema{typ: typeString, minLen: -1, maxLen: -1, enum: values}
}

func integer(minimum, maximum *float64) *schema {
	return &schema{typ: typeInteger, minLen: -1, maxLen: -1, minimum: minimum, maximum: maximum}
}

func object(closed bool, required []string, props map[string]*schema) *schema {
	return &schema{typ: typeObject, minLen: -1, maxLen: -1, closed: closed, required: required, props: props}
}

func array(items *schema) *schema {
	return &schema{typ: typeArray, minLen: -1, maxLen: -1, items: items}
}

func f(v float64) *float64 { return &v }

var (
	boolean   = &schema{typ: typeBoolean, minLen: -1, maxLen: -1}
	anyString = str(-1, -1)

	reASCIIName = &charClass{isASCIIName}                                                      // ^[A-Za-z0-9_-]+$
	reWord      = &charClass{isPyWord}                                                         // ^[\w-]+$
	reGUIDish   = &charClass{func(r rune) bool { return isPyWord(r) || r == '/' || r == '+' }} // ^[\w/+-]+$
	reTaskID    = &charClass{func(r rune) bool {                                               // ^[A-Za-z0-9/+-]+$
		return r != '_' && isASCIIName(r) || r == '/' || r == '+'
	}}
	reHex = &charClass{func(r rune) bool { return r >= '0' && r <= '9' || r >= 'a' && r <= 'f' }} // ^[0-9a-f]+$
)

// taskConfigSchema is task-treeherder-config.yml.
var taskConfigSchema = object(false, []string{"symbol"}, map[string]*schema{
	"reason":  str(1, 125),
	"tier":    integer(f(1), f(3)),
	"jobKind": enumOf("build", "test", "other"),
	"machine": object(true, []string{"platform"}, map[string]*schema{
		"platform":     strP(1, 50, `^[A-Za-z0-9_-]+$`, reASCIIName),
		"os":           strP(1, 25, `^[A-Za-z0-9_-]+$`, reASCIIName),
		"architecture": strP(1, 25, `^[A-Za-z0-9_-]+$`, reASCIIName),
	}),
	"labels":      array(strP(1, 50, `^[A-Za-z0-9_-]+$`, reASCIIName)),
	"symbol":      str(0, 25),
	"groupName":   str(1, 255),
	"groupSymbol": str(1, 25),
	"productName": str(1, 125),
})

func machineSchema() *schema {
	return object(true, []string{"platform", "os", "architecture"}, map[string]*schema{
		"name":         strP(1, 50, `^[\w-]+$`, reWord),
		"platform":     strP(1, 100, `^[\w-]+$`, reWord),
		"os":           strP(1, 25, `^[\w-]+$`, reWord),
		"architecture": strP(1, 25, `^[\w-]+$`, reWord),
	})
}

// pulseJobSchema is pulse-job.yml.
var pulseJobSchema = object(true,
	[]string{"taskId", "origin", "buildSystem", "display", "state", "jobKind", "version"},
	map[string]*schema{
		"taskId":      strP(1, 50, `^[A-Za-z0-9/+-]+$`, reTaskID),
		"retryId":     integer(f(0), nil),
		"isRetried":   boolean,
		"buildSystem": strP(1, 25, `^[\w-]+$`, reWord),
		"origin": object(true, []string{"project", "revision"}, map[string]*schema{
			"project":  strP(1, 50, `^[\w-]+$`, reWord),
			"revision": strP(40, 40, `^[0-9a-f]+$`, reHex),
			"id":       integer(nil, nil),
		}),
		"display": object(true, []string{"jobName", "jobSymbol", "groupSymbol"}, map[string]*schema{
			"jobSymbol":   str(0, 25),
			"chunkId":     integer(f(1), nil),
			"chunkCount":  integer(f(1), nil),
			"groupSymbol": str(1, 25),
			"jobName":     str(1, 140),
			"groupName":   str(1, 255),
		}),
		"state":         enumOf("unscheduled", "pending", "running", "completed"),
		"result":        enumOf("success", "fail", "exception", "retry", "canceled", "superseded", "unknown"),
		"jobKind":       enumOf("build", "test", "other"),
		"tier":          integer(f(1), f(3)),
		"coalesced":     array(strP(1, 50, `^[\w/+-]+$`, reGUIDish)),
		"timeScheduled": anyString,
		"timeStarted":   anyString,
		"timeCompleted": anyString,
		"labels":        array(strP(1, 50, `^[\w-]+$`, reWord)),
		"owner":         str(1, 50),
		"reason":        str(1, 125),
		"productName":   str(1, 125),
		"buildMachine":  machineSchema(),
		"runMachine":    machineSchema(),
		"jobInfo": object(true, nil, map[string]*schema{
			"summary": anyString,
			"links": array(object(true, []string{"url", "linkText", "label"}, map[string]*schema{
				"url":      str(-1, 512),
				"linkText": str(1, 125),
				"label":    str(1, 70),
			})),
		}),
		"logs": array(object(true, []string{"url", "name"}, map[string]*schema{
			"url":  str(1, 255),
			"name": str(1, 50),
		})),
		"version": &schema{typ: typeInteger, minLen: -1, maxLen: -1, intEnum: []int64{1}},
	})

// validate checks v against s and returns the first violation, with Field
// relative to v. Paths are built only on failure, and objects are walked in
// map order first; only when something fails are they walked again in a
// stable order (type, required, unknown properties, then properties by name)
// so the reported violation does not depend on map iteration.
func (s *schema) validate(name string, v any) *SchemaError {
	fail := func(format string, args ...any) *SchemaError {
		return schemaErr(name, "", format, args...)
	}
	switch s.typ {
	case typeAny:
		return nil
	case typeObject:
		m, ok := v.(map[string]any)
		if !ok {
			if pj, isPJ := v.(PulseJob); isPJ {
				m, ok = map[string]any(pj), true
			}
		}
		if !ok {
			return fail("want object, got %s", describe(v))
		}
		if s.objectOK(name, m) {
			return nil
		}
		return s.objectError(name, m)
	case typeArray:
		a, ok := v.([]any)
		if !ok {
			if ss, isSS := v.([]string); isSS {
				a = make([]any, len(ss))
				for i, x := range ss {
					a[i] = x
				}
				ok = true
			}
		}
		if !ok {
			return fail("want array, got %s", describe(v))
		}
		if s.items != nil {
			for i, x := range a {
				if err := s.items.validate(name, x); err != nil {
					err.Field = join(strconv.Itoa(i), err.Field)
					return err
				}
			}
		}
	case typeString:
		sv, ok := v.(string)
		if !ok {
			return fail("want string, got %s", describe(v))
		}
		if s.minLen >= 0 || s.maxLen >= 0 {
			n := utf8.RuneCountInString(sv)
			if s.minLen >= 0 && n < s.minLen {
				return fail("%q is shorter than %d characters", truncate(sv), s.minLen)
			}
			if s.maxLen >= 0 && n > s.maxLen {
				return fail("%q is longer than %d characters", truncate(sv), s.maxLen)
			}
		}
		if s.pattern != nil && !s.pattern.MatchString(sv) {
			return fail("%q does not match %s", truncate(sv), s.patternText)
		}
		if s.enum != nil && !slices.Contains(s.enum, sv) {
			return fail("%q is not one of %s", truncate(sv), strings.Join(s.enum, ", "))
		}
	case typeInteger:
		x, ok := integral(v)
		if !ok {
			return fail("want integer, got %s", describe(v))
		}
		if s.minimum != nil && x < *s.minimum {
			return fail("%v is less than the minimum of %v", x, *s.minimum)
		}
		if s.maximum != nil && x > *s.maximum {
			return fail("%v is greater than the maximum of %v", x, *s.maximum)
		}
		if s.intEnum != nil && !slices.ContainsFunc(s.intEnum, func(e int64) bool { return float64(e) == x }) {
			return fail("%v is not one of %v", x, s.intEnum)
		}
	case typeBoolean:
		if _, ok := v.(bool); !ok {
			return fail("want boolean, got %s", describe(v))
		}
	}
	return nil
}

// objectOK is the allocation-free check of an object's members.
func (s *schema) objectOK(name string, m map[string]any) bool {
	for _, r := range s.required {
		if _, ok := m[r]; !ok {
			return false
		}
	}
	for k, v := range m {
		ps, ok := s.props[k]
		if !ok {
			if s.closed {
				return false
			}
			continue
		}
		if ps.validate(name, v) != nil {
			return false
		}
	}
	return true
}

// objectError finds the first violation in a stable order.
func (s *schema) objectError(name string, m map[string]any) *SchemaError {
	for _, r := range s.required {
		if _, ok := m[r]; !ok {
			return schemaErr(name, r, "required property missing")
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if s.closed {
		for _, k := range keys {
			if _, ok := s.props[k]; !ok {
				return schemaErr(name, k, "additional property not allowed")
			}
		}
	}
	for _, k := range keys {
		if ps, ok := s.props[k]; ok {
			if err := ps.validate(name, m[k]); err != nil {
				err.Field = join(k, err.Field)
				return err
			}
		}
	}
	return nil
}

// integral returns v as a float if it is a JSON integer in the draft-6 sense.
func integral(v any) (float64, bool) {
	var x float64
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		x = n
	case json.Number:
		p, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return 0, false
		}
		x = p
	default:
		return 0, false
	}
	if math.IsInf(x, 0) || math.IsNaN(x) || x != math.Trunc(x) {
		return 0, false
	}
	return x, true
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int, int64, float64, json.Number:
		return "number"
	case []any, []string:
		return "array"
	case map[string]any, PulseJob:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// join builds dotted paths; either side may be empty.
func join(path, key string) string {
	switch {
	case path == "":
		return key
	case key == "":
		return path
	}
	return path + "." + key
}

func truncate(s string) string {
	const maxShown = 80
	if utf8.RuneCountInString(s) <= maxShown {
		return s
	}
	r := []rune(s)
	return string(r[:maxShown]) + "…"
}

// ValidateTaskConfig checks a task's extra.treeherder (decoded JSON) against
// task-treeherder-config. A violation is a *SchemaError that is also a skip
// (ErrInvalidConfig), as Treeherder skips such tasks.
func ValidateTaskConfig(cfg any) error {
	if err := taskConfigSchema.validate("task-treeherder-config", cfg); err != nil {
		err.Field = join("extra.treeherder", err.Field)
		err.skip = true
		return err
	}
	return nil
}

// ValidatePulseJob checks an intermediate job against pulse-job. A violation
// is a *SchemaError (ErrSchema).
func ValidatePulseJob(job PulseJob) error {
	if err := pulseJobSchema.validate("pulse-job", map[string]any(job)); err != nil {
		return err
	}
	return nil
}
