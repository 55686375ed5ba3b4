package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// TestLoggerWritesHclogJSON checks the plugin logger's lines are what
// go-plugin hosts parse: @level, @message and @timestamp in hclog's format.
func TestLoggerWritesHclogJSON(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slogLevel("debug"), ReplaceAttr: hclogKeys}))
	l.Warn("lease failed", "queue", "jobs", "attempt", 3)
	l.Debug("detail")
	var lines []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	m := lines[0]
	if m["@level"] != "warn" || m["@message"] != "lease failed" || m["queue"] != "jobs" || m["attempt"] != float64(3) {
		t.Errorf("line = %v", m)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", m["@timestamp"].(string)); err != nil {
		t.Errorf("@timestamp: %v", err)
	}
	if lines[1]["@level"] != "debug" {
		t.Errorf("debug line = %v", lines[1])
	}
}
