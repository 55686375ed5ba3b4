package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herder-ci/herder/core/pluginhost"
	"github.com/herder-ci/herder/sdk/plugintest"
)

// runPlugins runs the CLI and captures what the command printed.
func runPlugins(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	defer func() {
		rootCmd.SetOut(nil)
		rootCmd.SetErr(nil)
	}()
	code = run(args)
	return code, out.String(), errOut.String()
}

// TestPluginsLifecycle installs a real plugin binary, lists, verifies,
// tampers with, re-locks and removes it through the CLI.
func TestPluginsLifecycle(t *testing.T) {
	bin := plugintest.Build(t, "github.com/herder-ci/herder/sdk/plugintest/internal/testplugins/source")
	root := t.TempDir()
	pluginDir := filepath.Join(root, "plugins")
	cfgPath := filepath.Join(root, "herder.hcl")
	os.WriteFile(cfgPath, []byte(`plugin_dir = "plugins"`+"\n"), 0o600)
	cli := func(args ...string) (int, string, string) {
		return runPlugins(t, append([]string{"--config", cfgPath}, args...)...)
	}

	t.Run("install", func(t *testing.T) {
		code, out, errOut := cli("plugins", "install", bin, "--name", "jobs")
		if code != 0 {
			t.Fatalf("install: exit %d: %s%s", code, out, errOut)
		}
		if !strings.Contains(out, "installed jobs: source 1.0.0 (protocol 1)") {
			t.Errorf("install output: %q", out)
		}
		want, _ := pluginhost.FileSHA256(bin)
		lf, err := pluginhost.ReadLockFile(pluginDir)
		if err != nil {
			t.Fatal(err)
		}
		e, ok := lf.Get("jobs")
		if !ok || e.SHA256 != want || e.Kind != "source" || e.Version != "1.0.0" || e.Protocol != 1 || e.Path != "jobs" {
			t.Errorf("lock entry = %+v (ok %v)", e, ok)
		}
		if got, _ := pluginhost.FileSHA256(filepath.Join(pluginDir, "jobs")); got != want {
			t.Error("installed copy differs from the source binary")
		}
		// Installing again is idempotent.
		if code, out, errOut := cli("plugins", "install", filepath.Join(pluginDir, "jobs")); code != 0 {
			t.Fatalf("re-install in place: exit %d: %s%s", code, out, errOut)
		}
	})

	t.Run("install refuses a non-plugin", func(t *testing.T) {
		script := filepath.Join(t.TempDir(), "notaplugin")
		os.WriteFile(script, []byte("#!/bin/sh\necho hello\n"), 0o755)
		code, _, _ := cli("plugins", "install", script)
		if code == 0 {
			t.Fatal("installing a shell script succeeded")
		}
		if _, err := os.Stat(filepath.Join(pluginDir, "notaplugin")); err == nil {
			t.Error("the refused binary was left in the plugin dir")
		}
		lf, _ := pluginhost.ReadLockFile(pluginDir)
		if _, ok := lf.Get("notaplugin"); ok {
			t.Error("the refused binary was pinned")
		}
	})

	t.Run("list json", func(t *testing.T) {
		code, out, _ := cli("plugins", "list", "--json")
		if code != 0 {
			t.Fatalf("list: exit %d", code)
		}
		var rows []pluginRow
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("list --json: %v\n%s", err, out)
		}
		if len(rows) != 1 || rows[0].Name != "jobs" || rows[0].Verified != "ok" || rows[0].Kind != "source" || rows[0].Version != "1.0.0" {
			t.Errorf("rows = %+v", rows)
		}
		// The table form, and flags do not leak into the next run.
		code, out, _ = cli("plugins", "list")
		if code != 0 || !strings.HasPrefix(out, "NAME") || !strings.Contains(out, "jobs") || !strings.Contains(out, " ok ") {
			t.Errorf("list table: exit %d\n%s", code, out)
		}
	})

	t.Run("verify", func(t *testing.T) {
		if code, out, _ := cli("plugins", "verify"); code != 0 || !strings.Contains(out, "ok        jobs") {
			t.Fatalf("verify: exit %d\n%s", code, out)
		}
		f, _ := os.OpenFile(filepath.Join(pluginDir, "jobs"), os.O_APPEND|os.O_WRONLY, 0)
		f.Write([]byte("x"))
		f.Close()
		code, out, _ := cli("plugins", "verify")
		if code != 1 || !strings.Contains(out, "MISMATCH  jobs") {
			t.Errorf("verify after tampering: exit %d\n%s", code, out)
		}
		code, out, _ = cli("plugins", "list", "--json")
		var rows []pluginRow
		json.Unmarshal([]byte(out), &rows)
		if code != 0 || len(rows) != 1 || rows[0].Verified != "mismatch" {
			t.Errorf("list after tampering: %s", out)
		}
	})

	t.Run("lock", func(t *testing.T) {
		// The tampered file still is a plugin: lock re-pins what is there.
		if code, out, errOut := cli("plugins", "lock"); code != 0 || !strings.Contains(out, "locked jobs") {
			t.Fatalf("lock: exit %d: %s%s", code, out, errOut)
		}
		if code, out, _ := cli("plugins", "verify"); code != 0 {
			t.Errorf("verify after lock: exit %d\n%s", code, out)
		}
		if code, _, _ := cli("plugins", "lock", bin); code != 2 {
			t.Errorf("lock of a file outside the plugin dir: exit %d, want 2", code)
		}
	})

	t.Run("remove", func(t *testing.T) {
		if code, out, _ := cli("plugins", "remove", "jobs"); code != 0 || out != "removed jobs\n" {
			t.Fatalf("remove: exit %d %q", code, out)
		}
		if _, err := os.Stat(filepath.Join(pluginDir, "jobs")); err == nil {
			t.Error("binary still there")
		}
		if code, _, _ := cli("plugins", "remove", "jobs"); code != 1 {
			t.Errorf("removing again: exit %d, want 1", code)
		}
		if code, out, _ := cli("plugins", "list", "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
			t.Errorf("list after remove: %q", out)
		}
	})

	t.Run("verify missing pinned binary", func(t *testing.T) {
		os.WriteFile(cfgPath, []byte(`plugin_dir = "plugins"
plugin "ghost" {
  sha256 = "`+strings.Repeat("ab", 32)+`"
}
`), 0o600)
		code, out, _ := cli("plugins", "verify")
		if code != 1 || !strings.Contains(out, "MISSING   ghost") {
			t.Errorf("verify with a missing binary: exit %d\n%s", code, out)
		}
	})
}

func TestPluginsStatusAndReloadCallTheAdminAPI(t *testing.T) {
	var gotAuth, gotPath, gotMethod string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotPath, gotMethod = r.Header.Get("Authorization"), r.URL.Path, r.Method
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/admin/plugins/":
			json.NewEncoder(w).Encode([]pluginhost.PluginStatus{
				{Name: "pulse", Kind: "source", State: "running", PID: 42, UptimeSeconds: 90, Events: 1000, EventsPerSecond: 12.5},
				{Name: "logparser", Kind: "processor", State: "quarantined", Restarts: 4, LastError: "plugin crashed", LastErrorKind: "crash"},
			})
		case r.Method == http.MethodPost && r.URL.Path == "/api/admin/plugins/pulse/reload/":
			json.NewEncoder(w).Encode([]pluginhost.PluginStatus{{Name: "pulse", State: "running", PID: 43, Version: "2.0.0"}})
		case r.URL.Path == "/api/admin/plugins/nope/reload/":
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"detail": "unknown plugin"}`))
		default:
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	defer srv.Close()
	t.Setenv("HERDER_TOKEN", "s3cret")

	code, out, _ := runPlugins(t, "plugins", "status", "--server", srv.URL)
	if code != 0 || gotAuth != "Bearer s3cret" || gotMethod != http.MethodGet {
		t.Fatalf("status: exit %d, auth %q\n%s", code, gotAuth, out)
	}
	for _, want := range []string{"pulse", "running", "42", "1m30s", "12.5 ev/s", "quarantined", "[crash] plugin crashed"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runPlugins(t, "plugins", "status", "--json", "--server", srv.URL)
	var sts []pluginhost.PluginStatus
	if code != 0 || json.Unmarshal([]byte(out), &sts) != nil || len(sts) != 2 {
		t.Errorf("status --json: exit %d\n%s", code, out)
	}
	code, out, _ = runPlugins(t, "plugins", "reload", "pulse", "--server", srv.URL)
	if code != 0 || gotPath != "/api/admin/plugins/pulse/reload/" || gotMethod != http.MethodPost || !strings.Contains(out, "pid 43, version 2.0.0") {
		t.Errorf("reload: exit %d, %s %s\n%s", code, gotMethod, gotPath, out)
	}
	if code, _, _ := runPlugins(t, "plugins", "reload", "nope", "--server", srv.URL); code != 1 {
		t.Errorf("reload of an unknown plugin: exit %d, want 1", code)
	}
	if code, _, _ := runPlugins(t, "plugins", "status", "--server", "ftp://x"); code != 2 {
		t.Errorf("bad --server: exit %d, want 2", code)
	}
}
