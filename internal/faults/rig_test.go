//go:build faults

package faults

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/herder-ci/herder/internal/pulsetest"
	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/plugins/pulse/transform"
)

// bins are the binaries TestMain builds once: herder and the two plugins
// the rig runs, with the plugins' SHA-256 pinned in the config.
var bins struct {
	dir    string
	herder string
	sha    map[string]string
}

var rigPlugins = []string{"pulse", "logparser"}

func TestMain(m *testing.M) {
	closeInheritedFiles()
	dir, err := os.MkdirTemp("", "herder-faults-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = buildBinaries(dir)
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults: build:", err)
	} else {
		code = m.Run()
	}
	killStrays()
	os.RemoveAll(dir)
	os.Exit(code)
}

// closeInheritedFiles marks the descriptors this process inherited (beyond
// stdio) close-on-exec. A wrapper such as `flock LOCK go test` leaves its
// lock open in the test; without this every process the suite starts would
// inherit it, and mariadbd, which the suite restarts and which outlives it,
// would hold the lock for good.
func closeInheritedFiles() {
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// killStrays SIGKILLs every process still running one of the binaries
// TestMain built: plugin processes outlive a host killed with SIGKILL or
// SIGQUIT (go-plugin servers do not watch their parent).
func killStrays() {
	if bins.dir == "" {
		return
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.HasPrefix(exe, bins.dir+string(filepath.Separator)) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func buildBinaries(dir string) error {
	build := func(out, pkg string) error {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", pkg, err)
		}
		return nil
	}
	bins.dir = dir
	bins.herder = filepath.Join(dir, "herder")
	bins.sha = map[string]string{}
	if err := build(bins.herder, "github.com/herder-ci/herder/cmd/herder"); err != nil {
		return err
	}
	for _, p := range rigPlugins {
		out := filepath.Join(dir, "plugins", p)
		if err := build(out, "github.com/herder-ci/herder/plugins/"+p); err != nil {
			return err
		}
		b, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		bins.sha[p] = hex.EncodeToString(sum[:])
	}
	return nil
}

// pulseExchanges are the exchanges the rig declares and binds the plugin's
// queue to: Taskcluster's task exchanges and hg.mozilla.org's pushes.
var pulseExchanges = []string{
	transform.ExchangeTaskDefined, transform.ExchangeTaskPending, transform.ExchangeTaskRunning,
	transform.ExchangeTaskCompleted, transform.ExchangeTaskFailed, transform.ExchangeTaskException,
	transform.ExchangeHgPushesV1,
}

// rigOptions tune the processes.
type rigOptions struct {
	Prefetch          int // herder's queue prefetch (per consumer)
	PulsePrefetch     int
	PulseBatch        int
	ParserConcurrency int
	MaxOpenConns      int
}

func (o *rigOptions) defaults() {
	if o.Prefetch == 0 {
		o.Prefetch = 50
	}
	if o.PulsePrefetch == 0 {
		o.PulsePrefetch = 1000
	}
	if o.PulseBatch == 0 {
		o.PulseBatch = 250
	}
	if o.ParserConcurrency == 0 {
		o.ParserConcurrency = 8
	}
	if o.MaxOpenConns == 0 {
		o.MaxOpenConns = 20
	}
}

// rig is one run's world: a fake Taskcluster and hg.mozilla.org, a fresh
// RabbitMQ vhost (so the real Pulse exchange names can be used) holding the
// Pulse exchanges, the plugin's queue and herder's queues under a unique
// prefix, a fresh MariaDB database, the config every process reads, and
// the processes.
type rig struct {
	t          testing.TB
	dir        string
	scen       *scenario
	up         *pulsetest.Upstream
	mq         *pulsetest.Broker
	pub        *pulsetest.Publisher
	dsn        string
	db         *sql.DB
	prefix     string
	pulseName  string // the <name> of queue/<user>/<name>
	pulseQueue string
	pulseDLQ   string
	cfgPath    string
	procs      []*proc

	logFetches []atomic.Int32 // per task: downloads of its log
	defFetches atomic.Int64
}

func newRig(t testing.TB, scen *scenario, opts rigOptions) *rig {
	t.Helper()
	opts.defaults()
	if !pulsetest.HaveRabbitmqctl() {
		testenv.Missing(t, "rabbitmqctl cannot reach the local RabbitMQ: run `bash scripts/services.sh` (as root)")
	}
	amqpURL := testenv.AMQPURL(t)
	dsn := testenv.MySQLDSN(t)
	r := &rig{t: t, dir: t.TempDir(), scen: scen, dsn: dsn, logFetches: make([]atomic.Int32, len(scen.outcomes))}
	r.prefix = "faults-" + randHex(4)
	r.pulseName = "faults-" + randHex(4)

	r.up = pulsetest.NewUpstream(t)
	r.up.HandlePrefix("taskcluster.net/api/queue/v1/task/", r.serveTaskcluster)
	pulsetest.ServeHgPushes(r.up)

	r.mq = pulsetest.NewBroker(t, amqpURL)
	r.mq.DeclareExchanges(t, pulseExchanges...)
	r.pulseQueue = "queue/" + r.mq.User + "/" + r.pulseName
	r.pulseDLQ = r.pulseQueue + "-dead-letter"
	// Declared before the plugin starts, so nothing published early is
	// dropped; the plugin declares it the same way.
	r.mq.DeclareQueue(t, r.pulseQueue, pulseExchanges...)
	r.pub = r.mq.NewPublisher(t)

	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(4)
	t.Cleanup(func() { db.Close() })
	r.db = db

	r.cfgPath = filepath.Join(r.dir, "herder.hcl")
	if err := os.WriteFile(r.cfgPath, []byte(r.config(opts)), 0o600); err != nil {
		t.Fatal(err)
	}
	// Registered after the broker's and the database's cleanups, so it runs
	// before them: the processes stop before their vhost and database go.
	t.Cleanup(func() {
		if t.Failed() {
			r.dumpLogs()
		}
		for _, p := range r.procs {
			p.terminate(20 * time.Second)
		}
		killStrays()
		r.keepLogs()
	})
	return r
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// hclString quotes s for HCL (JSON escapes are HCL escapes; templates are
// not expected in the values used here).
func hclString(s string) string {
	b, _ := json.Marshal(s)
	return strings.NewReplacer("${", "$${", "%{", "%%{").Replace(string(b))
}

func (r *rig) config(o rigOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "plugin_dir = %s\n", hclString(filepath.Join(bins.dir, "plugins")))
	fmt.Fprintf(&b, "data_dir = %s\n", hclString(filepath.Join(r.dir, "data")))
	fmt.Fprintf(&b, "server {\n  listen = \"127.0.0.1:0\"\n  shutdown_timeout = \"20s\"\n}\n")
	fmt.Fprintf(&b, "storage {\n  driver = \"mysql\"\n  dsn = %s\n  max_open_conns = %d\n  auto_migrate = true\n}\n", hclString(r.dsn), o.MaxOpenConns)
	fmt.Fprintf(&b, "queue {\n  url = %s\n  prefix = %s\n  prefetch = %d\n  drain_timeout = \"10s\"\n}\n", hclString(r.mq.URL), hclString(r.prefix), o.Prefetch)
	fmt.Fprintf(&b, "log {\n  level = \"info\"\n  format = \"text\"\n}\n")
	for _, p := range rigPlugins {
		fmt.Fprintf(&b, "plugin %q {\n  sha256 = %q\n}\n", p, bins.sha[p])
	}
	fmt.Fprintf(&b, `source "pulse" {
  plugin = "pulse"
  config {
    sources = [{ root_url = "https://taskcluster.net", pulse_url = %s, hgmo = true }]
    queue_name = %s
    prefetch = %d
    batch_size = %d
    batch_wait = "50ms"
    workers = 8
    task_cache_size = 200000
    repositories = [{ name = "autoland", url = %s }]
    allowed_hosts = ["taskcluster.net", "hg.mozilla.org"]
    http_backoff = "50ms"
    retry_backoff = "200ms"
    reconnect_min = "100ms"
    reconnect_max = "2s"
    stats_interval = "15s"
  }
}
processor "logparser" {
  plugin = "logparser"
  concurrency = %d
  config {
    allowed_hosts = ["taskcluster.net"]
  }
}
`, hclString(r.mq.URL), hclString(r.pulseName), o.PulsePrefetch, o.PulseBatch, hclString(pulsetest.HgRepoURL), o.ParserConcurrency)
	return b.String()
}

// serveTaskcluster answers the fake Taskcluster queue API for the
// scenario's tasks: definitions, artifact lists and live logs (failed tasks'
// logs hold a TEST-UNEXPECTED-FAIL line).
func (r *rig) serveTaskcluster(w http.ResponseWriter, req *http.Request) {
	rest := strings.TrimPrefix(req.URL.Path, "/api/queue/v1/task/")
	parts := strings.Split(rest, "/")
	i, ok := taskIndex(parts[0])
	if !ok || i >= len(r.scen.outcomes) {
		http.Error(w, `{"message":"task not found"}`, http.StatusNotFound)
		return
	}
	switch {
	case len(parts) == 1:
		r.defFetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(pulsetest.TaskDefinition(i, "autoland", pulsetest.Revision(r.scen.pushOf(i))))
	case len(parts) == 4 && parts[1] == "runs" && parts[3] == "artifacts":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"artifacts":[{"name":"public/logs/live_backing.log","storageType":"s3","contentType":"text/plain"}]}`)
	case len(parts) >= 5 && parts[1] == "runs" && strings.HasSuffix(rest, "/artifacts/public/logs/live_backing.log"):
		r.logFetches[i].Add(1)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, taskLog(i, r.scen.outcomes[i] == outFailed))
	default:
		http.Error(w, `{"message":"not found"}`, http.StatusNotFound)
	}
}

// taskIndex reverses pulsetest.TaskID.
func taskIndex(slug string) (int, bool) {
	uuid, err := transform.SlugToUUID(slug)
	if err != nil {
		return 0, false
	}
	const prefix = "00000000-0000-4000-8000-"
	if !strings.HasPrefix(uuid, prefix) {
		return 0, false
	}
	n, err := strconv.ParseInt(uuid[len(prefix):], 16, 64)
	if err != nil {
		return 0, false
	}
	return int(n), true
}

// taskLog is a small mochitest log in the shape of Firefox CI's live logs.
func taskLog(i int, failed bool) string {
	test := fmt.Sprintf("browser/components/faults/test/browser_fault_%d.js", i%500)
	ts := "[task 2024-01-01T00:05:%02d.%03dZ] 00:05:%02d     INFO - "
	var b strings.Builder
	line := func(n int, s string) { fmt.Fprintf(&b, ts+"%s\n", n%60, n%1000, n%60, s) }
	line(0, "Starting mochitest-browser-chrome (run by run-task)")
	line(1, "SUITE-START | Running 3 tests")
	line(2, "TEST-START | browser/components/faults/test/browser_setup.js")
	line(3, "TEST-PASS | browser/components/faults/test/browser_setup.js | setup is done - ")
	line(4, "TEST-OK | browser/components/faults/test/browser_setup.js | took 212ms")
	line(5, "TEST-START | "+test)
	line(6, "Entering test bound ")
	line(7, "Console message: [JavaScript Warning: \"Layout was forced before the page was fully loaded.\"]")
	if failed {
		line(8, "TEST-UNEXPECTED-FAIL | "+test+" | Element should be visible after the panel opened - Got false, expected true")
		line(9, "Stack trace:")
		line(10, "chrome://mochikit/content/browser-test.js:test_ok:1583")
		line(11, "GECKO(1234) | Leaving test bound ")
		line(12, "TEST-OK | "+test+" | took 1034ms")
	} else {
		line(8, "TEST-PASS | "+test+" | Element should be visible after the panel opened - ")
		line(9, "Leaving test bound ")
		line(10, "TEST-OK | "+test+" | took 634ms")
	}
	line(13, "SUITE-END | took 3s")
	line(14, "Browser Chrome Test Summary")
	if failed {
		line(15, "Passed: 2")
		line(16, "Failed: 1")
	} else {
		line(15, "Passed: 3")
		line(16, "Failed: 0")
	}
	line(17, "*** End BrowserChrome Test Results ***")
	return b.String()
}

// publishPushes publishes the scenario's hg pushes and waits until every
// one is stored, so task jobs find their push (none is parked).
func (r *rig) publishPushes(ctx context.Context) {
	r.t.Helper()
	if err := r.pub.PublishMany(ctx, r.scen.pushMsgs); err != nil {
		r.t.Fatalf("publish pushes: %v", err)
	}
	r.waitFor(ctx, 2*time.Minute, "every push stored", func(ctx context.Context) (bool, string, error) {
		var n int
		if err := r.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM push").Scan(&n); err != nil {
			return false, "", err
		}
		return n == r.scen.pushes, fmt.Sprintf("%d of %d pushes stored", n, r.scen.pushes), nil
	})
}

// waitFor polls cond every 250ms until it holds; errors count as "not yet".
func (r *rig) waitFor(ctx context.Context, timeout time.Duration, what string, cond func(context.Context) (bool, string, error)) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	var state string
	var lastErr error
	for {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ok, s, err := cond(qctx)
		cancel()
		if err == nil && ok {
			return
		}
		if s != "" {
			state = s
		}
		lastErr = err
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.t.Fatalf("after %s: %s; %s (last error: %v)", timeout, what, state, lastErr)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// pulseReady returns how many messages wait in the plugin's queue (AMQP
// passive declare: ready messages only).
func (r *rig) pulseReady() (int, error) {
	conn, err := amqp.DialConfig(r.mq.URL, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return 0, err
	}
	q, err := ch.QueueDeclarePassive(r.pulseQueue, true, false, false, false, nil)
	if err != nil {
		return 0, err
	}
	return q.Messages, nil
}

// dumpStacks makes every process (plugins first, so their hosts still log
// what they print) write its goroutines to its output and exit: SIGQUIT,
// with GOTRACEBACK=all in their environment. For a run that stalled.
func (r *rig) dumpStacks() {
	var hosts []*proc
	for _, p := range r.procs {
		if p.running() {
			hosts = append(hosts, p)
			for _, c := range children(p.pid()) {
				_ = syscall.Kill(c.pid, syscall.SIGQUIT)
			}
		}
	}
	time.Sleep(2 * time.Second)
	for _, p := range hosts {
		_ = syscall.Kill(p.pid(), syscall.SIGQUIT)
	}
	for _, p := range hosts {
		select {
		case <-p.doneChan():
		case <-time.After(5 * time.Second):
		}
	}
	r.t.Logf("goroutine dumps of %d processes (and their plugins) are in their logs", len(hosts))
}

// dumpLogs prints the tail of every process's output.
func (r *rig) dumpLogs() {
	for _, p := range r.procs {
		r.t.Logf("---- last lines of %s (%s) ----\n%s", p.name, p.logPath, tail(p.logPath, 60))
	}
}

// keepLogs copies the processes' output to $HERDER_FAULTS_LOGDIR/<test>,
// when set: t.TempDir goes when the test ends.
func (r *rig) keepLogs() {
	dir := os.Getenv("HERDER_FAULTS_LOGDIR")
	if dir == "" {
		return
	}
	dir = filepath.Join(dir, strings.ReplaceAll(r.t.Name(), "/", "_")+"-"+time.Now().Format("20060102-150405"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.t.Logf("keep logs: %v", err)
		return
	}
	for _, p := range r.procs {
		if b, err := os.ReadFile(p.logPath); err == nil {
			_ = os.WriteFile(filepath.Join(dir, p.name+".log"), b, 0o644)
		}
	}
	r.t.Logf("process logs kept in %s", dir)
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// grepLogs counts lines containing s in every process's output.
func (r *rig) grepLogs(s string) map[string][]string {
	out := map[string][]string{}
	for _, p := range r.procs {
		b, err := os.ReadFile(p.logPath)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, s) {
				out[p.name] = append(out[p.name], l)
			}
		}
	}
	return out
}
