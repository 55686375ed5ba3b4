package plugintest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/pluginrpc"
	"github.com/herder-ci/herder/sdk/plugintest"
)

var sourceBin, processorBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "plugintest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sourceBin, err = plugintest.BuildMain(dir, "github.com/herder-ci/herder/sdk/plugintest/internal/testplugins/source")
	if err == nil {
		processorBin, err = plugintest.BuildMain(dir, "github.com/herder-ci/herder/sdk/plugintest/internal/testplugins/processor")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func queueConfig(q *plugintest.Queue) []byte {
	return []byte(fmt.Sprintf(`{"url": %q, "batch": 7, "lease_ms": 300, "poll_ms": 5}`, q.URL))
}

func TestSourceBinaryEventsReachTheHost(t *testing.T) {
	q := plugintest.NewQueue(t)
	for i := 0; i < 25; i++ {
		q.Publish(context.Background(), i)
	}
	run := plugintest.StartSource(t, sourceBin, plugintest.SourceOptions{Config: queueConfig(q)})
	if info := run.Info(); info.Kind != pluginrpc.KindSource || info.Version != "1.0.0" || info.Protocol != sdk.ProtocolVersion {
		t.Errorf("info = %+v", info)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := run.Recorder().WaitDistinct(ctx, 25); err != nil {
		t.Fatal(err)
	}
	ev := run.Recorder().Events()[0]
	if ev.Job == nil || ev.Job.Job.JobGUID != ev.ID {
		t.Errorf("first event = %+v, want a job whose guid is the message id", ev)
	}
	for deadline := time.Now().Add(5 * time.Second); len(q.Unacked()) > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(q.Unacked()); n != 0 {
		t.Errorf("%d messages not acked", n)
	}
	if err := run.Stop(); err != nil {
		t.Errorf("graceful stop: %v", err)
	}
}

func TestSourceConformanceKit(t *testing.T) {
	plugintest.SourceKit{
		Plugin: sourceBin,
		Setup: func(t *testing.T) (plugintest.Upstream, []byte) {
			q := plugintest.NewQueue(t)
			return q, queueConfig(q)
		},
	}.Run(t)
}

func TestSourceRefusedConfig(t *testing.T) {
	tb := &fakeTB{TB: t}
	func() {
		defer func() { recover() }()
		plugintest.StartSource(tb, sourceBin, plugintest.SourceOptions{Config: []byte(`{}`)})
	}()
	if !tb.failed || !errors.Is(tb.err, pluginrpc.ErrConfig) {
		t.Errorf("StartSource with bad config: failed=%v err=%v, want ErrConfig", tb.failed, tb.err)
	}
}

// fakeTB captures a Fatal instead of failing the real test.
type fakeTB struct {
	testing.TB
	failed bool
	err    error
}

func (f *fakeTB) Fatal(args ...any) {
	f.failed = true
	if len(args) == 1 {
		if err, ok := args[0].(error); ok {
			f.err = err
		}
	}
	panic("fatal")
}

type funcSource func(ctx context.Context, config []byte, sink sdk.Sink) error

func (f funcSource) Run(ctx context.Context, config []byte, sink sdk.Sink) error {
	return f(ctx, config, sink)
}

func TestInProcessSource(t *testing.T) {
	rejectedCh := make(chan error, 1)
	src := funcSource(func(ctx context.Context, config []byte, sink sdk.Sink) error {
		for i := 0; i < 3; i++ {
			err := sink.Send(ctx, sdk.Event{ID: fmt.Sprint("p", i), Push: &sdk.PushDatum{Project: "try", Revision: fmt.Sprint("rev", i)}})
			if err != nil {
				return err
			}
		}
		rejectedCh <- sink.Send(ctx, sdk.Event{ID: "bad"})
		<-ctx.Done()
		return nil
	})
	run := plugintest.StartSourceInProcess(t, src, plugintest.SourceOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run.Recorder().WaitDistinct(ctx, 3); err != nil {
		t.Fatal(err)
	}
	select {
	case rejected := <-rejectedCh:
		if !errors.Is(rejected, sdk.ErrRejected) {
			t.Errorf("sending an event without payload: %v, want ErrRejected", rejected)
		}
	case <-ctx.Done():
		t.Fatal("the source never sent its invalid event")
	}
	if err := run.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := run.Recorder().Events()[2].Push.Revision; got != "rev2" {
		t.Errorf("third push revision = %q", got)
	}
}

func TestProcessorBinary(t *testing.T) {
	p := plugintest.StartProcessor(t, processorBin, plugintest.ProcessorOptions{Config: []byte(`{"concurrency": 3}`)})
	if p.Info.Name != "testprocessor" || p.Info.Concurrency != 3 || p.Info.AlgorithmVersion != "1.0.0" {
		t.Errorf("describe = %+v", p.Info)
	}
	ctx := context.Background()
	res, err := p.Process(ctx, sdk.Task{ID: "1", Kind: "echo", Payload: []byte("hi")})
	if err != nil || string(res.Payload) != "hi" {
		t.Errorf("echo = %q, %v", res.Payload, err)
	}
	if _, err := p.Process(ctx, sdk.Task{ID: "2", Kind: "permanent"}); !errors.Is(err, pluginrpc.ErrPermanent) {
		t.Errorf("permanent failure: %v, want ErrPermanent", err)
	}
	if _, err := p.Process(ctx, sdk.Task{ID: "3", Kind: "fail"}); err == nil || errors.Is(err, pluginrpc.ErrPermanent) {
		t.Errorf("plain failure: %v, want a retryable error", err)
	}
	if _, err := p.Process(ctx, sdk.Task{ID: "4", Kind: "panic"}); err == nil {
		t.Error("panic: no error")
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := p.Process(tctx, sdk.Task{ID: "5", Kind: "hang", Payload: []byte("500")}); !errors.Is(err, pluginrpc.ErrCallTimeout) {
		t.Errorf("hanging call: %v, want ErrCallTimeout", err)
	}
	// The plugin survived the panic and the timeout.
	if _, err := p.Process(ctx, sdk.Task{ID: "6", Kind: "echo"}); err != nil {
		t.Errorf("echo after failures: %v", err)
	}
}

type echoProcessor struct{}

func (echoProcessor) Describe() sdk.ProcessorInfo {
	return sdk.ProcessorInfo{Name: "echo", Consumes: []string{"x"}, AlgorithmVersion: "7"}
}
func (echoProcessor) Process(_ context.Context, t sdk.Task) (sdk.Result, error) {
	return sdk.Result{Payload: append([]byte(t.Kind+":"), t.Payload...)}, nil
}

func TestProcessorInProcess(t *testing.T) {
	p := plugintest.StartProcessorInProcess(t, echoProcessor{}, plugintest.ProcessorOptions{})
	if p.Info.AlgorithmVersion != "7" {
		t.Errorf("describe = %+v", p.Info)
	}
	res, err := p.Process(context.Background(), sdk.Task{Kind: "x", Payload: []byte("y")})
	if err != nil || string(res.Payload) != "x:y" {
		t.Errorf("process = %q, %v", res.Payload, err)
	}
}

// TestBrokenSourceUnderKit runs the kit against a deliberately broken
// source; TestKitCatchesBrokenSources runs it in a subprocess and expects it
// to fail.
func TestBrokenSourceUnderKit(t *testing.T) {
	mode := os.Getenv("HERDER_KIT_BROKEN")
	if mode == "" {
		t.Skip("run by TestKitCatchesBrokenSources")
	}
	bin := filepath.Join(t.TempDir(), "source-"+mode)
	copyBinary(t, sourceBin, bin)
	plugintest.SourceKit{
		Plugin:  bin,
		Timeout: 3 * time.Second,
		Setup: func(t *testing.T) (plugintest.Upstream, []byte) {
			q := plugintest.NewQueue(t)
			return q, queueConfig(q)
		},
	}.Run(t)
}

func TestKitCatchesBrokenSources(t *testing.T) {
	if os.Getenv("HERDER_KIT_BROKEN") != "" {
		t.Skip("inside the subprocess")
	}
	for _, mode := range []string{"ackfirst", "dropnack"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenSourceUnderKit$", "-test.v")
			cmd.Env = append(os.Environ(), "HERDER_KIT_BROKEN="+mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the kit passed a broken source (%s):\n%s", mode, out)
			}
			if want := "acknowledged upstream but the host never accepted it"; !strings.Contains(string(out), want) {
				t.Errorf("the kit failed without saying %q:\n%s", want, out)
			}
		})
	}
}

func copyBinary(t *testing.T, src, dst string) {
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
