package pluginrpc

import "errors"

// Named failures of starting or calling a plugin. Hosts match them with
// errors.Is; every error returned here wraps one of them when it applies and
// names the plugin and binary.
var (
	// ErrChecksumMismatch: the binary's SHA-256 is not the pinned one.
	ErrChecksumMismatch = errors.New("plugin checksum mismatch")
	// ErrProtocolVersion: the plugin speaks another app or core protocol
	// version (or net/rpc instead of gRPC).
	ErrProtocolVersion = errors.New("plugin protocol version mismatch")
	// ErrNotPlugin: the binary exited or answered without completing
	// go-plugin's handshake, or does not serve herder's services.
	ErrNotPlugin = errors.New("not a herder plugin")
	// ErrStdoutGarbage: the plugin wrote something other than the handshake
	// line to stdout. Before the handshake it is fatal (and also ErrNotPlugin);
	// after it the host logs and counts it.
	ErrStdoutGarbage = errors.New("garbage on plugin stdout")
	// ErrStartTimeout: the plugin did not complete its handshake in time.
	ErrStartTimeout = errors.New("plugin start timeout")
	// ErrCallTimeout: a call to the plugin did not return in time.
	ErrCallTimeout = errors.New("plugin call timeout")
	// ErrWrongKind: the binary is a source where a processor was expected, or
	// the other way round.
	ErrWrongKind = errors.New("wrong plugin kind")
	// ErrConfig: the plugin refused its settings.
	ErrConfig = errors.New("plugin refused its configuration")
	// ErrPermanent: the processor marked a task failure as permanent
	// (sdk.Permanent); retrying the task cannot succeed.
	ErrPermanent = errors.New("permanent task failure")
	// ErrPluginExited: the plugin process went away during a call.
	ErrPluginExited = errors.New("plugin process exited")
)
