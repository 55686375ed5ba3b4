package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/core/bugs"
	"github.com/herder-ci/herder/core/dispatch"
	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/perf"
	"github.com/herder-ci/herder/core/pluginhost"
	"github.com/herder-ci/herder/core/queue"
	"github.com/herder-ci/herder/core/schedule"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/core/work"
)

// roles are what one `herder serve` process does. One process may have
// several; "all" is every one, the default and what `make run` uses.
type roles struct{ web, ingest, worker, scheduler bool }

var roleNames = []string{"web", "ingest", "worker", "scheduler"}

func parseRoles(names []string) (roles, error) {
	var r roles
	for _, n := range names {
		for _, n := range strings.Split(n, ",") {
			switch strings.TrimSpace(n) {
			case "all":
				r = roles{true, true, true, true}
			case "web":
				r.web = true
			case "ingest":
				r.ingest = true
			case "worker":
				r.worker = true
			case "scheduler":
				r.scheduler = true
			default:
				return r, fmt.Errorf("unknown role %q: want one or more of %s, or all", n, strings.Join(roleNames, ", "))
			}
		}
	}
	if r == (roles{}) {
		return r, fmt.Errorf("no role given: want one or more of %s, or all", strings.Join(roleNames, ", "))
	}
	return r, nil
}

func (r roles) String() string {
	var out []string
	for i, on := range []bool{r.web, r.ingest, r.worker, r.scheduler} {
		if on {
			out = append(out, roleNames[i])
		}
	}
	return strings.Join(out, ",")
}

// notServedHere answers what a process without the web role does not serve.
func notServedHere(r roles) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, "{\"detail\":%q}\n", "This process runs the "+r.String()+" role(s); the API and UI are served by processes with the web role.")
	}
}

// brokerRef holds the broker once it is dialled; readiness reports it.
type brokerRef struct{ b atomic.Pointer[queue.Broker] }

func (m *brokerRef) set(b *queue.Broker) { m.b.Store(b) }
func (m *brokerRef) get() *queue.Broker  { return m.b.Load() }
func (m *brokerRef) ping(ctx context.Context) error {
	b := m.get()
	if b == nil {
		return fmt.Errorf("not connected to the broker yet")
	}
	return b.Ping(ctx)
}

func queueOptions(cfg *config.Config, log hclog.Logger, reg prometheus.Registerer) queue.Options {
	return queue.Options{
		URL:           cfg.Queue.URL,
		Prefix:        cfg.Queue.Prefix,
		Prefetch:      cfg.Queue.Prefetch,
		DeliveryLimit: cfg.Queue.DeliveryLimit,
		DrainTimeout:  cfg.Queue.DrainTimeout,
		Log:           log.Named("queue"),
		Registry:      reg,
	}
}

// dialBroker connects to the config's broker, retrying until ctx ends.
func dialBroker(ctx context.Context, cfg *config.Config, log hclog.Logger, reg prometheus.Registerer) (*queue.Broker, error) {
	b, err := queue.Dial(ctx, queueOptions(cfg, log, reg))
	if err != nil {
		return nil, err
	}
	log.Info("broker ready", "url", config.RedactURL(cfg.Queue.URL))
	return b, nil
}

// pluginsFor keeps the plugin instances this process's roles run: sources
// for ingest, processors for worker.
func pluginsFor(cfg *config.Config, r roles) *config.Config {
	c := *cfg
	if !r.ingest {
		c.Sources = nil
	}
	if !r.worker {
		c.Processors = nil
	}
	return &c
}

// startRoles starts what the roles run once the database (and the broker,
// when configured) is ready. Without a broker b is nil and work passes
// through the database: sources store straight into it and workers poll it.
func startRoles(ctx context.Context, wg *sync.WaitGroup, r roles, cfg *config.Config, st *sqlstore.Store,
	pipeline *ingest.Pipeline, b *queue.Broker, admin *pluginAdmin, log hclog.Logger, reg prometheus.Registerer) {
	// Every process drops cached reference ids the cycler pruned.
	wg.Add(1)
	go func() { defer wg.Done(); watchPrunes(ctx, st, log) }()
	if r.scheduler {
		// Scheduled jobs (update_bugscache, cycle_data, the commenter, and
		// with a broker the log sweep) run in the elected process only.
		var extra []schedule.Job
		if b != nil {
			extra = append(extra, schedule.Job{Name: "requeue_logs", Spec: "@every 30s", Run: func(ctx context.Context) error {
				n, err := work.Sweep(ctx, b, st, 15*time.Minute)
				if n > 0 {
					log.Info("queued pending logs no queue held", "logs", n)
				}
				return err
			}})
		}
		startSchedules(ctx, wg, cfg, st, log, extra...)
		wg.Add(1)
		go func() { defer wg.Done(); sweepParked(ctx, pipeline, log) }()
	}
	var sink pluginhost.Sink = pipeline
	if b != nil {
		sink = work.Sink{Pub: b, Log: log.Named("ingest")}
	}
	sup, err := startPlugins(pluginsFor(cfg, r), log, reg, sink)
	if err != nil {
		log.Error("plugins not started", "error", err)
		return
	}
	admin.set(sup)
	if !r.worker {
		return
	}
	// Parsed logs queue bug matching and intermittent checks through the
	// store the log dispatcher writes with.
	logStore := startBugWork(ctx, wg, sup, st, log, reg)
	if b == nil {
		startProcessing(ctx, wg, sup, st, logStore, log, reg)
		return
	}
	startQueueWorkers(ctx, wg, b, sup, st, logStore, pipeline, log, reg)
}

// storeSlots is how many ingested batches one worker writes at once; the
// queue's prefetch keeps more in hand so the next is ready.
const storeSlots = 4

// startQueueWorkers consumes the work queues: stored batches, the log parse
// queues (through the first processor that parses logs) and bug matching
// wake-ups.
func startQueueWorkers(ctx context.Context, wg *sync.WaitGroup, b *queue.Broker, sup *pluginhost.Supervisor, st *sqlstore.Store,
	logStore dispatch.LogStore, pipeline *ingest.Pipeline, log hclog.Logger, reg prometheus.Registerer) {
	consume := func(workload string, h queue.Handler) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log.Info("consuming", "queue", workload)
			if err := b.Consume(ctx, workload, h); err != nil && ctx.Err() == nil {
				log.Error("consumer stopped", "queue", workload, "error", err)
			}
		}()
	}
	consume(queue.Store, work.StoreWorker{Pipeline: pipeline, Logs: st, Pub: b, Log: log.Named("work"),
		Slots: make(chan struct{}, storeSlots)}.Handle)

	// Bug matching work is leased in the database (bug_work); the bugs
	// queue carries wake-ups so that a parse in one worker gets its
	// suggestions matched by whichever worker is free.
	if fl, ok := logStore.(bugs.FollowLogs); ok && fl.Notify != nil {
		local := fl.Notify
		fl.Notify = wakeups(ctx, wg, b, log)
		logStore = fl
		consume(queue.Bugs, func(ctx context.Context, d queue.Delivery) error { local(); return nil })
	}

	perfData := perf.NewIngester(st, log, reg)
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Every processor is asked in turn, so that one which never comes
		// up (quarantined, failed) does not keep the log queues unconsumed.
		var parser string
		for _, p := range sup.Processors() {
			if !parsesLogs(ctx, sup, p.Name, log) {
				continue
			}
			if parser != "" {
				log.Warn("several processors parse logs; with a broker only the first consumes the log queues", "used", parser, "ignored", p.Name)
				continue
			}
			parser = p.Name
		}
		if ctx.Err() != nil {
			return
		}
		if parser == "" {
			log.Info("no processor parses logs: the log queues are not consumed")
			return
		}
		d := dispatch.NewLogDispatcher(logStore, supervisorProcessor{sup}, dispatch.LogOptions{
			Processor: parser, Log: log, Registry: reg, Perf: perfData,
		})
		ready := func(ctx context.Context) error { return sup.WaitRunning(ctx, parser) }
		log.Info("parsing logs from the queues", "processor", parser)
		for _, w := range work.LogWorkloads {
			consume(w, work.HandleLogs(d, ready))
		}
	}()
}

// wakeups returns what tells some worker that bug work is waiting: a
// publish to the bugs queue, one at a time, so the wake-ups of a burst of
// parses fold into one message rather than a confirmed publish each. It is
// best effort: every worker also polls the bug_work table.
func wakeups(ctx context.Context, wg *sync.WaitGroup, b *queue.Broker, log hclog.Logger) func() {
	pending := make(chan struct{}, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-pending:
			}
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := b.Publish(pctx, queue.Bugs, queue.Message{Body: []byte(`{}`)}); err != nil {
				log.Debug("bug work wake-up not published", "error", err)
			}
			cancel()
		}
	}()
	return func() {
		select {
		case pending <- struct{}{}:
		default:
		}
	}
}
