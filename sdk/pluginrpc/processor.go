package pluginrpc

import (
	"context"

	"github.com/herder-ci/herder/sdk"
	herderv1 "github.com/herder-ci/herder/sdk/proto/herder/v1"
)

// ProcessorClient drives a processor plugin.
type ProcessorClient struct {
	c      *Client
	client herderv1.ProcessorClient
}

// Configure hands the processor its settings (JSON).
func (p *ProcessorClient) Configure(ctx context.Context, instance string, config []byte) error {
	_, err := p.client.Configure(ctx, &herderv1.ConfigureRequest{Instance: instance, Config: config})
	if err != nil {
		return p.c.callError(ctx, "configure", err)
	}
	return nil
}

// Describe asks the processor what it consumes and produces.
func (p *ProcessorClient) Describe(ctx context.Context) (sdk.ProcessorInfo, error) {
	resp, err := p.client.Describe(ctx, &herderv1.DescribeRequest{})
	if err != nil {
		return sdk.ProcessorInfo{}, p.c.callError(ctx, "describe", err)
	}
	return sdk.ProcessorInfoFromProto(resp), nil
}

// Process runs one task. Errors wrap ErrCallTimeout when ctx's deadline
// passed, ErrPermanent when the processor marked the failure permanent and
// ErrPluginExited when the process went away.
func (p *ProcessorClient) Process(ctx context.Context, task sdk.Task) (sdk.Result, error) {
	resp, err := p.client.Process(ctx, &herderv1.Task{Id: task.ID, Kind: task.Kind, Payload: task.Payload})
	if err != nil {
		return sdk.Result{}, p.c.callError(ctx, "process task "+task.ID, err)
	}
	return sdk.Result{Payload: resp.GetPayload()}, nil
}
