package main

import (
	"bytes"
	"strings"
	"testing"
)

// runOut runs a command line and returns its exit code and standard output.
func runOut(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	defer rootCmd.SetOut(nil)
	code := run(args)
	return code, out.String()
}

func TestTokensLifecycle(t *testing.T) {
	captureLogs(t)
	dir := t.TempDir()
	code, tok := runOut(t, "tokens", "create", "--user", "ops@example.com", "--role", "admin", "--data-dir", dir)
	tok = strings.TrimSpace(tok)
	if code != 0 || !strings.HasPrefix(tok, "hdr_") {
		t.Fatalf("create = %d %q", code, tok)
	}
	code, list := runOut(t, "tokens", "list", "--data-dir", dir)
	if code != 0 || !strings.Contains(list, "ops@example.com") || strings.Contains(list, tok) {
		t.Fatalf("list = %d %q (must name the user, never the secret)", code, list)
	}
	if code, _ := runOut(t, "tokens", "revoke", "1", "--data-dir", dir); code != 0 {
		t.Fatalf("revoke exited %d", code)
	}
	if code, _ := runOut(t, "tokens", "revoke", "99", "--data-dir", dir); code != 1 {
		t.Fatalf("revoking a missing token exited %d, want 1", code)
	}
	if code, _ := runOut(t, "tokens", "create", "--user", "x", "--role", "king", "--data-dir", dir); code != 2 {
		t.Fatalf("bad role exited %d, want 2", code)
	}
}
