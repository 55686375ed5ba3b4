package config

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

func TestRedactMySQLDSN(t *testing.T) {
	for in, want := range map[string]string{
		"herder:pw@tcp(db:3306)/herder?parseTime=true":      "herder:REDACTED@tcp(db:3306)/herder?parseTime=true",
		"herder:p@ss:w/rd@tcp(db:3306)/herder":              "herder:REDACTED@tcp(db:3306)/herder",
		"herder@tcp(db:3306)/herder":                        "herder@tcp(db:3306)/herder",
		"/herder":                                           "/herder",
		"garbage":                                           "REDACTED",
		"mysql://herder:pw@db:3306/herder":                  "mysql://herder:REDACTED@db:3306/herder",
		"u:pw@unix(/var/run/mysqld/mysqld.sock)/herder?x=1": "u:REDACTED@unix(/var/run/mysqld/mysqld.sock)/herder?x=1",
	} {
		if got := RedactMySQLDSN(in); got != want {
			t.Errorf("RedactMySQLDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactedJSON(t *testing.T) {
	t.Setenv("HERDER_TEST_DSN", "herder:topsecret@tcp(db:3306)/herder")
	t.Setenv("HERDER_TEST_AMQP", "amqps://herder:topsecret@mq:5671/herder")
	cfg := mustParse(t, `
storage {
  driver = "mysql"
  dsn    = env("HERDER_TEST_DSN")
}
queue { url = env("HERDER_TEST_AMQP") }
plugin "p" {}
source "s" {
  plugin = "p"
  config {
    pulse_url = "amqps://user:topsecret@pulse.mozilla.org:5671"
    nested    = { client_secret = "topsecret", api_token = 12345, plain = "visible" }
    list      = [{ password = "topsecret" }]
    empty_key = { api_key = "" }
  }
}
`)
	js, err := cfg.RedactedJSON()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "topsecret") || strings.Contains(string(js), "12345") {
		t.Errorf("secret in config show output:\n%s", js)
	}
	var out struct {
		Storage struct{ DSN string }
		Queue   struct{ URL string }
		Sources []struct {
			Config struct {
				PulseURL string `json:"pulse_url"`
				Nested   map[string]any
			}
		}
	}
	if err := json.Unmarshal(js, &out); err != nil {
		t.Fatal(err)
	}
	if out.Storage.DSN != "herder:REDACTED@tcp(db:3306)/herder" || out.Queue.URL != "amqps://herder:REDACTED@mq:5671/herder" {
		t.Errorf("storage/queue = %q, %q", out.Storage.DSN, out.Queue.URL)
	}
	if out.Sources[0].Config.PulseURL != "amqps://user:REDACTED@pulse.mozilla.org:5671" || out.Sources[0].Config.Nested["plain"] != "visible" {
		t.Errorf("plugin config = %+v", out.Sources[0].Config)
	}
	// The config itself keeps the real values for the store and queue.
	if !strings.Contains(cfg.Storage.DSN, "topsecret") {
		t.Error("RedactedJSON modified the config")
	}
}
