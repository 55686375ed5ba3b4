package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

func FuzzBugJobMapKey(f *testing.F) {
	for _, s := range []string{"12-345", "12-i7", "12", "-", "a-b", "12-i", "0-1", "1-0", "9223372036854775807-i9223372036854775807", "1--2", "1-i-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pk string) {
		job, ref, err := parseBugJobMapKey(pk)
		if err != nil {
			return
		}
		if job <= 0 || (ref.BugzillaID > 0) == (ref.InternalID > 0) {
			t.Fatalf("%q -> job %d, %+v", pk, job, ref)
		}
		want := fmt.Sprintf("%d-%d", job, ref.BugzillaID)
		if ref.InternalID > 0 {
			want = fmt.Sprintf("%d-i%d", job, ref.InternalID)
		}
		// Accepted keys are canonical, but for leading zeros and signs.
		if j2, r2, err := parseBugJobMapKey(want); err != nil || j2 != job || r2 != ref {
			t.Fatalf("%q -> %q does not round-trip", pk, want)
		}
	})
}

func FuzzSessionCookie(f *testing.F) {
	s := &sessions{key: bytes.Repeat([]byte("k"), 32), maxAge: time.Hour, now: time.Now}
	good, _ := s.seal(sessionCookie, sessionData{UserID: 1, Username: "u", Role: "sheriff", CSRF: "c", Expires: 1 << 40})
	for _, v := range []string{good, "", ".", "a.b", good + "x", strings.Replace(good, ".", "..", 1)} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, value string) {
		var d sessionData
		if s.open(sessionCookie, value, &d) && value != good {
			// Only what the key signed opens; anything else is a forgery
			// the fuzzer found, unless it decodes to the same payload
			// (base64 with trailing bits, which RawURLEncoding rejects).
			t.Fatalf("accepted %q as %+v", value, d)
		}
		var ld loginData
		if s.open(loginCookie, value, &ld) {
			t.Fatalf("a session-purpose value opened as a login cookie: %q", value)
		}
	})
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/jobs?repo=x", "//evil.example", "/\\evil.example", "https://evil.example/", "", "/a\r\nSet-Cookie: x", "/%2F%2Fevil", "\\\\evil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		u, err := url.Parse(got)
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") || err != nil ||
			u.Host != "" || u.Scheme != "" || strings.ContainsAny(got, "\r\n") {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
	})
}

func FuzzIntField(f *testing.F) {
	for _, s := range []string{`1`, `"12"`, `null`, `1.5`, `5.0`, `"x"`, `-3`, `1e3`, `"  7 "`, `true`, `[1]`, `{"a":1}`, `99999999999999999999`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var v struct {
			ID intField `json:"id"`
		}
		if json.Unmarshal([]byte(`{"id":`+raw+`}`), &v) != nil {
			return
		}
		id, ok, err := v.ID.id("id")
		if err == nil && ok && id <= 0 {
			t.Fatalf("%s -> %d", raw, id)
		}
	})
}
