package pluginrpc

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLineWriterSplitsAndCutsLines(t *testing.T) {
	var lines []string
	w := &lineWriter{emit: func(b []byte) { lines = append(lines, string(b)) }}
	w.Write([]byte("one\ntw"))
	w.Write([]byte("o\r\nthree"))
	w.Write([]byte("\n"))
	w.Write([]byte(strings.Repeat("x", maxLogLine+10) + "\n"))
	if len(lines) != 4 || lines[0] != "one" || lines[1] != "two" || lines[2] != "three" {
		t.Fatalf("lines = %q", lines[:min(3, len(lines))])
	}
	if len(lines[3]) != maxLogLine+len(" [line cut]") || !strings.HasSuffix(lines[3], "[line cut]") {
		t.Errorf("long line: %d bytes", len(lines[3]))
	}
}

func TestForwardLogKeepsLevelsAndSurvivesBadJSON(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	inPanic := false
	for _, line := range []string{
		`{"@level":"warn","@message":"lease failed","@timestamp":"2024-01-01T00:00:00.000000Z","queue":"jobs"}`,
		`{"@message": 42, "@level": ["x"], "@timestamp": 7}`,
		`{not json`,
		`panic: boom`,
		`goroutine 1 [running]:`,
	} {
		forwardLog(l, []byte(line), &inPanic)
	}
	out := buf.String()
	for _, want := range []string{`level=WARN msg="lease failed" queue=jobs`, `level=INFO msg="{\"@message\": 42, \"@level\": [\"x\"], \"@timestamp\": 7}"`, `msg="{not json"`, `level=ERROR msg="panic: boom"`, `level=ERROR msg="goroutine 1 [running]:"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// FuzzForwardLog: whatever a plugin writes to stderr, the host logs it and
// does not panic (go-plugin's own parser panics on a non-string @message).
func FuzzForwardLog(f *testing.F) {
	f.Add([]byte(`{"@level":"info","@message":"hi","k":1}`))
	f.Add([]byte(`{"@message": 42}`))
	f.Add([]byte(`{"@timestamp": {"a": 1}, "@level": null}`))
	f.Add([]byte("panic: x"))
	l := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, data []byte) {
		inPanic := false
		w := &lineWriter{emit: func(b []byte) { forwardLog(l, b, &inPanic) }}
		w.Write(data)
		w.Write([]byte("\n"))
	})
}
