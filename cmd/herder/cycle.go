package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/herder-ci/herder/core/bugs"
	"github.com/herder-ci/herder/core/schedule"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/core/store/sqlstore"
)

func init() { rootCmd.AddCommand(newCycleCmd()) }

func newCycleCmd() *cobra.Command {
	var days, chunk int
	var sleep time.Duration
	var dryRun bool
	var repoDays []string
	cmd := &cobra.Command{
		Use:   "cycle-data",
		Short: "Delete jobs older than the retention period, then unused reference data (Treeherder's cycle_data)",
		Long: "Jobs submitted more than --days days ago (120 by default, or the cycle_data schedule's\n" +
			"args.days) go in chunks of --chunk-size, each in its own short transaction, with their logs,\n" +
			"error lines, failure lines, classifications and bug suggestions. Then job types, groups,\n" +
			"machines, platforms and test groups no job uses any more are pruned. Pushes stay.\n" +
			"--dry-run counts what would go.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer resetFlags(cmd)
			cfg, st, closeStore, err := openPrepared(cmd)
			if err != nil {
				return err
			}
			defer closeStore()
			args := map[string]string{}
			for _, s := range cfg.Schedules {
				if s.Name == jobCycleData {
					for k, v := range s.Args {
						args[k] = v
					}
				}
			}
			opts, err := cycleOptions(args)
			if err != nil {
				return usageError(err)
			}
			if cmd.Flags().Changed("days") {
				opts.Days = days
			}
			if cmd.Flags().Changed("chunk-size") {
				opts.ChunkSize = chunk
			}
			if cmd.Flags().Changed("sleep") {
				opts.Sleep = sleep
			}
			for _, rd := range repoDays {
				name, d, ok := strings.Cut(rd, "=")
				n, err := parseDays(d)
				if !ok || err != nil {
					return usageError(fmt.Errorf("--repository-days %q: want NAME=DAYS", rd))
				}
				opts.RepositoryDays[name] = n
			}
			if opts.Days <= 0 || opts.ChunkSize <= 0 {
				return usageError(fmt.Errorf("cycle-data: --days and --chunk-size must be positive"))
			}
			opts.DryRun = dryRun
			out := cmd.OutOrStdout()
			var rep store.CycleReport
			err = schedule.RunExclusive(contextOrBackground(cmd.Context()), lockerFor(st), jobCycleData, func(ctx context.Context) error {
				var err error
				rep, err = cycleData(ctx, st, opts, func(line string) { fmt.Fprintln(out, line) })
				return err
			})
			if err != nil {
				return err
			}
			verb := "deleted"
			if dryRun {
				verb = "would delete"
			}
			fmt.Fprintf(out, "%s %d jobs and %d failure lines (older than %d days)\n", verb, rep.Jobs, rep.FailureLines, opts.Days)
			tables := make([]string, 0, len(rep.Orphans))
			for t := range rep.Orphans {
				tables = append(tables, t)
			}
			sort.Strings(tables)
			for _, t := range tables {
				fmt.Fprintf(out, "%s %d unused %s rows\n", verb, rep.Orphans[t], t)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&days, "days", 120, "keep jobs submitted in the last DAYS days")
	cmd.Flags().IntVar(&chunk, "chunk-size", 100, "jobs deleted per transaction")
	cmd.Flags().DurationVar(&sleep, "sleep", 0, "pause between chunks, e.g. 100ms")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count what would be deleted, delete nothing")
	cmd.Flags().StringArrayVar(&repoDays, "repository-days", nil, "NAME=DAYS: another retention for one repository (repeatable)")
	return cmd
}

// cycleOptions reads the cycle_data schedule's args: days, chunk_size,
// sleep (a duration) and days.<repository>.
func cycleOptions(args map[string]string) (store.CycleOptions, error) {
	opts := store.CycleOptions{Days: 120, ChunkSize: 100, RepositoryDays: map[string]int{}}
	for k, v := range args {
		switch {
		case k == "days":
			n, err := parseDays(v)
			if err != nil {
				return opts, fmt.Errorf("cycle_data args: %w", err)
			}
			opts.Days = n
		case k == "chunk_size":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return opts, fmt.Errorf("cycle_data args: chunk_size %q: want a positive whole number", v)
			}
			opts.ChunkSize = n
		case k == "sleep":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return opts, fmt.Errorf("cycle_data args: sleep %q: want a duration such as 100ms", v)
			}
			opts.Sleep = d
		case strings.HasPrefix(k, "days."):
			n, err := parseDays(v)
			if err != nil {
				return opts, fmt.Errorf("cycle_data args: %s: %w", k, err)
			}
			opts.RepositoryDays[strings.TrimPrefix(k, "days.")] = n
		}
	}
	return opts, nil
}

// cycleData deletes old jobs, then orphaned reference rows and expired
// line counts, reporting progress at most once a second per repository.
func cycleData(ctx context.Context, st *sqlstore.Store, opts store.CycleOptions, progress func(string)) (store.CycleReport, error) {
	last := map[string]time.Time{}
	opts.Progress = func(p store.CycleProgress) {
		if time.Since(last[p.Repository]) < time.Second && !p.Done {
			return
		}
		last[p.Repository] = time.Now()
		verb := "deleted"
		if opts.DryRun {
			verb = "would delete"
		}
		progress(fmt.Sprintf("%s: %s %d jobs submitted before %s", p.Repository, verb, p.Jobs,
			time.Unix(p.Cutoff, 0).UTC().Format("2006-01-02")))
	}
	rep, err := st.CycleJobs(ctx, opts)
	if err != nil {
		return rep, err
	}
	if rep.Orphans, err = st.PruneOrphans(ctx, opts.DryRun); err != nil {
		return rep, err
	}
	if !opts.DryRun {
		n, err := st.PruneErrorLineCounts(ctx, bugs.Day(time.Now().Unix())-21)
		if err != nil {
			return rep, err
		}
		rep.ErrorLineCounts = n
		// The bug cache changed all day (syncs, internal issues): compact
		// its search index.
		if err := st.OptimizeBugSearch(ctx); err != nil {
			return rep, err
		}
	}
	return rep, nil
}
