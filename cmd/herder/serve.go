package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	demologs "github.com/herder-ci/herder/core/demo/logs"
	"github.com/herder-ci/herder/core/dispatch"
	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/perf"
	"github.com/herder-ci/herder/core/pluginhost"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/server"
)

func init() {
	var listen string
	var noMigrate bool
	var roleNames []string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API and UI and run the configured plugins",
		Long: "serve runs herder. By default one process does everything (--role all). Several\n" +
			"processes can split the work: web serves the API and UI, ingest runs source plugins,\n" +
			"worker stores ingested batches and runs processor plugins, scheduler runs the scheduled\n" +
			"jobs under leader election. With a queue block in the config the roles talk through\n" +
			"RabbitMQ; without one, through the database. See docs/deploy.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(roleNames) == 0 {
				roleNames = []string{"all"}
			}
			r, err := parseRoles(roleNames)
			if err != nil {
				return usageError(err)
			}
			return serve(cmd.Context(), listen, noMigrate, r)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on, e.g. 127.0.0.1:8080 (overrides server.listen)")
	cmd.Flags().BoolVar(&noMigrate, "no-migrate", false, "do not run database migrations at start")
	cmd.Flags().StringSliceVar(&roleNames, "role", nil, "roles of this process: web, ingest, worker, scheduler, all (comma-separated or repeated; default all)")
	rootCmd.AddCommand(cmd)
}

func serve(parent context.Context, listen string, noMigrate bool, r roles) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if listen != "" {
		cfg.Server.Listen = listen
	}
	log := newLogger(cfg)
	ctx, stop := signal.NotifyContext(contextOrBackground(parent), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// The database may come up after us (or go away): serve health and
	// readiness at once and prepare the store in the background.
	var storeReady atomic.Bool
	pipeline := ingest.NewPipeline(st, log, reg)
	log.Info("starting", "roles", r.String())
	// With a queue block the roles talk through RabbitMQ; the broker may
	// come up after us, like the database.
	mq := &brokerRef{}
	ready := map[string]server.Readiness{
		"migrations": func(context.Context) error {
			if !storeReady.Load() {
				return errors.New("database not prepared yet")
			}
			return nil
		},
	}
	if cfg.Queue != nil {
		ready["queue"] = mq.ping
	}
	// Plugins start once the database is ready: a source's first batch must
	// find the schema there.
	admin := &pluginAdmin{}
	var background sync.WaitGroup
	background.Add(1)
	go func() {
		defer background.Done()
		if err := waitForStore(ctx, st, cfg, cfg.Storage.AutoMigrate && !noMigrate, log); err != nil {
			return
		}
		if err := pipeline.ReloadRepositories(ctx); err != nil {
			log.Error("load repositories", "error", err)
		}
		storeReady.Store(true)
		log.Info("storage ready", "backend", st.Backend(), "address", st.Addr())
		if cfg.Queue != nil {
			b, err := dialBroker(ctx, cfg, log, reg)
			if err != nil {
				return // ctx ended while the broker was away
			}
			mq.set(b)
		}
		startRoles(ctx, &background, r, cfg, st, pipeline, mq.get(), admin, log, reg)
	}()

	srvOpts := server.Options{
		Store:    st,
		Tokens:   st,
		Plugins:  admin,
		Log:      log,
		Registry: reg,
		Ready:    ready,
		// The server reads 0 as its default; "0s" in the config means off.
		ReadCacheTTL: cfg.Server.ReadCacheTTL,
	}
	if srvOpts.ReadCacheTTL == 0 {
		srvOpts.ReadCacheTTL = -1
	}
	// Sign-in, write rate limits and the raw-log proxy (serve_auth.go).
	if err := configureWrites(&srvOpts, cfg, log); err != nil {
		return err
	}
	srv := server.New(srvOpts)
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	// The demo dataset's job logs (`herder demo`) point here, so `make run`
	// parses logs without reaching Firefox CI.
	mux := http.NewServeMux()
	if r.web {
		mux.Handle("GET "+demologs.Prefix, demologs.Handler())
		mux.Handle("/", srv)
	} else {
		// Other roles answer health, readiness and metrics only, so an
		// orchestrator can watch every process the same way.
		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			mux.Handle("GET "+path, srv)
		}
		mux.HandleFunc("/", notServedHere(r))
	}
	httpServer := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	log.Info("serving", "address", "http://"+ln.Addr().String(), "roles", r.String(), "storage", st.Backend(), "database", st.Addr())
	errc := make(chan error, 1)
	go func() { errc <- httpServer.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.Server.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	// Work in flight finishes or stays pending in the database; then the
	// plugins stop, and only then the store closes.
	background.Wait()
	if sup := admin.get(); sup != nil {
		if err := sup.Stop(shutdownCtx); err != nil {
			log.Warn("stop plugins", "error", err)
		}
	}
	// The broker closes last: consumers drained above, and sources may
	// have been publishing until their plugins stopped.
	if b := mq.get(); b != nil {
		b.Close()
	}
	log.Info("stopped")
	return nil
}

// startProcessing runs a log dispatcher for every processor that consumes
// log.parse tasks, once the processor has said so.
func startProcessing(ctx context.Context, wg *sync.WaitGroup, sup *pluginhost.Supervisor, st *sqlstore.Store, logStore dispatch.LogStore, log hclog.Logger, reg prometheus.Registerer) {
	perfData := perf.NewIngester(st, log, reg)
	for _, p := range sup.Processors() {
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			if parsesLogs(ctx, sup, name, log) {
				log.Info("parsing logs", "processor", name)
				dispatch.NewLogDispatcher(logStore, supervisorProcessor{sup}, dispatch.LogOptions{
					Processor: name, Log: log, Registry: reg, Perf: perfData,
				}).Run(ctx)
			}
		}(p.Name)
	}
}

// parsesLogs waits for the named processor to run and says whether it
// consumes log.parse tasks (a processor says what it consumes once it runs).
// One that fails or is quarantined is logged and parses nothing.
func parsesLogs(ctx context.Context, sup *pluginhost.Supervisor, name string, log hclog.Logger) bool {
	if err := sup.WaitRunning(ctx, name); err != nil {
		if ctx.Err() == nil {
			log.Error("processor not running: it parses no logs", "processor", name, "error", err)
		}
		return false
	}
	for _, d := range sup.Processors() {
		if d.Name == name {
			return slices.Contains(d.Info.Consumes, sdk.TaskLogParse)
		}
	}
	return false
}

// supervisorProcessor lets the dispatcher call processor plugins, marking
// failures that retrying cannot cure as permanent.
type supervisorProcessor struct{ sup *pluginhost.Supervisor }

func (p supervisorProcessor) Process(ctx context.Context, name string, task sdk.Task) (sdk.Result, error) {
	res, err := p.sup.Process(ctx, name, task)
	if errors.Is(err, pluginhost.ErrPermanent) {
		return res, sdk.Permanent(err)
	}
	return res, err
}

func contextOrBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

// sweepParked periodically stores parked jobs whose push has arrived some
// other way than through this process's pipeline.
func sweepParked(ctx context.Context, p *ingest.Pipeline, log hclog.Logger) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := p.Sweep(ctx); err != nil {
				log.Warn("sweep parked jobs", "error", err)
			} else if n > 0 {
				log.Info("stored parked jobs", "pushes", n)
			}
		}
	}
}
