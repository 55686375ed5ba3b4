package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/perf"
	"github.com/herder-ci/herder/core/store/sqlstore"
)

// newLogger makes the host's logger from the config's log block.
func newLogger(cfg *config.Config) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "herder",
		Level:      hclog.LevelFromString(cfg.Log.Level),
		JSONFormat: cfg.Log.Format == "json",
		Output:     logOutput,
		TimeFormat: time.RFC3339,
	})
}

// openStore opens the configured database; for MySQL nothing is dialled
// until first use, so callers that must wait use prepareStore.
func openStore(ctx context.Context, cfg *config.Config) (*sqlstore.Store, error) {
	s, err := sqlstore.Open(ctx, cfg.Storage.Driver, cfg.Storage.DSN)
	if err != nil {
		return nil, err
	}
	if cfg.Storage.MaxOpenConns > 0 {
		s.DB().SetMaxOpenConns(cfg.Storage.MaxOpenConns)
	}
	if cfg.Storage.MaxIdleConns > 0 {
		s.DB().SetMaxIdleConns(cfg.Storage.MaxIdleConns)
	}
	return s, nil
}

// prepareStore migrates (when asked) and loads the reference data every
// instance needs: failure classifications, the seed repositories and the
// config's own. All of it is idempotent.
func prepareStore(ctx context.Context, s *sqlstore.Store, cfg *config.Config, migrate bool) error {
	if migrate {
		if err := s.Migrate(ctx); err != nil {
			return err
		}
	}
	if err := s.SeedFailureClassifications(ctx); err != nil {
		return err
	}
	if err := perf.Seed(ctx, s); err != nil {
		return err
	}
	return loadRepositories(ctx, s, cfg)
}

// loadRepositories writes the shipped seed repositories, then the config's,
// so an operator's block for a seed repository wins.
func loadRepositories(ctx context.Context, s *sqlstore.Store, cfg *config.Config) error {
	groups, repos, err := config.SeedRepositories()
	if err != nil {
		return fmt.Errorf("seed repositories: %w", err)
	}
	groups = append(groups, cfg.RepoGroups...)
	repos = append(repos, cfg.Repos...)
	mg := make([]model.RepositoryGroup, len(groups))
	for i, g := range groups {
		mg[i] = model.RepositoryGroup{ID: g.ID, Name: g.Name, Description: g.Description}
	}
	mr := make([]model.Repository, len(repos))
	for i, r := range repos {
		mr[i] = model.Repository{
			ID: r.ID, Group: model.RepositoryGroup{Name: r.Group}, Name: r.Name, DVCSType: r.DVCSType,
			URL: r.URL, Codebase: r.Codebase, Description: r.Description, ActiveStatus: r.ActiveStatus,
			LifeCycleOrder: r.LifeCycleOrder, PerformanceAlertsEnabled: r.PerformanceAlertsEnabled,
			ExpirePerformanceData: r.ExpirePerformanceData, IsTryRepo: r.IsTryRepo, TCRootURL: r.TCRootURL,
			AcceptsPullRequests: r.AcceptsPullRequests, Branches: r.Branches,
		}
	}
	if err := s.UpsertRepositories(ctx, mg, mr); err != nil {
		return fmt.Errorf("load repositories: %w", err)
	}
	return nil
}

// waitForStore prepares the store, retrying with capped exponential backoff
// while the database is unreachable; errors name the database's address,
// never its credentials.
func waitForStore(ctx context.Context, s *sqlstore.Store, cfg *config.Config, migrate bool, log hclog.Logger) error {
	delay := 500 * time.Millisecond
	for {
		err := prepareStore(ctx, s, cfg, migrate)
		if err == nil {
			return nil
		}
		log.Error("database not ready, retrying", "backend", s.Backend(), "address", s.Addr(), "error", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s at %s: %w", s.Backend(), s.Addr(), err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// withPreparedStore is what most commands start with: the config, the store,
// the schema and reference data brought up to date (as serve does at
// start), then fn; the store is closed after.
func withPreparedStore(ctx context.Context, fn func(ctx context.Context, cfg *config.Config, st *sqlstore.Store) error) error {
	ctx = contextOrBackground(ctx)
	cfg, st, err := openPreparedStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(ctx, cfg, st)
}

// openPreparedStore loads the config and opens a migrated, seeded store;
// the caller closes it.
func openPreparedStore(ctx context.Context) (*config.Config, *sqlstore.Store, error) {
	cfg, err := loadConfig()
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := prepareStore(ctx, st, cfg, cfg.Storage.AutoMigrate); err != nil {
		st.Close()
		return nil, nil, err
	}
	return cfg, st, nil
}
