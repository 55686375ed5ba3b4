package transform

import (
	"errors"
	"testing"
)

func TestSlugs(t *testing.T) {
	u, err := SlugToUUID("A35mWTRuQmyj88yMnIF0fA")
	if err != nil || u != "037e6659-346e-426c-a3f3-cc8c9c81747c" {
		t.Fatalf("SlugToUUID: %q, %v", u, err)
	}
	s, err := UUIDToSlug(u)
	if err != nil || s != "A35mWTRuQmyj88yMnIF0fA" {
		t.Fatalf("UUIDToSlug: %q, %v", s, err)
	}
	// Python's uuid.UUID forms all encode the same.
	for _, form := range []string{"037E6659-346E-426C-A3F3-CC8C9C81747C", "037e6659346e426ca3f3cc8c9c81747c",
		"{037e6659-346e-426c-a3f3-cc8c9c81747c}", "urn:uuid:037e6659-346e-426c-a3f3-cc8c9c81747c"} {
		if s, err := UUIDToSlug(form); err != nil || s != "A35mWTRuQmyj88yMnIF0fA" {
			t.Errorf("%s: %q, %v", form, s, err)
		}
	}
	for _, bad := range []string{"", "A35mWTRuQmyj88yMnIF0f", "A35mWTRuQmyj88yMnIF0fA=", "A35mWTRuQmyj88yMnIF0f+", "A35mWTRuQmyj88yMnIF0f/"} {
		if _, err := SlugToUUID(bad); err == nil {
			t.Errorf("SlugToUUID(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "xyz", "037e6659-346e-426c-a3f3-cc8c9c81747", "g37e6659-346e-426c-a3f3-cc8c9c81747c"} {
		if _, err := UUIDToSlug(bad); err == nil {
			t.Errorf("UUIDToSlug(%q) accepted", bad)
		}
	}
	g, err := JobGUID("GWxTc8p_RUa5_Xo4RtMiCA", 2)
	if err != nil || g != "196c5373-ca7f-4546-b9fd-7a3846d32208/2" {
		t.Errorf("JobGUID: %q, %v", g, err)
	}
	slug, run, err := TaskAndRetryIDs("196c5373-ca7f-4546-b9fd-7a3846d32208/2")
	if err != nil || slug != "GWxTc8p_RUa5_Xo4RtMiCA" || run != 2 {
		t.Errorf("TaskAndRetryIDs: %q %d %v", slug, run, err)
	}
	for _, bad := range []string{"x", "a/b/c", "196c5373-ca7f-4546-b9fd-7a3846d32208/x", "196c5373/1"} {
		if _, _, err := TaskAndRetryIDs(bad); err == nil {
			t.Errorf("TaskAndRetryIDs(%q) accepted", bad)
		}
	}
}

func TestPyInt(t *testing.T) {
	for in, want := range map[string]int{"0": 0, " 12 ": 12, "+3": 3, "-4": -4, "1_000": 1000} {
		if got, err := pyInt(in); err != nil || got != want {
			t.Errorf("pyInt(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "1.0", "x", "_1", "1_", "1__0", "0x10"} {
		if _, err := pyInt(bad); err == nil {
			t.Errorf("pyInt(%q) accepted", bad)
		}
	}
}

func TestParseRoute(t *testing.T) {
	cases := []struct {
		route string
		want  Route
	}{
		{"tc-treeherder.v2.autoland.b437ae030825a8ea9fa7a632b1fcb9becbe11f69.88560",
			Route{Destination: "tc-treeherder", Project: "autoland", Revision: "b437ae030825a8ea9fa7a632b1fcb9becbe11f69", ID: 88560, Origin: OriginHg}},
		{"tc-treeherder.v2.try.abc",
			Route{Destination: "tc-treeherder", Project: "try", Revision: "abc", Origin: OriginHg}},
		{"tc-treeherder.v2.mozilla-mobile/fenix.abc.17",
			Route{Destination: "tc-treeherder", Project: "fenix", Owner: "mozilla-mobile", Revision: "abc", ID: 17, Origin: OriginGitHub}},
		// Six segments: Treeherder reads the id only from exactly five.
		{"tc-treeherder.v2.try.abc.5.6", Route{Destination: "tc-treeherder", Project: "try", Revision: "abc", Origin: OriginHg}},
		// An empty fifth segment is id 0.
		{"tc-treeherder.v2.try.abc.", Route{Destination: "tc-treeherder", Project: "try", Revision: "abc", Origin: OriginHg}},
		// "owner/" is not a GitHub route: project "" and origin hg.
		{"tc-treeherder.v2.owner/.abc", Route{Destination: "tc-treeherder", Project: "", Revision: "abc", Origin: OriginHg}},
		// Three slashes: the whole thing is the project.
		{"tc-treeherder.v2.a/b/c.abc", Route{Destination: "tc-treeherder", Project: "a/b/c", Revision: "abc", Origin: OriginHg}},
	}
	for _, tc := range cases {
		got, err := ParseRoute(tc.route)
		if err != nil || got != tc.want {
			t.Errorf("ParseRoute(%q) = %+v, %v; want %+v", tc.route, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "tc-treeherder", "tc-treeherder.v2.try", "tc-treeherder.v2.try.abc.x"} {
		if _, err := ParseRoute(bad); err == nil {
			t.Errorf("ParseRoute(%q) accepted", bad)
		}
	}
}

func TestFindRoute(t *testing.T) {
	r, err := FindRoute([]string{"index.x", "tc-treeherder.v2.try.abc", "coalesce.v1.try.x"})
	if err != nil || r.Project != "try" {
		t.Errorf("one route: %+v %v", r, err)
	}
	for _, routes := range [][]string{nil, {"index.x"}, {"tc-treeherder.v2.a.b", "tc-treeherder.v1.a.b"}, {"tc-treeherder-staging.v2.a.b"}} {
		if _, err := FindRoute(routes); !errors.Is(err, ErrNoRoute) || !IsSkip(err) {
			t.Errorf("%v: %v", routes, err)
		}
	}
	if _, err := FindRoute([]string{"tc-treeherder.v2"}); !errors.Is(err, ErrSchema) {
		t.Errorf("malformed route: %v", err)
	}
}
