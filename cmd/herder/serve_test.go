package main

import (
	"bytes"
	"context"
	"encoding/json"

	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func captureLogs(t *testing.T) *syncBuffer {
	buf := &syncBuffer{}
	old := logOutput
	logOutput = buf
	t.Cleanup(func() { logOutput = old })
	return buf
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `herder serve` in the background and returns its base URL
// and a function that stops it and returns the exit code.
func startServe(t *testing.T, args ...string) (string, func() int) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- runContext(ctx, append(append([]string{}, args...), "serve", "--listen", addr)) }()
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d before answering", code)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var once sync.Once
	code := -1
	stop := func() int {
		once.Do(func() {
			cancel()
			code = <-done
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return base, stop
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v: %s", url, err, body)
		}
	}
	return resp.StatusCode
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for getJSON(t, base+"/readyz", nil) != 200 {
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDemoThenServeOnTheEmbeddedDefault(t *testing.T) {
	captureLogs(t)
	dir := t.TempDir()
	if code := run([]string{"demo", "--data-dir", dir}); code != 0 {
		t.Fatalf("demo exited %d", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "herder.db")); err != nil {
		t.Fatalf("demo did not create the embedded database: %v", err)
	}
	base, stop := startServe(t, "--data-dir", dir)
	waitReady(t, base)
	var repos []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	if code := getJSON(t, base+"/api/repository/", &repos); code != 200 {
		t.Fatalf("repository list: %d", code)
	}
	ids := map[string]int64{}
	for _, r := range repos {
		ids[r.Name] = r.ID
	}
	if ids["mozilla-central"] != 1 || ids["try"] != 4 || ids["autoland"] != 77 {
		t.Fatalf("repositories served: %v", ids)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d on shutdown", code)
	}
}

func TestServeWaitsForAnUnreachableDatabase(t *testing.T) {
	logs := captureLogs(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "herder.hcl")
	// Port 1 on loopback refuses connections at once.
	src := `storage {
  driver = "mysql"
  dsn    = "herder:s3cret-password@tcp(127.0.0.1:1)/herder"
}
`
	if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	base, stop := startServe(t, "--config", cfg)
	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	if code := getJSON(t, base+"/readyz", &ready); code != 503 || ready.Ready {
		t.Fatalf("readyz with no database = %d %+v", code, ready)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "database not ready") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	out := logs.String()
	if !strings.Contains(out, "127.0.0.1:1") {
		t.Fatalf("the log must name the database address:\n%s", out)
	}
	if strings.Contains(out, "s3cret-password") {
		t.Fatalf("the log leaked the password:\n%s", out)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
}

func TestMigrateAndLoadFixtures(t *testing.T) {
	captureLogs(t)
	dir := t.TempDir()
	for _, args := range [][]string{{"migrate"}, {"migrate"}, {"load-fixtures"}} {
		if code := run(append(args, "--data-dir", dir)); code != 0 {
			t.Fatalf("%v exited %d", args, code)
		}
	}
}

func TestBadFlagIsUsageError(t *testing.T) {
	if code := run([]string{"serve", "--no-such-flag"}); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	if code := run([]string{"serve", "--config", filepath.Join(t.TempDir(), "missing.hcl")}); code != 2 {
		t.Fatalf("missing config: exit code %d, want 2", code)
	}
}
