package pluginrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// maxLogLine bounds one forwarded plugin log line; longer lines are cut.
const maxLogLine = 64 << 10

// lineWriter splits what a plugin writes into lines and hands each complete
// line to emit. It never fails, so a misbehaving plugin cannot break the pipe
// readers go-plugin runs.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	cut  bool
	emit func(line []byte)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := maxLogLine - len(w.buf); room > 0 {
			w.buf = append(w.buf, chunk[:min(room, len(chunk))]...)
		}
		if len(chunk) > 0 && len(w.buf) >= maxLogLine {
			w.cut = true
		}
		if i < 0 {
			break
		}
		line := bytes.TrimRight(w.buf, "\r")
		if w.cut {
			line = append(line, " [line cut]"...)
		}
		w.emit(line)
		w.buf = w.buf[:0]
		w.cut = false
		p = p[i+1:]
	}
	return n, nil
}

// tail keeps the last few lines a plugin wrote to stderr, so a plugin that
// dies before its handshake can be reported with what it said.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(line) > 300 {
		line = line[:300] + "..."
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > 8 {
		t.lines = t.lines[len(t.lines)-8:]
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, " | ")
}

// forwardLog re-logs one line of plugin stderr. JSON lines in go-hclog's
// format keep their level, message and attributes; other lines (panics, raw
// prints) are logged as they are. Parsing is defensive: go-plugin's own
// parser panics on a non-string "@message", which would let a plugin take the
// host down, so the host switches it off (see hclogAdapter.GetLevel).
func forwardLog(l *slog.Logger, line []byte, inPanic *bool) {
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	var m map[string]any
	if line[0] == '{' && json.Unmarshal(line, &m) == nil {
		msg, ok := m["@message"].(string)
		if !ok {
			// JSON, but not a log line of ours: keep it verbatim.
			l.Info(string(line))
			return
		}
		lvl, _ := m["@level"].(string)
		delete(m, "@message")
		delete(m, "@level")
		delete(m, "@timestamp")
		delete(m, "@module")
		args := make([]any, 0, 2*len(m))
		for k, v := range m {
			args = append(args, k, v)
		}
		l.Log(context.Background(), slogLevelOf(lvl), msg, args...)
		return
	}
	s := string(line)
	switch {
	case strings.HasPrefix(s, "panic: ") || strings.HasPrefix(s, "fatal error: "):
		*inPanic = true
		l.Error(s)
	case *inPanic:
		l.Error(s)
	default:
		l.Info(s)
	}
}

func slogLevelOf(s string) slog.Level {
	switch strings.ToLower(s) {
	case "trace", "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// hclogAdapter lets go-plugin log its own messages through the host's slog
// logger.
type hclogAdapter struct {
	l    *slog.Logger
	name string
	args []any
}

var _ hclog.Logger = (*hclogAdapter)(nil)

func (a *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	// go-plugin's own messages are bookkeeping ("plugin process exited",
	// "plugin failed to exit gracefully" after a deliberate kill); the host
	// reports what matters itself, so they go one level down.
	lvl := slog.LevelDebug
	if level >= hclog.Warn {
		lvl = slog.LevelInfo
	}
	kv := make([]any, 0, len(a.args)+len(args)+2)
	if a.name != "" {
		kv = append(kv, "go_plugin", a.name)
	}
	kv = append(kv, a.args...)
	for i := 0; i+1 < len(args); i += 2 {
		k := args[i]
		if k == "plugin" {
			k = "binary" // "plugin" already names the instance
		}
		kv = append(kv, k, args[i+1])
	}
	a.l.Log(context.Background(), lvl, msg, kv...)
}
func (a *hclogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *hclogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *hclogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hclogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hclogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }
func (a *hclogAdapter) IsTrace() bool                 { return false }
func (a *hclogAdapter) IsDebug() bool                 { return a.l.Enabled(context.Background(), slog.LevelDebug) }
func (a *hclogAdapter) IsInfo() bool                  { return a.l.Enabled(context.Background(), slog.LevelInfo) }
func (a *hclogAdapter) IsWarn() bool                  { return a.l.Enabled(context.Background(), slog.LevelWarn) }
func (a *hclogAdapter) IsError() bool                 { return a.l.Enabled(context.Background(), slog.LevelError) }
func (a *hclogAdapter) ImpliedArgs() []any            { return a.args }
func (a *hclogAdapter) With(args ...any) hclog.Logger {
	return &hclogAdapter{l: a.l, name: a.name, args: append(append([]any{}, a.args...), args...)}
}
func (a *hclogAdapter) Name() string { return a.name }
func (a *hclogAdapter) Named(name string) hclog.Logger {
	n := name
	if a.name != "" {
		n = a.name + "." + name
	}
	return &hclogAdapter{l: a.l, name: n, args: a.args}
}
func (a *hclogAdapter) ResetNamed(name string) hclog.Logger {
	return &hclogAdapter{l: a.l, name: name, args: a.args}
}
func (a *hclogAdapter) SetLevel(hclog.Level) {}

// GetLevel reports Off so that go-plugin skips its own parsing of plugin
// stderr (which panics on malformed JSON); the host parses stderr itself
// through ClientConfig.Stderr.
func (a *hclogAdapter) GetLevel() hclog.Level { return hclog.Off }
func (a *hclogAdapter) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(nil), "", 0)
}
func (a *hclogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return &lineWriter{emit: func(line []byte) { a.Info(string(line)) }}
}
