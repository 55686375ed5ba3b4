package server

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/herder-ci/herder/core/store"
)

// params is a request's query string with its keys in the order they first
// appear (Django's QueryDict keeps it, and the push list echoes it back).
type params struct {
	keys []string
	vals map[string][]string
}

// badRequest is a client error the handler answers with 400 and its text.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

// notFoundError is answered with 404 and its text.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

func notFoundf(format string, args ...any) error { return &notFoundError{fmt.Sprintf(format, args...)} }

func parseParams(raw string) (*params, error) {
	p := &params{vals: map[string][]string{}}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, badf("Malformed query string: %v", err)
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return nil, badf("Malformed query string: %v", err)
		}
		if _, ok := p.vals[key]; !ok {
			p.keys = append(p.keys, key)
		}
		p.vals[key] = append(p.vals[key], val)
	}
	return p, nil
}

// get returns the last value of key, as QueryDict.get does.
func (p *params) get(key string) string {
	v := p.vals[key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func (p *params) has(key string) bool { _, ok := p.vals[key]; return ok }

func (p *params) all(key string) []string { return p.vals[key] }

// intParam parses key as an integer in [lo, hi], or def when absent.
func (p *params) intParam(key string, def, lo, hi int64) (int64, error) {
	if !p.has(key) {
		return def, nil
	}
	v := p.get(key)
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, badf("Invalid value for %s: %q is not an integer.", key, v)
	}
	if n < lo || n > hi {
		return 0, badf("Invalid value for %s: %d is out of range [%d, %d].", key, n, lo, hi)
	}
	return n, nil
}

// ints parses the values of key, each possibly a comma-separated list.
func (p *params) ints(key string) ([]int64, error) {
	var out []int64
	for _, v := range p.all(key) {
		list, err := intList(key, v)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	return out, nil
}

func intList(key, v string) ([]int64, error) {
	var out []int64
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.ParseInt(part, 10, 64)
		if err != nil {
			return nil, badf("Invalid value for %s: %q is not an integer.", key, part)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseISO reads the datetimes Django's IsoDateTimeFilter accepts: a date, or
// a date and time with optional fraction and zone; a naive time is UTC.
func parseISO(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	layouts := []string{
		"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04Z07:00", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02",
	}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not an ISO 8601 date or datetime")
}

// parseDay reads YYYY-MM-DD.
func parseDay(key, s string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(s), time.UTC)
	if err != nil {
		return time.Time{}, badf("Invalid value for %s: %q is not a date (YYYY-MM-DD).", key, s)
	}
	return t, nil
}

// Kinds of job filter values.
type valueKind int

const (
	kindInt     valueKind = iota
	kindString            // compared as given
	kindSeconds           // ISO datetime, compared as unix seconds
	kindMicros            // ISO datetime, compared as unix microseconds
	kindUnix              // legacy unix timestamp (float), compared as seconds
)

type jobFilter struct {
	field store.JobField
	kind  valueKind
	// lookups lists the suffixes besides the plain name (exact match).
	lookups []string
}

var (
	cmpLookups   = []string{"lt", "lte", "gt", "gte"}
	cmpInLookups = []string{"lt", "lte", "gt", "gte", "in"}
	inLookup     = []string{"in"}
)

// jobFilters is Treeherder's JobFilter (treeherder/webapp/api/jobs.py).
var jobFilters = map[string]jobFilter{
	"id":                            {store.JobID, kindInt, cmpInLookups},
	"tier":                          {store.JobTier, kindInt, cmpInLookups},
	"push_id":                       {store.JobPushID, kindInt, cmpInLookups},
	"job_guid":                      {store.JobGUID, kindString, inLookup},
	"task_id":                       {store.JobTaskID, kindString, nil},
	"retry_id":                      {store.JobRetryID, kindInt, nil},
	"build_architecture":            {store.JobBuildArchitecture, kindString, nil},
	"build_os":                      {store.JobBuildOS, kindString, nil},
	"build_platform":                {store.JobBuildPlatform, kindString, nil},
	"build_platform_id":             {store.JobBuildPlatformID, kindInt, nil},
	"build_system_type":             {store.JobBuildSystemType, kindString, nil},
	"machine_platform_architecture": {store.JobMachinePlatformArchitecture, kindString, nil},
	"machine_platform_os":           {store.JobMachinePlatformOS, kindString, nil},
	"platform":                      {store.JobPlatform, kindString, nil},
	"machine_name":                  {store.JobMachineName, kindString, nil},
	"job_group_id":                  {store.JobGroupID, kindInt, nil},
	"job_group_name":                {store.JobGroupName, kindString, nil},
	"job_group_symbol":              {store.JobGroupSymbol, kindString, nil},
	"job_type_id":                   {store.JobTypeID, kindInt, nil},
	"job_type_name":                 {store.JobTypeName, kindString, nil},
	"job_type_symbol":               {store.JobTypeSymbol, kindString, nil},
	"ref_data_name":                 {store.JobRefDataName, kindString, nil},
	"signature":                     {store.JobSignature, kindString, nil},
	"option_collection_hash":        {store.JobOptionCollectionHash, kindString, nil},
	"failure_classification_id":     {store.JobFailureClassificationID, kindInt, nil},
	"reason":                        {store.JobReason, kindString, nil},
	"state":                         {store.JobState, kindString, nil},
	"result":                        {store.JobResult, kindString, nil},
	"who":                           {store.JobWho, kindString, nil},
	"last_modified":                 {store.JobLastModified, kindMicros, cmpLookups},
	"submit_time":                   {store.JobSubmitTime, kindSeconds, cmpLookups},
	"start_time":                    {store.JobStartTime, kindSeconds, cmpLookups},
	"end_time":                      {store.JobEndTime, kindSeconds, cmpLookups},
}

// legacyJobFilters are the project jobs list's older names: result_set_id
// for push_id and unix timestamps for the times.
var legacyJobFilters = map[string]jobFilter{
	"result_set_id":    {store.JobPushID, kindInt, cmpInLookups},
	"submit_timestamp": {store.JobSubmitTime, kindUnix, nil},
	"start_timestamp":  {store.JobStartTime, kindUnix, nil},
	"end_timestamp":    {store.JobEndTime, kindUnix, nil},
}

var lookupOps = map[string]store.Op{
	"": store.OpEq, "lt": store.OpLt, "lte": store.OpLte, "gt": store.OpGt, "gte": store.OpGte, "in": store.OpIn,
}

// jobFilterFor resolves a parameter name to its filter and lookup.
func jobFilterFor(name string, legacy bool) (jobFilter, store.Op, bool) {
	base, lookup := name, ""
	if i := strings.LastIndex(name, "__"); i > 0 {
		base, lookup = name[:i], name[i+2:]
	}
	f, ok := jobFilters[base]
	if !ok && legacy {
		f, ok = legacyJobFilters[base]
	}
	if !ok {
		return jobFilter{}, 0, false
	}
	if lookup == "" {
		return f, store.OpEq, true
	}
	for _, l := range f.lookups {
		if l == lookup {
			return f, lookupOps[lookup], true
		}
	}
	return jobFilter{}, 0, false
}

func isJobFilter(name string, legacy bool) bool {
	_, _, ok := jobFilterFor(name, legacy)
	return ok
}

// jobConds turns the job filter parameters of p into conditions.
func jobConds(p *params, legacy bool) ([]store.JobCond, error) {
	var conds []store.JobCond
	for _, name := range p.keys {
		f, op, ok := jobFilterFor(name, legacy)
		if !ok {
			continue
		}
		raw := p.get(name)
		var values []string
		if op == store.OpIn {
			for _, v := range strings.Split(raw, ",") {
				if v = strings.TrimSpace(v); v != "" {
					values = append(values, v)
				}
			}
		} else {
			values = []string{raw}
		}
		c := store.JobCond{Field: f.field, Op: op}
		for _, v := range values {
			val, err := jobValue(name, f.kind, v)
			if err != nil {
				return nil, err
			}
			c.Values = append(c.Values, val)
		}
		conds = append(conds, c)
	}
	return conds, nil
}

func jobValue(name string, kind valueKind, v string) (any, error) {
	switch kind {
	case kindInt:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return nil, badf("Invalid value for %s: %q is not an integer.", name, v)
		}
		return n, nil
	case kindSeconds, kindMicros:
		t, err := parseISO(v)
		if err != nil {
			return nil, badf("Invalid value for %s: %q is not an ISO 8601 datetime.", name, v)
		}
		if kind == kindMicros {
			return t.UnixMicro(), nil
		}
		return t.Unix(), nil
	case kindUnix:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, badf("Invalid value for %s: %q is not a unix timestamp.", name, v)
		}
		return int64(math.Floor(f)), nil
	}
	return v, nil
}
