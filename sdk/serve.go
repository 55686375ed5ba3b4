package sdk

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	herderv1 "github.com/herder-ci/herder/sdk/proto/herder/v1"
)

// ProtocolVersion is the app protocol version of herder's plugin protocol.
// The host and the plugin negotiate it with go-plugin's VersionedPlugins; it
// changes only when the protocol changes incompatibly.
const ProtocolVersion = 1

// SDKVersion is the version of this SDK; plugins report it to the host.
const SDKVersion = "0.1.0"

// PluginSetName is the name under which a plugin binary serves herder's
// services in go-plugin's plugin set.
const PluginSetName = "herder"

// EnvLogLevel names the environment variable in which the host passes its
// log level to plugins (trace, debug, info, warn, error).
const EnvLogLevel = "HERDER_PLUGIN_LOG_LEVEL"

// Handshake is the go-plugin handshake shared by the host and plugins. The
// cookie only stops people from running a plugin binary by hand by mistake; it
// is not a security measure (the host pins each binary's SHA-256 for that).
var Handshake = plugin.HandshakeConfig{
	MagicCookieKey:   "HERDER_PLUGIN_COOKIE",
	MagicCookieValue: "6f1b0c3e9a2d4f7e8b5c1a0d3e2f4b6c",
}

// Wire batch limits. Send splits larger calls; the host accepts messages of up
// to MaxMessageBytes.
const (
	MaxBatchEvents  = 1000
	MaxBatchBytes   = 4 << 20
	MaxMessageBytes = 64 << 20
)

// ServeOption adjusts how a plugin is served.
type ServeOption func(*serveConfig)

type serveConfig struct {
	version string
	test    *plugin.ServeTestConfig
}

// WithVersion sets the version the plugin reports to the host (shown by
// `herder plugins list`). Without it the module version from the build info
// is used, or "dev".
func WithVersion(v string) ServeOption { return func(c *serveConfig) { c.version = v } }

// WithTestConfig serves the plugin in go-plugin's in-process test mode (see
// plugin.ServeTestConfig); sdk/plugintest uses it to attach a host to a plugin
// running inside `go test`.
func WithTestConfig(tc *plugin.ServeTestConfig) ServeOption {
	return func(c *serveConfig) { c.test = tc }
}

// ServeSource serves src as a herder source plugin. Call it from main; it
// returns only in test mode and otherwise exits the process when the host
// is done with the plugin.
func ServeSource(src Source, opts ...ServeOption) {
	serve(&grpcPlugin{kind: herderv1.PluginKind_PLUGIN_KIND_SOURCE, source: src}, opts)
}

// ServeProcessor serves p as a herder processor plugin. Call it from main.
func ServeProcessor(p Processor, opts ...ServeOption) {
	serve(&grpcPlugin{kind: herderv1.PluginKind_PLUGIN_KIND_PROCESSOR, processor: p}, opts)
}

func serve(p *grpcPlugin, opts []ServeOption) {
	cfg := serveConfig{version: buildVersion()}
	for _, o := range opts {
		o(&cfg)
	}
	p.version = cfg.version
	level := hclog.LevelFromString(envLogLevel())
	if cfg.test != nil {
		// In-process test servers log listener teardown as errors.
		level = hclog.Off
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{ProtocolVersion: {PluginSetName: p}},
		GRPCServer: func(o []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(o, grpc.MaxRecvMsgSize(MaxMessageBytes))...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "sdk",
			Level:      level,
			Output:     origStderr,
			JSONFormat: true,
		}),
		Test: cfg.test,
	})
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// grpcPlugin is the plugin side of go-plugin's plugin interface.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	kind      herderv1.PluginKind
	version   string
	source    Source
	processor Processor
}

func (p *grpcPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	herderv1.RegisterPluginServer(s, &infoServer{kind: p.kind, version: p.version})
	switch {
	case p.source != nil:
		herderv1.RegisterSourceServer(s, &sourceServer{impl: p.source, broker: broker})
	case p.processor != nil:
		herderv1.RegisterProcessorServer(s, &processorServer{impl: p.processor})
	}
	return nil
}

func (p *grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("sdk: a plugin binary has no client side; hosts use sdk/pluginrpc")
}

type infoServer struct {
	herderv1.UnimplementedPluginServer
	kind    herderv1.PluginKind
	version string
}

func (s *infoServer) GetInfo(context.Context, *herderv1.GetInfoRequest) (*herderv1.GetInfoResponse, error) {
	return &herderv1.GetInfoResponse{Kind: s.kind, Version: s.version, SdkVersion: SDKVersion}, nil
}

type sourceServer struct {
	herderv1.UnimplementedSourceServer
	impl    Source
	broker  *plugin.GRPCBroker
	running atomic.Bool

	mu     sync.Mutex
	config []byte
}

func (s *sourceServer) Configure(ctx context.Context, req *herderv1.ConfigureRequest) (*herderv1.ConfigureResponse, error) {
	if c, ok := s.impl.(Configurer); ok {
		if err := callSafely(func() error { return c.Configure(ctx, req.GetConfig()) }); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "configure source %s: %v", req.GetInstance(), err)
		}
	}
	s.mu.Lock()
	s.config = req.GetConfig()
	s.mu.Unlock()
	return &herderv1.ConfigureResponse{}, nil
}

func (s *sourceServer) Run(ctx context.Context, req *herderv1.RunRequest) (*herderv1.RunResponse, error) {
	if !s.running.CompareAndSwap(false, true) {
		return nil, status.Error(codes.FailedPrecondition, "source is already running")
	}
	defer s.running.Store(false)
	conn, err := s.broker.DialWithOptions(req.GetSinkBrokerId(),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(MaxMessageBytes)))
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "dial the host's sink: %v", err)
	}
	defer func() { _ = conn.Close() }()
	s.mu.Lock()
	config := s.config
	s.mu.Unlock()
	sink := &grpcSink{client: herderv1.NewSinkClient(conn)}
	err = callSafely(func() error { return s.impl.Run(ctx, config, sink) })
	if err == nil || (ctx.Err() != nil && errors.Is(err, ctx.Err())) {
		return &herderv1.RunResponse{}, nil
	}
	return nil, status.Error(codes.Aborted, err.Error())
}

// callSafely turns a panic in plugin code into an error so one bad message
// does not take every in-flight call down with the process.
func callSafely(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			Logger().Error("panic in plugin code", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

// grpcSink is the Sink a source's Run receives: each batch is one unary call
// to the host's Sink service, answered only after the host's durable accept.
type grpcSink struct {
	client herderv1.SinkClient
	batch  atomic.Uint64
}

func (s *grpcSink) Send(ctx context.Context, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	for i := range events {
		if err := events[i].Validate(); err != nil {
			return fmt.Errorf("%w: %v", ErrRejected, err)
		}
	}
	req := &herderv1.SendRequest{Events: make([]*herderv1.Event, 0, min(len(events), MaxBatchEvents))}
	size := 0
	for _, e := range events {
		pe := EventToProto(e)
		n := proto.Size(pe)
		if len(req.Events) > 0 && (len(req.Events) >= MaxBatchEvents || size+n > MaxBatchBytes) {
			if err := s.send(ctx, req); err != nil {
				return err
			}
			req = &herderv1.SendRequest{Events: make([]*herderv1.Event, 0, MaxBatchEvents)}
			size = 0
		}
		req.Events = append(req.Events, pe)
		size += n
	}
	return s.send(ctx, req)
}

func (s *grpcSink) send(ctx context.Context, req *herderv1.SendRequest) error {
	req.Batch = s.batch.Add(1)
	_, err := s.client.Send(ctx, req)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("send batch %d: %w", req.Batch, ctx.Err())
	}
	st, _ := status.FromError(err)
	if st.Code() == codes.InvalidArgument {
		return fmt.Errorf("send batch %d (%d events): %w: %s", req.Batch, len(req.Events), ErrRejected, st.Message())
	}
	return fmt.Errorf("send batch %d (%d events): host did not accept it: %s", req.Batch, len(req.Events), st.Message())
}

type processorServer struct {
	herderv1.UnimplementedProcessorServer
	impl Processor
}

func (s *processorServer) Configure(ctx context.Context, req *herderv1.ConfigureRequest) (*herderv1.ConfigureResponse, error) {
	if c, ok := s.impl.(Configurer); ok {
		if err := callSafely(func() error { return c.Configure(ctx, req.GetConfig()) }); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "configure processor %s: %v", req.GetInstance(), err)
		}
	}
	return &herderv1.ConfigureResponse{}, nil
}

func (s *processorServer) Describe(context.Context, *herderv1.DescribeRequest) (*herderv1.ProcessorInfo, error) {
	var info ProcessorInfo
	if err := callSafely(func() error { info = s.impl.Describe(); return nil }); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return ProcessorInfoToProto(info), nil
}

func (s *processorServer) Process(ctx context.Context, t *herderv1.Task) (*herderv1.Result, error) {
	var res Result
	err := callSafely(func() error {
		var err error
		res, err = s.impl.Process(ctx, Task{ID: t.GetId(), Kind: t.GetKind(), Payload: t.GetPayload()})
		return err
	})
	switch {
	case err == nil:
		return &herderv1.Result{Payload: res.Payload}, nil
	case IsPermanent(err):
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	case ctx.Err() != nil:
		return nil, status.FromContextError(ctx.Err()).Err()
	default:
		return nil, status.Error(codes.Unknown, err.Error())
	}
}
