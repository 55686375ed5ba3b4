package pluginrpc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/herder-ci/herder/sdk"
	herderv1 "github.com/herder-ci/herder/sdk/proto/herder/v1"
)

// AcceptFunc receives one batch a source sent. It returns nil only when the
// events are durably stored or enqueued: the plugin is then told the batch is
// accepted and may acknowledge it upstream. An error is a nack; an error
// wrapping sdk.ErrRejected tells the plugin the batch will never be accepted.
type AcceptFunc func(ctx context.Context, events []sdk.Event) error

// SourceClient drives a source plugin.
type SourceClient struct {
	c      *Client
	client herderv1.SourceClient
}

// Configure hands the source its settings (JSON).
func (s *SourceClient) Configure(ctx context.Context, instance string, config []byte) error {
	_, err := s.client.Configure(ctx, &herderv1.ConfigureRequest{Instance: instance, Config: config})
	if err != nil {
		return s.c.callError(ctx, "configure", err)
	}
	return nil
}

// RunOptions tunes Run.
type RunOptions struct {
	// DrainTimeout bounds how long Run waits, after the plugin's Run
	// returned, for batches still being accepted (default 10s).
	DrainTimeout time.Duration
}

// Run serves the host's sink to the source through go-plugin's broker and
// runs the source until ctx is cancelled or the source stops. It returns nil
// when the source stopped because ctx was cancelled. Batches that are being
// accepted when the source stops are allowed to finish.
func (s *SourceClient) Run(ctx context.Context, accept AcceptFunc, opts RunOptions) error {
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 10 * time.Second
	}
	id := s.c.broker.NextId()
	var (
		mu     sync.Mutex
		server *grpc.Server
	)
	served := make(chan struct{})
	go func() {
		defer close(served)
		s.c.broker.AcceptAndServe(id, func(o []grpc.ServerOption) *grpc.Server {
			g := grpc.NewServer(append(o, grpc.MaxRecvMsgSize(sdk.MaxMessageBytes))...)
			herderv1.RegisterSinkServer(g, &sinkServer{accept: accept})
			mu.Lock()
			server = g
			mu.Unlock()
			return g
		})
	}()
	_, err := s.client.Run(ctx, &herderv1.RunRequest{SinkBrokerId: id})

	// Let batches that are being accepted finish, so their Accept is not
	// cut off half-way; the plugin no longer waits for the answers.
	mu.Lock()
	g := server
	mu.Unlock()
	if g != nil {
		stopped := make(chan struct{})
		go func() { g.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(opts.DrainTimeout):
			g.Stop()
		}
	}
	select {
	case <-served:
	case <-time.After(time.Second):
		// AcceptAndServe also ends when the broker closes (plugin killed).
	}

	if err == nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("source plugin %s: Run returned before it was stopped", s.c.name)
	}
	if ctx.Err() != nil && status.Code(err) == codes.Canceled {
		return nil
	}
	return s.c.callError(ctx, "run", err)
}

type sinkServer struct {
	herderv1.UnimplementedSinkServer
	accept AcceptFunc
}

func (s *sinkServer) Send(ctx context.Context, req *herderv1.SendRequest) (*herderv1.SendResponse, error) {
	events := make([]sdk.Event, len(req.GetEvents()))
	for i, pe := range req.GetEvents() {
		e, err := sdk.EventFromProto(pe)
		if err == nil {
			err = e.Validate()
		}
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "batch %d, event %d: %v", req.GetBatch(), i, err)
		}
		events[i] = e
	}
	if len(events) == 0 {
		return &herderv1.SendResponse{}, nil
	}
	if err := s.accept(ctx, events); err != nil {
		if errors.Is(err, sdk.ErrRejected) {
			return nil, status.Errorf(codes.InvalidArgument, "batch %d: %v", req.GetBatch(), err)
		}
		return nil, status.Errorf(codes.Unavailable, "batch %d not accepted: %v", req.GetBatch(), err)
	}
	return &herderv1.SendResponse{Accepted: uint32(len(events))}, nil
}
