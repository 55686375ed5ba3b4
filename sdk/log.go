package sdk

import (
	"log/slog"
	"os"
	"strings"
	"sync"
)

// origStderr is the process's real stderr, captured before plugin.Serve
// redirects os.Stderr into go-plugin's stdio stream: the host reads log lines
// from the real stderr and forwards them into its own log under the plugin's
// name.
var origStderr = os.Stderr

var (
	loggerOnce sync.Once
	logger     *slog.Logger
)

// Logger returns the plugin's logger. It writes go-hclog's JSON line format
// (@timestamp, @level, @message and the attributes) to stderr, which the host
// parses and re-logs under the plugin instance's name, at the level the host
// passes in HERDER_PLUGIN_LOG_LEVEL.
func Logger() *slog.Logger {
	loggerOnce.Do(func() {
		logger = slog.New(slog.NewJSONHandler(origStderr, &slog.HandlerOptions{
			Level:       slogLevel(envLogLevel()),
			ReplaceAttr: hclogKeys,
		}))
	})
	return logger
}

func envLogLevel() string {
	if l := os.Getenv(EnvLogLevel); l != "" {
		return l
	}
	return "info"
}

// levelTrace is below slog's Debug, for hclog's trace level.
const levelTrace = slog.LevelDebug - 4

func slogLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "trace":
		return levelTrace
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// hclogKeys renames slog's built-in keys to the ones go-hclog's JSON format
// uses, which is what go-plugin hosts parse.
func hclogKeys(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
	case slog.LevelKey:
		lvl, _ := a.Value.Any().(slog.Level)
		name := "info"
		switch {
		case lvl < slog.LevelDebug:
			name = "trace"
		case lvl < slog.LevelInfo:
			name = "debug"
		case lvl < slog.LevelWarn:
			name = "info"
		case lvl < slog.LevelError:
			name = "warn"
		default:
			name = "error"
		}
		return slog.String("@level", name)
	case slog.MessageKey:
		return slog.String("@message", a.Value.String())
	}
	return a
}
