package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/core/demo"
	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/store/sqlstore"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "migrate",
		Short: "Bring the database schema up to date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			ctx := contextOrBackground(cmd.Context())
			st, err := openStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Migrate(ctx); err != nil {
				return err
			}
			v, err := st.MigrationVersion(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s at %s: schema version %d\n", st.Backend(), st.Addr(), v)
			return nil
		},
	})
	rootCmd.AddCommand(&cobra.Command{
		Use:   "load-fixtures",
		Short: "Load failure classifications, the shipped repositories and the config's own",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withPreparedStore(cmd.Context(), func(ctx context.Context, cfg *config.Config, st *sqlstore.Store) error {
				repos, err := st.Repositories(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "loaded %d repositories and %d failure classifications\n", len(repos), 8)
				return nil
			})
		},
	})
	var pushes int
	var logBase string
	demoCmd := &cobra.Command{
		Use:   "demo",
		Short: "Load the demo dataset (pushes and jobs of a few repositories) through the ingestion path",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withPreparedStore(cmd.Context(), func(ctx context.Context, cfg *config.Config, st *sqlstore.Store) error {
				events := demo.Events(demo.Options{PushesPerRepo: pushes, Now: time.Now(), LogBaseURL: logBase})
				p := ingest.NewPipeline(st, newLogger(cfg), nil)
				if err := p.Accept(ctx, "demo", events); err != nil {
					return fmt.Errorf("load demo data: %w", err)
				}
				counts, err := st.Counts(context.WithoutCancel(ctx))
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "demo data loaded into %s: %d pushes, %d jobs, %d logs\n",
					st.Addr(), counts["push"], counts["job"], counts["job_log"])
				return nil
			})
		},
	}
	demoCmd.Flags().IntVar(&pushes, "pushes", 6, "pushes per repository")
	demoCmd.Flags().StringVar(&logBase, "log-base-url", "http://127.0.0.1:8080/demo/logs",
		"where the demo jobs' logs are served (herder serve serves them under /demo/logs); empty: Taskcluster URLs")
	rootCmd.AddCommand(demoCmd)
}
