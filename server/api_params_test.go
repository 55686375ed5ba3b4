package server

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/store"
)

func TestParseParamsKeepsOrderAndLastValue(t *testing.T) {
	p, err := parseParams("b=1&a=2&b=3&c&=x&d=%20y+z")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.keys, ",") != "b,a,c,,d" || p.get("b") != "3" || p.get("c") != "" || !p.has("c") || p.get("d") != " y z" {
		t.Fatalf("params = %+v", p)
	}
	if _, err := parseParams("a=%zz"); err == nil {
		t.Fatal("a bad escape must be refused")
	}
}

func TestParseISO(t *testing.T) {
	cases := map[string]time.Time{
		"2024-05-01":                      time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
		"2024-05-01T10:20":                time.Date(2024, 5, 1, 10, 20, 0, 0, time.UTC),
		"2024-05-01 10:20:30":             time.Date(2024, 5, 1, 10, 20, 30, 0, time.UTC),
		"2024-05-01T10:20:30.123456":      time.Date(2024, 5, 1, 10, 20, 30, 123456000, time.UTC),
		"2024-05-01T10:20:30.5Z":          time.Date(2024, 5, 1, 10, 20, 30, 500000000, time.UTC),
		"2024-05-01T12:20:30+02:00":       time.Date(2024, 5, 1, 10, 20, 30, 0, time.UTC),
		" 2024-05-01T10:20:30.123456789 ": time.Date(2024, 5, 1, 10, 20, 30, 123456789, time.UTC),
	}
	for in, want := range cases {
		got, err := parseISO(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseISO(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2024-13-01", "2024-05-01T25:00", "1714560000", "2024-05-01T10:20:30Zjunk"} {
		if _, err := parseISO(bad); err == nil {
			t.Errorf("parseISO(%q) accepted", bad)
		}
	}
}

func TestDurationIsTreeherders(t *testing.T) {
	now := time.Unix(10_000, 0)
	cases := []struct {
		submit, start, end, want int64
	}{
		{0, 100, 250, 2},   // 2.5 minutes round half to even
		{0, 100, 310, 4},   // 3.5 -> 4
		{0, 100, 130, 1},   // at least a minute
		{100, 0, 0, 165},   // pending: submit to now
		{0, 9_000, 0, 17},  // running: start to now
		{0, 500, 100, 1},   // clock skew
		{0, 0, 0, 167},     // nothing known: 1970 to now, as Treeherder's epoch default gives
		{100, 160, 220, 1}, // one minute
	}
	for _, c := range cases {
		if got := duration(c.submit, c.start, c.end, now); got != c.want {
			t.Errorf("duration(%d, %d, %d) = %d, want %d", c.submit, c.start, c.end, got, c.want)
		}
	}
}

func TestAppendStringMatchesJSON(t *testing.T) {
	for _, s := range []string{"plain", `quote " and \ slash`, "tab\tnew\nline\r", "\x00\x1f", "<html>&", "é ☃ 😀", "bad \xff utf8", "\u2028\u2029"} {
		want, err := marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestIsoMicros(t *testing.T) {
	if got := isoMicros(1714557600_000000); got != "2024-05-01T10:00:00" {
		t.Errorf("whole second = %s", got)
	}
	if got := isoMicros(1714557600_000010); got != "2024-05-01T10:00:00.000010" {
		t.Errorf("fraction = %s", got)
	}
}

func FuzzParseParams(f *testing.F) {
	for _, seed := range []string{"push_id=1&last_modified__gt=2024-05-01T10:00:00", "id__in=1,2,,3", "a=%zz", "tier__in=&count=2001",
		"submit_timestamp=1e300", "job_guid__in=a%2Cb", "last_modified=2024-05-01 10:00:00.1234567"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parseParams(raw)
		if err != nil {
			var bad *badRequest
			if !errors.As(err, &bad) {
				t.Fatalf("parse error of the wrong kind: %v", err)
			}
			return
		}
		for _, legacy := range []bool{false, true} {
			conds, err := jobConds(p, legacy)
			if err != nil {
				var bad *badRequest
				if !errors.As(err, &bad) {
					t.Fatalf("filter error of the wrong kind: %v", err)
				}
				continue
			}
			for _, c := range conds {
				if c.Op != store.OpIn && len(c.Values) != 1 {
					t.Fatalf("condition %+v", c)
				}
			}
		}
		_, _ = p.intParam("count", 10, 1, 2000)
		_, _ = p.ints("job_id")
	})
}

func FuzzParseISO(f *testing.F) {
	for _, seed := range []string{"2024-05-01", "2024-05-01T10:20:30.5Z", "9999-12-31T23:59:59.999999999+14:00", "0000-01-01"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseISO(s)
		if err == nil && tm.Location() != time.UTC {
			t.Fatalf("%q parsed to a non-UTC time", s)
		}
		if err == nil {
			_ = isoMicros(tm.UnixMicro())
		}
		_ = duration(0, 0, int64(math.MaxInt32), time.Unix(0, 0))
	})
}
