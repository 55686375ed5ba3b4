package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/server"
)

func init() {
	var listen string
	var noMigrate bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API and UI and run the configured plugins",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return serve(cmd.Context(), listen, noMigrate)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on, e.g. 127.0.0.1:8080 (overrides server.listen)")
	cmd.Flags().BoolVar(&noMigrate, "no-migrate", false, "do not run database migrations at start")
	rootCmd.AddCommand(cmd)
}

func serve(parent context.Context, listen string, noMigrate bool) error {
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
	go func() {
		if err := waitForStore(ctx, st, cfg, cfg.Storage.AutoMigrate && !noMigrate, log); err != nil {
			return
		}
		if err := pipeline.ReloadRepositories(ctx); err != nil {
			log.Error("load repositories", "error", err)
		}
		storeReady.Store(true)
		log.Info("storage ready", "backend", st.Backend(), "address", st.Addr())
		sweepParked(ctx, pipeline, log)
	}()

	srv := server.New(server.Options{
		Store:    st,
		Tokens:   st,
		Log:      log,
		Registry: reg,
		Ready: map[string]server.Readiness{
			"migrations": func(context.Context) error {
				if !storeReady.Load() {
					return errors.New("database not prepared yet")
				}
				return nil
			},
		},
	})
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	log.Info("serving", "address", "http://"+ln.Addr().String(), "storage", st.Backend(), "database", st.Addr())
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
	log.Info("stopped")
	return nil
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
