// Package misbehave makes the test plugins misbehave on purpose, chosen by
// the name the binary was started as (tests copy one build under several
// names): "...-hang" never completes the handshake, "-garbage" prints to
// stdout before it, "-exit" exits without one, "-badproto" offers another
// protocol version, "-badlog" writes malformed log JSON to stderr.
package misbehave

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/herder-ci/herder/sdk"
)

// Mode is the misbehaviour the binary was named for ("" for none).
func Mode() string {
	base := filepath.Base(os.Args[0])
	if i := strings.LastIndex(base, "-"); i >= 0 {
		return base[i+1:]
	}
	return ""
}

// BeforeServe acts out the misbehaviours that happen before or instead of the
// handshake. It returns only when the plugin should be served normally.
func BeforeServe() {
	switch Mode() {
	case "hang":
		time.Sleep(time.Hour)
	case "garbage":
		fmt.Println("hello from a program that is not quite a plugin")
		time.Sleep(time.Hour)
	case "exit":
		fmt.Fprintln(os.Stderr, "I am not a plugin, exiting")
		os.Exit(0)
	case "badproto":
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  sdk.Handshake,
			VersionedPlugins: map[int]plugin.PluginSet{sdk.ProtocolVersion + 1: {sdk.PluginSetName: dummy{}}},
			GRPCServer:       plugin.DefaultGRPCServer,
		})
		os.Exit(0)
	case "badlog":
		// go-plugin's own stderr parser panics on these; the host must not.
		fmt.Fprintln(os.Stderr, `{"@message": 42, "@level": ["x"], "@timestamp": 7}`)
		fmt.Fprintln(os.Stderr, `{"@message": "fine", "@timestamp": "not a time"}`)
		fmt.Fprintln(os.Stderr, `{not json`)
	}
}

type dummy struct{ plugin.NetRPCUnsupportedPlugin }

func (dummy) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }
func (dummy) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("no client")
}
