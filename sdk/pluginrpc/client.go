// Package pluginrpc is the host side of herder's plugin protocol: it starts a
// plugin binary with go-plugin (gRPC, AutoMTLS, versioned handshake), checks
// what it is, and wraps its services. core/pluginhost supervises plugins on
// top of it; sdk/plugintest uses it to run plugins under test. Plugin authors
// do not need it.
package pluginrpc

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/herder-ci/herder/sdk"
	herderv1 "github.com/herder-ci/herder/sdk/proto/herder/v1"
)

// Kind is what a plugin is.
type Kind string

const (
	KindSource    Kind = "source"
	KindProcessor Kind = "processor"
)

// Info is what a started plugin said about itself.
type Info struct {
	Kind       Kind   `json:"kind"`
	Version    string `json:"version"`
	SDKVersion string `json:"sdk_version"`
	Protocol   int    `json:"protocol"`
}

// Config says how to start one plugin.
type Config struct {
	// Name identifies the plugin instance in logs and errors.
	Name string
	// Path is the plugin binary. Ignored with Reattach.
	Path string
	Args []string
	// Env is added to the host's environment for the plugin.
	Env []string
	// SHA256, when set, makes go-plugin check the binary right before it
	// executes it (the host checks it earlier too, for a clearer error).
	SHA256 []byte
	// Logger receives the plugin's log lines (as "plugin" = Name); nil
	// discards them.
	Logger *slog.Logger
	// LogLevel is passed to the plugin in sdk.EnvLogLevel.
	LogLevel string
	// StartTimeout bounds the handshake and the info call (default 30s).
	StartTimeout time.Duration
	// OnStdout is called for each line the plugin writes to stdout after
	// the handshake (garbage on stdout); may be nil.
	OnStdout func(line string)
	// Reattach connects to a plugin served in-process in test mode
	// (sdk.WithTestConfig) instead of starting Path.
	Reattach *plugin.ReattachConfig
}

// Client is one started plugin process.
type Client struct {
	name   string
	path   string
	pc     *plugin.Client
	conn   *grpc.ClientConn
	broker *plugin.GRPCBroker
	info   Info
	pid    int
	logger *slog.Logger
}

// hostPlugin is the host side of go-plugin's plugin interface.
type hostPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

type dispensed struct {
	conn   *grpc.ClientConn
	broker *plugin.GRPCBroker
}

func (hostPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("pluginrpc: the host does not serve plugins")
}

func (hostPlugin) GRPCClient(_ context.Context, b *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &dispensed{conn: c, broker: b}, nil
}

// Start launches the plugin, completes the handshake and asks the plugin what
// it is. On failure the process is gone and the error wraps one of the named
// errors where one applies.
func Start(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("plugin", cfg.Name)
	stderrTail := &tail{}
	inPanic := false
	stderr := &lineWriter{emit: func(line []byte) {
		stderrTail.add(string(line))
		forwardLog(logger, line, &inPanic)
	}}
	stdout := &lineWriter{emit: func(line []byte) {
		logger.Warn("plugin wrote to stdout; plugins must log to stderr", "line", truncate(string(line), 200))
		if cfg.OnStdout != nil {
			cfg.OnStdout(string(line))
		}
	}}
	syncStderr := &lineWriter{emit: func(line []byte) { forwardLog(logger, line, &inPanic) }}

	pcfg := &plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{sdk.ProtocolVersion: {sdk.PluginSetName: hostPlugin{}}},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           &hclogAdapter{l: logger},
		StartTimeout:     cfg.StartTimeout,
		Stderr:           stderr,
		SyncStdout:       stdout,
		SyncStderr:       syncStderr,
	}
	what := cfg.Path
	if cfg.Reattach != nil {
		pcfg.Reattach = cfg.Reattach
		// Reattaching skips version negotiation and dispenses from Plugins.
		pcfg.Plugins = pcfg.VersionedPlugins[sdk.ProtocolVersion]
		what = "in-process plugin"
	} else {
		cmd := exec.Command(cfg.Path, cfg.Args...)
		dieWithHost(cmd)
		cmd.Env = append(cmd.Env, cfg.Env...)
		if cfg.LogLevel != "" {
			cmd.Env = append(cmd.Env, sdk.EnvLogLevel+"="+cfg.LogLevel)
		}
		pcfg.Cmd = cmd
		pcfg.AutoMTLS = true
		if len(cfg.SHA256) > 0 {
			pcfg.SecureConfig = &plugin.SecureConfig{Checksum: cfg.SHA256, Hash: sha256.New()}
		}
	}
	pc := plugin.NewClient(pcfg)
	fail := func(err error) (*Client, error) {
		pc.Kill()
		return nil, fmt.Errorf("start plugin %s (%s): %w", cfg.Name, what, err)
	}

	rpc, err := pc.Client()
	if err != nil {
		return fail(classifyStartError(err, pc, stderrTail))
	}
	raw, err := rpc.Dispense(sdk.PluginSetName)
	if err != nil {
		return fail(fmt.Errorf("%w: dispense: %v", ErrNotPlugin, err))
	}
	d := raw.(*dispensed)
	c := &Client{
		name:   cfg.Name,
		path:   cfg.Path,
		pc:     pc,
		conn:   d.conn,
		broker: d.broker,
		logger: logger,
	}
	if cfg.Reattach != nil {
		c.pid = cfg.Reattach.Pid
	} else {
		c.pid, _ = strconv.Atoi(pc.ID())
	}

	ictx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	resp, err := herderv1.NewPluginClient(d.conn).GetInfo(ictx, &herderv1.GetInfoRequest{})
	if err != nil {
		switch status.Code(err) {
		case codes.Unimplemented:
			return fail(fmt.Errorf("%w: it speaks go-plugin but does not serve herder.v1.Plugin", ErrNotPlugin))
		case codes.DeadlineExceeded:
			return fail(fmt.Errorf("%w: no answer to GetInfo within %s", ErrStartTimeout, cfg.StartTimeout))
		}
		return fail(fmt.Errorf("%w: GetInfo: %v", ErrNotPlugin, err))
	}
	switch resp.GetKind() {
	case herderv1.PluginKind_PLUGIN_KIND_SOURCE:
		c.info.Kind = KindSource
	case herderv1.PluginKind_PLUGIN_KIND_PROCESSOR:
		c.info.Kind = KindProcessor
	default:
		return fail(fmt.Errorf("%w: it reports kind %v", ErrNotPlugin, resp.GetKind()))
	}
	c.info.Version = resp.GetVersion()
	c.info.SDKVersion = resp.GetSdkVersion()
	c.info.Protocol = pc.NegotiatedVersion()
	if cfg.Reattach != nil {
		c.info.Protocol = cfg.Reattach.ProtocolVersion
	}
	return c, nil
}

// classifyStartError maps go-plugin's start errors (plain strings) to the
// named errors.
func classifyStartError(err error, pc *plugin.Client, stderr *tail) error {
	msg := err.Error()
	said := ""
	if s := stderr.String(); s != "" {
		said = "; stderr: " + s
	}
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		return fmt.Errorf("%w: the binary changed after it was verified", ErrChecksumMismatch)
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("%w: no handshake%s", ErrStartTimeout, said)
	case strings.Contains(msg, "plugin exited before we could connect"):
		return fmt.Errorf("%w: it exited without a handshake%s", ErrNotPlugin, said)
	case strings.Contains(msg, "Failed to read any lines from plugin's stdout"):
		return fmt.Errorf("%w: it exited without a handshake%s", ErrNotPlugin, said)
	case strings.Contains(msg, "Unrecognized remote plugin message"):
		line := strings.TrimPrefix(strings.SplitN(msg, "\n", 2)[0], "Unrecognized remote plugin message: ")
		return fmt.Errorf("%w (%w): first stdout line %q is not a handshake%s", ErrNotPlugin, ErrStdoutGarbage, truncate(line, 200), said)
	case strings.Contains(msg, "incompatible API version"), strings.Contains(msg, "incompatible core API version"),
		strings.Contains(msg, "unsupported plugin protocol"):
		return fmt.Errorf("%w: %s (host speaks app protocol %d over grpc)", ErrProtocolVersion, firstLine(msg), sdk.ProtocolVersion)
	case strings.Contains(msg, "protocol version"), strings.Contains(msg, "error parsing core protocol"):
		return fmt.Errorf("%w (%w): %s%s", ErrNotPlugin, ErrStdoutGarbage, firstLine(msg), said)
	case strings.Contains(msg, "exec format error"), strings.Contains(msg, "permission denied"),
		strings.Contains(msg, "no such file"):
		return fmt.Errorf("%w: %v", ErrNotPlugin, err)
	}
	return err
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Info reports what the plugin said it is.
func (c *Client) Info() Info { return c.info }

// PID is the plugin's process id (for an in-process plugin, the test's).
func (c *Client) PID() int { return c.pid }

// Exited reports whether the plugin process has exited.
func (c *Client) Exited() bool { return c.pc.Exited() }

// Ping checks the plugin's gRPC health service.
func (c *Client) Ping(ctx context.Context) error {
	resp, err := healthpb.NewHealthClient(c.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: plugin.GRPCServiceName})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("health check of plugin %s: %w", c.name, ErrCallTimeout)
		}
		return fmt.Errorf("health check of plugin %s: %w", c.name, err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health check of plugin %s: status %v", c.name, resp.GetStatus())
	}
	return nil
}

// killWait bounds go-plugin's own shutdown, which waits without a deadline
// for a plugin that does not answer (a stopped or wedged process).
const killWait = 5 * time.Second

// Kill ends the plugin: it asks it to shut down and kills the process if it
// is still there after go-plugin's grace period (2s), or if the shutdown
// request itself is not answered within 5s. Safe to call twice.
func (c *Client) Kill() {
	done := make(chan struct{})
	go func() { c.pc.Kill(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(killWait):
	}
	c.logger.Warn("plugin did not answer the shutdown request; killing it", "pid", c.pid)
	c.signalKill()
	<-done
}

// KillNow kills the plugin process at once (SIGKILL) and cleans up; for a
// plugin that is known to be unresponsive.
func (c *Client) KillNow() {
	c.signalKill()
	c.Kill()
}

func (c *Client) signalKill() {
	if c.pid <= 0 || c.pid == os.Getpid() {
		return
	}
	if p, err := os.FindProcess(c.pid); err == nil {
		_ = p.Kill()
	}
}

// Source returns the source services; the plugin must be a source.
func (c *Client) Source() (*SourceClient, error) {
	if c.info.Kind != KindSource {
		return nil, fmt.Errorf("plugin %s (%s): %w: it is a %s, not a source", c.name, c.path, ErrWrongKind, c.info.Kind)
	}
	return &SourceClient{c: c, client: herderv1.NewSourceClient(c.conn)}, nil
}

// Processor returns the processor services; the plugin must be a processor.
func (c *Client) Processor() (*ProcessorClient, error) {
	if c.info.Kind != KindProcessor {
		return nil, fmt.Errorf("plugin %s (%s): %w: it is a %s, not a processor", c.name, c.path, ErrWrongKind, c.info.Kind)
	}
	return &ProcessorClient{c: c, client: herderv1.NewProcessorClient(c.conn)}, nil
}

// callError wraps an error of a call to the plugin with the named errors.
func (c *Client) callError(ctx context.Context, what string, err error) error {
	st, _ := status.FromError(err)
	switch {
	case st.Code() == codes.DeadlineExceeded || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%s on plugin %s: %w: %s", what, c.name, ErrCallTimeout, st.Message())
	case ctx.Err() != nil:
		return fmt.Errorf("%s on plugin %s: %w", what, c.name, ctx.Err())
	case st.Code() == codes.FailedPrecondition:
		return fmt.Errorf("%s on plugin %s: %w: %s", what, c.name, ErrPermanent, st.Message())
	case st.Code() == codes.InvalidArgument:
		return fmt.Errorf("%s on plugin %s: %w: %s", what, c.name, ErrConfig, st.Message())
	case st.Code() == codes.Unavailable || st.Code() == codes.Canceled || c.pc.Exited():
		return fmt.Errorf("%s on plugin %s: %w: %s", what, c.name, ErrPluginExited, st.Message())
	}
	return fmt.Errorf("%s on plugin %s: %s", what, c.name, st.Message())
}
