package config

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// Each case marks the line the diagnostic must point at with "# <-".
var badInputs = []struct {
	name    string
	src     string
	summary string // substring of the expected diagnostic's summary
}{
	{"unknown top-level attribute", `
colour = "blue" # <-
`, "Unsupported argument"},
	{"unknown attribute in a block", `
server {
  listen = "127.0.0.1:9000"
  port   = 9000 # <-
}
`, "Unsupported argument"},
	{"unknown block", `
database { # <-
}
`, "Unsupported block type"},
	{"bad driver", `
storage {
  driver = "postgres" # <-
}
`, "Invalid value"},
	{"mysql without dsn", `
storage {
  driver = "mysql" # <-
}
`, "Missing dsn"},
	{"mysql dsn without database", `
storage {
  driver = "mysql"
  dsn    = "root:hunter2@tcp(db:3306)" # <-
}
`, "Invalid dsn"},
	{"bad duration", `
server {
  shutdown_timeout = "15 seconds" # <-
}
`, "Invalid duration"},
	{"wrong type", `
plugin "p" {}
processor "x" {
  plugin      = "p"
  concurrency = "many" # <-
}
`, "Incorrect attribute value type"},
	{"unknown plugin reference", `
plugin "logparser" {}
processor "bugs" {
  plugin = "bugmatcher" # <-
}
`, "Unknown plugin"},
	{"unknown plugin reference from a source", `
source "pulse" {
  plugin = "pulse" # <-
  config {}
}
`, "Unknown plugin"},
	{"bad sha256", `
plugin "p" {
  sha256 = "ABCDEF" # <-
}
`, "Invalid sha256"},
	{"uppercase sha256", `
plugin "p" {
  sha256 = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855" # <-
}
`, "Invalid sha256"},
	{"bad cron", `
schedule "cycle_data" {
  cron = "every night" # <-
}
`, "Invalid cron spec"},
	{"cron with six fields", `
schedule "cycle_data" {
  cron = "0 0 3 * * *" # <-
}
`, "Invalid cron spec"},
	{"missing env var", `
storage {
  driver = "mysql"
  dsn    = env("HERDER_TEST_SURELY_UNSET") # <-
}
`, "Error in function call"},
	{"bad branch wildcard", `
repository "r" {
  group     = "other"
  dvcs_type = "git"
  url       = "https://github.com/o/r"
  branches  = [
    "main",
    "release-*-beta", # <-
  ]
}
`, "Invalid branch wildcard"},
	{"wildcard in the middle", `
repository "r" {
  group     = "other"
  dvcs_type = "git"
  url       = "https://github.com/o/r"
  branches  = ["*/main"] # <-
}
`, "Invalid branch wildcard"},
	{"duplicate plugin", `
plugin "p" {}
plugin "p" {} # <-
`, "Duplicate plugin block"},
	{"duplicate repository", `
repository "r" {
  group     = "other"
  dvcs_type = "hg"
  url       = "https://hg.example.org/r"
}
repository "r" { # <-
  group     = "other"
  dvcs_type = "hg"
  url       = "https://hg.example.org/r2"
}
`, "Duplicate repository block"},
	{"duplicate schedule", `
schedule "cycle_data" { cron = "@daily" }
schedule "cycle_data" { cron = "@hourly" } # <-
`, "Duplicate schedule block"},
	{"duplicate singleton block", `
log { level = "info" }
log { level = "debug" } # <-
`, "Duplicate log block"},
	{"duplicate attribute", `
data_dir = "a"
data_dir = "b" # <-
`, "Attribute redefined"},
	{"unknown repository group", `
repository "r" {
  group     = "nightly-builds" # <-
  dvcs_type = "git"
  url       = "https://github.com/o/r"
}
`, "Unknown repository group"},
	{"bad dvcs type", `
repository "r" {
  group     = "other"
  dvcs_type = "svn" # <-
  url       = "https://svn.example.org/r"
}
`, "Invalid value"},
	{"missing required attribute", `
repository "r" { # <-
  group = "other"
  url   = "https://github.com/o/r"
}
`, "Missing required argument"},
	{"bad queue scheme", `
queue {
  url = "http://guest:hunter2@mq:15672/" # <-
}
`, "Invalid queue url"},
	{"bad queue prefix", `
queue {
  url    = "amqp://mq/herder"
  prefix = "has space" # <-
}
`, "Invalid queue prefix"},
	{"zero drain timeout", `
queue {
  url           = "amqp://mq/herder"
  drain_timeout = "0s" # <-
}
`, "Invalid duration"},
	{"delivery limit out of range", `
queue {
  url            = "amqp://mq/herder"
  delivery_limit = 0 # <-
}
`, "Number out of range"},
	{"bad log level", `
log {
  level = "verbose" # <-
}
`, "Invalid value"},
	{"bad listen address", `
server {
  listen = "8080" # <-
}
`, "Invalid listen address"},
	{"duplicate repository id", `
repository_group "g" { id = 5 }
repository_group "h" {
  id = 5 # <-
}
`, "Duplicate repository_group id"},
	{"bad repository name", `
repository "has space" { # <-
  group     = "other"
  dvcs_type = "git"
  url       = "https://github.com/o/r"
}
`, "Invalid repository name"},
	{"nested block in plugin config", `
plugin "p" {}
source "s" {
  plugin = "p"
  config {
    tls { # <-
      verify = true
    }
  }
}
`, "Unexpected \"tls\" block"},
	{"syntax error", `
server {
  listen = # <-
}
`, ""},
}

func markedLine(src string) int {
	for i, line := range strings.Split(src, "\n") {
		if strings.Contains(line, "# <-") {
			return i + 1
		}
	}
	return 0
}

func TestBadInput(t *testing.T) {
	unsetenv(t, "HERDER_TEST_SURELY_UNSET")
	for _, tc := range badInputs {
		t.Run(tc.name, func(t *testing.T) {
			const filename = "/conf/bad.hcl"
			cfg, diags := Parse([]byte(tc.src), filename)
			if !diags.HasErrors() {
				t.Fatalf("no error diagnostic for:\n%s", tc.src)
			}
			if cfg != nil {
				t.Error("Parse returned a config along with errors")
			}
			want := markedLine(tc.src)
			var found bool
			for _, d := range diags {
				if d.Severity == hcl.DiagError && d.Subject != nil && strings.Contains(d.Summary, tc.summary) &&
					d.Subject.Filename == filename && d.Subject.Start.Line == want {
					found = true
				}
			}
			if !found {
				var b bytes.Buffer
				_ = WriteDiagnostics(&b, map[string]*hcl.File{filename: {Bytes: []byte(tc.src)}}, diags)
				t.Errorf("want a %q diagnostic on %s:%d, got:\n%s", tc.summary, filename, want, b.String())
			}
		})
	}
}

// Secrets reach the config through dsn, queue url and env(); a diagnostic
// about them must not print what they hold.
func TestDiagnosticsHideSecrets(t *testing.T) {
	t.Setenv("HERDER_TEST_DSN", "root:s3cretpw@tcp(db:3306)")
	t.Setenv("HERDER_TEST_AMQP", "http://guest:s3cretpw@mq/")
	src := `
storage {
  driver = "mysql"
  dsn    = env("HERDER_TEST_DSN")
}
queue {
  url = env("HERDER_TEST_AMQP")
}
plugin "p" {}
source "s" {
  plugin = "p"
  config {
    bad = env("HERDER_TEST_DSN") + 1
  }
}
`
	_, diags := Parse([]byte(src), "secret.hcl")
	if len(diags.Errs()) < 3 {
		t.Fatalf("want diagnostics for dsn, url and the config, got %v", diags)
	}
	var b bytes.Buffer
	_ = WriteDiagnostics(&b, map[string]*hcl.File{"secret.hcl": {Bytes: []byte(src)}}, diags)
	if strings.Contains(b.String(), "s3cretpw") || strings.Contains(fmt.Sprint(diags), "s3cretpw") {
		t.Errorf("a secret leaked into diagnostics:\n%s", b.String())
	}
}

func TestWriteDiagnostics(t *testing.T) {
	src := "server {\n  listen = \"127.0.0.1:8080\"\n  shutdown_timeout = \"soon\"\n}\n"
	_, diags := Parse([]byte(src), "w.hcl")
	var b bytes.Buffer
	if err := WriteDiagnostics(&b, map[string]*hcl.File{"w.hcl": {Bytes: []byte(src)}}, diags); err != nil {
		t.Fatal(err)
	}
	want := "w.hcl:3:22: error: Invalid duration\n" +
		"    Attribute \"shutdown_timeout\" must be a Go duration such as \"15s\" or \"2m30s\".\n" +
		"    3 |   shutdown_timeout = \"soon\"\n" +
		"      |                      ^^^^^^\n\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestWriteDiagnosticsReadsFiles(t *testing.T) {
	path := t.TempDir() + "/c.hcl"
	src := "log {\n  format = \"xml\"\n}\n"
	if err := writeFile(path, src); err != nil {
		t.Fatal(err)
	}
	_, diags := Load(path)
	var b bytes.Buffer
	_ = WriteDiagnostics(&b, nil, diags)
	if !strings.Contains(b.String(), path+":2:12: error:") || !strings.Contains(b.String(), `format = "xml"`) {
		t.Errorf("output:\n%s", b.String())
	}
	_, diags = Load(t.TempDir() + "/missing.hcl")
	b.Reset()
	_ = WriteDiagnostics(&b, nil, diags)
	if !diags.HasErrors() || !strings.Contains(b.String(), "missing.hcl") {
		t.Errorf("missing file: %s", b.String())
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range badInputs {
		f.Add([]byte(tc.src))
	}
	f.Add(defaultSrc)
	f.Add(seedSrc[:2000])
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, diags := Parse(src, "fuzz.hcl")
		if diags.HasErrors() != (cfg == nil) {
			t.Fatalf("config %v with errors %v", cfg != nil, diags.HasErrors())
		}
		var b bytes.Buffer
		_ = WriteDiagnostics(&b, map[string]*hcl.File{"fuzz.hcl": {Bytes: src}}, diags)
		if cfg != nil {
			if _, err := cfg.RedactedJSON(); err != nil {
				t.Fatalf("RedactedJSON: %v", err)
			}
		}
	})
}
