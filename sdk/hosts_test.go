package sdk

import (
	"net/url"
	"testing"
)

func TestHostAllowed(t *testing.T) {
	patterns := []string{"hg.mozilla.org", "*.taskcluster-artifacts.net", "127.0.0.1:8080"}
	cases := map[string]bool{
		"https://hg.mozilla.org/x":                  true,
		"https://HG.mozilla.org./x":                 true,
		"https://evil.hg.mozilla.org/x":             false,
		"https://a.b.taskcluster-artifacts.net/log": true,
		"https://taskcluster-artifacts.net/log":     false,
		"http://127.0.0.1:8080/demo/logs/a.log":     true,
		"http://127.0.0.1:9090/demo/logs/a.log":     false,
		"http://127.0.0.1/demo/logs/a.log":          false,
		"ftp://hg.mozilla.org/x":                    false,
		"https://hg.mozilla.org.evil.example/x":     false,
		"file:///etc/passwd":                        false,
	}
	for raw, want := range cases {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := HostAllowed(patterns, u); got != want {
			t.Errorf("HostAllowed(%s) = %v, want %v", raw, got, want)
		}
	}
	u, _ := url.Parse("https://anything.example/")
	if !HostAllowed([]string{"*"}, u) || HostAllowed(nil, u) {
		t.Error(`"*" allows everything and no pattern allows nothing`)
	}
	u, _ = url.Parse("https://hg.mozilla.org/x")
	if !HostAllowed([]string{"hg.mozilla.org:443"}, u) {
		t.Error("a pattern with the scheme's default port must match a URL without one")
	}
}
