package pluginhost

import (
	"context"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// hclogHandler is a slog.Handler writing to an hclog.Logger: the host logs
// with hclog, the plugin wire code (sdk/pluginrpc) with log/slog.
type hclogHandler struct {
	l hclog.Logger
}

func slogFor(l hclog.Logger) *slog.Logger { return slog.New(&hclogHandler{l: l}) }

func (h *hclogHandler) Enabled(_ context.Context, lvl slog.Level) bool {
	switch {
	case lvl < slog.LevelDebug:
		return h.l.IsTrace()
	case lvl < slog.LevelInfo:
		return h.l.IsDebug()
	case lvl < slog.LevelWarn:
		return h.l.IsInfo()
	case lvl < slog.LevelError:
		return h.l.IsWarn()
	}
	return h.l.IsError()
}

func (h *hclogHandler) Handle(_ context.Context, r slog.Record) error {
	args := make([]any, 0, 2*r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		args = append(args, a.Key, a.Value.Resolve().Any())
		return true
	})
	switch {
	case r.Level < slog.LevelDebug:
		h.l.Trace(r.Message, args...)
	case r.Level < slog.LevelInfo:
		h.l.Debug(r.Message, args...)
	case r.Level < slog.LevelWarn:
		h.l.Info(r.Message, args...)
	case r.Level < slog.LevelError:
		h.l.Warn(r.Message, args...)
	default:
		h.l.Error(r.Message, args...)
	}
	return nil
}

func (h *hclogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	args := make([]any, 0, 2*len(attrs))
	for _, a := range attrs {
		args = append(args, a.Key, a.Value.Resolve().Any())
	}
	return &hclogHandler{l: h.l.With(args...)}
}

func (h *hclogHandler) WithGroup(name string) slog.Handler {
	return &hclogHandler{l: h.l.Named(name)}
}
