package pluginhost

import (
	"errors"

	"github.com/herder-ci/herder/sdk/pluginrpc"
)

// Named errors. Status reports the kind of the last error by these names
// (see ErrorKind), and every error the supervisor returns wraps the matching
// one, so callers can use errors.Is.
var (
	ErrChecksumMismatch = pluginrpc.ErrChecksumMismatch
	ErrProtocolVersion  = pluginrpc.ErrProtocolVersion
	ErrNotPlugin        = pluginrpc.ErrNotPlugin
	ErrStdoutGarbage    = pluginrpc.ErrStdoutGarbage
	ErrStartTimeout     = pluginrpc.ErrStartTimeout
	ErrCallTimeout      = pluginrpc.ErrCallTimeout
	ErrWrongKind        = pluginrpc.ErrWrongKind
	ErrConfig           = pluginrpc.ErrConfig
	ErrPermanent        = pluginrpc.ErrPermanent
	ErrPluginExited     = pluginrpc.ErrPluginExited

	// ErrNoPin: neither the plugin block nor the lock file pins a checksum.
	ErrNoPin = errors.New("plugin has no pinned checksum")
	// ErrUnknownPlugin: no plugin (or instance) of that name is configured.
	ErrUnknownPlugin = errors.New("unknown plugin")
	// ErrQuarantined: the plugin crashed too often and is not restarted until
	// it is reloaded.
	ErrQuarantined = errors.New("plugin quarantined")
	// ErrNotRunning: the plugin is stopped or failed for good (see its last
	// error); reload it after fixing the cause.
	ErrNotRunning = errors.New("plugin not running")
	// ErrHealth: the plugin stopped answering health checks.
	ErrHealth = errors.New("plugin failed its health check")
	// ErrCrashed: the plugin process exited or its run ended on its own.
	ErrCrashed = errors.New("plugin crashed")
)

// errorKinds maps named errors to the short names used in status and
// metrics, most specific first.
var errorKinds = []struct {
	err  error
	kind string
}{
	{ErrChecksumMismatch, "checksum_mismatch"},
	{ErrNoPin, "no_pin"},
	{ErrUnknownPlugin, "unknown_plugin"},
	{ErrProtocolVersion, "protocol_version"},
	{ErrStdoutGarbage, "stdout_garbage"},
	{ErrNotPlugin, "not_plugin"},
	{ErrStartTimeout, "start_timeout"},
	{ErrCallTimeout, "call_timeout"},
	{ErrWrongKind, "wrong_kind"},
	{ErrConfig, "config"},
	{ErrPermanent, "permanent"},
	{ErrHealth, "health"},
	{ErrQuarantined, "quarantined"},
	{ErrPluginExited, "crash"},
	{ErrCrashed, "crash"},
}

// ErrorKind names the kind of a plugin error ("checksum_mismatch",
// "start_timeout", ...), or "error" when it is none of the named ones.
func ErrorKind(err error) string {
	if err == nil {
		return ""
	}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return "error"
}

// permanent reports whether retrying a launch cannot help until the operator
// changes something (and reloads).
func permanent(err error) bool {
	for _, e := range []error{ErrChecksumMismatch, ErrNoPin, ErrUnknownPlugin, ErrProtocolVersion, ErrWrongKind, ErrConfig} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
