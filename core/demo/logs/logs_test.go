package logs

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix("", Handler()))
	defer srv.Close()
	want, ok := Read("xpcshell.log")
	if !ok || len(want) == 0 {
		t.Fatal("xpcshell.log is not embedded")
	}
	get := func(path string, gz bool) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		} else {
			req.Header.Set("Accept-Encoding", "identity")
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := get(Prefix+"xpcshell.log", false)
	if resp.StatusCode != 200 || !bytes.Equal(body, want) || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("plain: %d %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	resp, body = get(Prefix+"xpcshell.log", true)
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip not used: %v", resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, want) {
		t.Error("gzip body differs")
	}
	for _, p := range []string{Prefix + "nope.log", Prefix + "../logs.go", Prefix, Prefix + "files%2fxpcshell.log"} {
		if resp, _ := get(p, false); resp.StatusCode != 404 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}

func TestNames(t *testing.T) {
	names := Names()
	if len(names) < 10 {
		t.Fatalf("embedded logs: %v", names)
	}
	for _, n := range names {
		if _, ok := Read(n); !ok {
			t.Errorf("%s listed but not readable", n)
		}
	}
}
