package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCaptured runs the CLI with the given args, capturing what the commands
// print (run itself also writes its final error line to the real stderr).
func runCaptured(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	t.Cleanup(func() {
		rootCmd.SetOut(nil)
		rootCmd.SetErr(nil)
	})
	code = run(args)
	return code, out.String(), errOut.String()
}

func writeConfig(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "herder.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigValidateInvalid(t *testing.T) {
	path := writeConfig(t, "storage {\n  driver = \"postgres\"\n}\n")
	code, stdout, stderr := runCaptured(t, "config", "validate", path)
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if !strings.Contains(stderr, path+":2:12: error: Invalid value") {
		t.Errorf("stderr lacks file:line:col diagnostic:\n%s", stderr)
	}
	if strings.Contains(stdout, "valid") {
		t.Errorf("stdout = %q", stdout)
	}
}

func TestConfigValidateMissingFile(t *testing.T) {
	code, _, _ := runCaptured(t, "config", "validate", filepath.Join(t.TempDir(), "nope.hcl"))
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
}

func TestConfigValidateValid(t *testing.T) {
	path := writeConfig(t, "log {\n  level = \"debug\"\n}\n")
	code, stdout, stderr := runCaptured(t, "config", "validate", path)
	if code != 0 || stdout != path+": valid\n" || stderr != "" {
		t.Errorf("code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestConfigValidateExample(t *testing.T) {
	t.Setenv("HERDER_MYSQL_DSN", "herder:pw@tcp(db:3306)/herder")
	t.Setenv("HERDER_AMQP_URL", "amqps://herder:pw@mq:5671/herder")
	t.Setenv("HERDER_PULSE_URL", "amqps://u:pw@pulse.mozilla.org:5671")
	code, stdout, stderr := runCaptured(t, "config", "validate", "../../examples/herder.hcl")
	if code != 0 {
		t.Errorf("example: exit code %d\n%s", code, stderr)
	}
	if !strings.HasSuffix(stdout, ": valid\n") {
		t.Errorf("stdout = %q", stdout)
	}
}

func TestConfigShowRedacts(t *testing.T) {
	t.Setenv("HERDER_TEST_DSN", "herder:hunter2@tcp(db:3306)/herder")
	path := writeConfig(t, `
storage {
  driver = "mysql"
  dsn    = env("HERDER_TEST_DSN")
}
queue { url = "amqp://guest:hunter2@localhost:5672/" }
`)
	dataDir := t.TempDir()
	t.Cleanup(func() { global = globalFlags{} })
	code, stdout, stderr := runCaptured(t, "--config", path, "--data-dir", dataDir, "--log-level", "warn", "config", "show")
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "hunter2") {
		t.Errorf("secret printed:\n%s", stdout)
	}
	for _, want := range []string{`"dsn": "herder:REDACTED@tcp(db:3306)/herder"`, `"url": "amqp://guest:REDACTED@localhost:5672/"`,
		`"level": "warn"`, `"data_dir": "` + dataDir + `"`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %s:\n%s", want, stdout)
		}
	}
}

func TestLoadConfigBadLogLevel(t *testing.T) {
	t.Cleanup(func() { global = globalFlags{} })
	code, _, _ := runCaptured(t, "--log-level", "loud", "config", "show")
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
}
