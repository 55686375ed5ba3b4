package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/core/bugs"
	"github.com/herder-ci/herder/core/dispatch"
	"github.com/herder-ci/herder/core/pluginhost"
	"github.com/herder-ci/herder/core/schedule"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/sdk"
)

func init() { rootCmd.AddCommand(newBugsCmd()) }

func newBugsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bugs",
		Short: "Keep the bug cache in step with Bugzilla and match error lines to bugs",
		Long: "The bug cache holds Bugzilla's intermittent-failure bugs (and internal issues); each job's\n" +
			"error lines are matched against it by the bug matcher plugin. Bugzilla settings come from\n" +
			"the update_bugscache schedule's args (bugzilla_url), the bugmatcher processor's config\n" +
			"(bugzilla_url, api_key) or the environment (HERDER_BUGZILLA_URL, HERDER_BUGZILLA_API_KEY).",
	}
	cmd.AddCommand(newBugsSyncCmd(), newBugsSearchTermsCmd(), newBugsSuggestCmd(), newBugsCommentCmd())
	return cmd
}

func newBugsSyncCmd() *cobra.Command {
	var bugzillaURL string
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Fetch changed intermittent-failure bugs from Bugzilla into the bug cache (update_bugscache)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer resetFlags(cmd)
			cfg, st, closeStore, err := openPrepared(cmd)
			if err != nil {
				return err
			}
			defer closeStore()
			log := newLogger(cfg)
			opts := bugzillaOptions(cfg, log, false)
			if bugzillaURL != "" {
				opts.URL = bugzillaURL
			}
			bz, err := bugs.NewBugzilla(opts)
			if err != nil {
				return usageError(err)
			}
			out := cmd.OutOrStdout()
			s := &bugs.Sync{Store: st, Bugzilla: bz, Log: log, PublicURL: publicURL(cfg),
				Report: func(f string, a ...any) { fmt.Fprintf(out, f+"\n", a...) }}
			var rep bugs.SyncReport
			err = schedule.RunExclusive(contextOrBackground(cmd.Context()), lockerFor(st), jobUpdateBugscache, func(ctx context.Context) error {
				var err error
				rep, err = s.Run(ctx)
				return err
			})
			if err != nil {
				return err
			}
			total, _ := st.CountBugs(contextOrBackground(cmd.Context()))
			fmt.Fprintf(out, "synced from %s (changes since %s): %d rounds, %d fetched, %d stored, %d skipped, %d deleted, %d classifications moved; %d bugs cached\n",
				bz.URL(), rep.Since, rep.Iterations, rep.Fetched, rep.Stored, len(rep.Skipped), rep.Deleted, rep.Moved, total)
			for _, s := range rep.Skipped {
				fmt.Fprintf(out, "  skipped: %s\n", s)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&bugzillaURL, "bugzilla-url", "", "Bugzilla base URL (overrides the configuration)")
	return cmd
}

func newBugsSearchTermsCmd() *cobra.Command {
	var processor string
	cmd := &cobra.Command{
		Use:   "search-terms LINE",
		Short: "Print the cleaned line, search terms and path end the bug matcher derives from an error line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer resetFlags(cmd)
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			ctx := contextOrBackground(cmd.Context())
			m, stop, err := startMatcher(ctx, cfg, processor, nil)
			if err != nil {
				return err
			}
			defer stop()
			res, err := m.Terms(ctx, []sdk.BugLine{{Line: args[0]}})
			if err != nil {
				return err
			}
			if len(res.Lines) != 1 {
				return fmt.Errorf("the bug matcher returned %d results for one line", len(res.Lines))
			}
			l := res.Lines[0]
			if l.NoTermReason != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), l.NoTermReason)
			}
			return writeJSON(cmd.OutOrStdout(), struct {
				Search     string    `json:"search"`
				SearchTerm []*string `json:"search_term"`
				PathEnd    *string   `json:"path_end"`
			}{l.Search, l.SearchTerms, l.PathEnd})
		},
	}
	cmd.Flags().StringVar(&processor, "processor", "", "the bug matcher processor to use (default: the one of plugin bugmatcher)")
	return cmd
}

func newBugsSuggestCmd() *cobra.Command {
	var jobID int64
	var processor string
	var recompute bool
	cmd := &cobra.Command{
		Use:   "suggest --job ID",
		Short: "Print a job's bug suggestions as the API serves them, matching the job first if needed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer resetFlags(cmd)
			if jobID <= 0 {
				return usageError(errors.New("bugs suggest: --job ID is required"))
			}
			cfg, st, closeStore, err := openPrepared(cmd)
			if err != nil {
				return err
			}
			defer closeStore()
			ctx := contextOrBackground(cmd.Context())
			list, err := st.BugSuggestions(ctx, jobID)
			if err != nil {
				return err
			}
			if len(list) == 0 || recompute {
				m, stop, err := startMatcher(ctx, cfg, processor, st)
				if err != nil {
					return err
				}
				rep, err := m.MatchJob(ctx, jobID)
				stop()
				if err != nil {
					return err
				}
				for _, r := range rep.NoTermLines {
					fmt.Fprintln(cmd.ErrOrStderr(), r)
				}
				if list, err = st.BugSuggestions(ctx, jobID); err != nil {
					return err
				}
			}
			return writeJSON(cmd.OutOrStdout(), list)
		},
	}
	cmd.Flags().Int64Var(&jobID, "job", 0, "the job's id")
	cmd.Flags().StringVar(&processor, "processor", "", "the bug matcher processor to use (default: the one of plugin bugmatcher)")
	cmd.Flags().BoolVar(&recompute, "recompute", false, "match again even if suggestions are stored")
	return cmd
}

func newBugsCommentCmd() *cobra.Command {
	var mode string
	cmd := &cobra.Command{
		Use:   "comment",
		Short: "Summarise intermittent failures per bug (the intermittents commenter); posts only with an API key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer resetFlags(cmd)
			cfg, st, closeStore, err := openPrepared(cmd)
			if err != nil {
				return err
			}
			defer closeStore()
			log := newLogger(cfg)
			c, err := newCommenter(cfg, st, log, mode, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			var rep bugs.CommentReport
			err = schedule.RunExclusive(contextOrBackground(cmd.Context()), lockerFor(st), jobCommenter, func(ctx context.Context) error {
				var err error
				rep, err = c.Run(ctx)
				return err
			})
			kind := "daily"
			if rep.Weekly {
				kind = "weekly"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s summaries for %s..%s: %d bugs, %d posted\n", kind, rep.From, rep.To, len(rep.Changes), rep.Posted)
			return err
		},
	}
	cmd.Flags().StringVar(&mode, "mode", bugs.ModeAuto, "daily, weekly, or auto (weekly on Mondays)")
	return cmd
}

// The scheduled jobs' names, as in Treeherder.
const (
	jobUpdateBugscache = "update_bugscache"
	jobCycleData       = "cycle_data"
	jobCommenter       = "intermittents_commenter"
)

// openPrepared is openPreparedStore for a command, with a close function.
func openPrepared(cmd *cobra.Command) (*config.Config, *sqlstore.Store, func(), error) {
	cfg, st, err := openPreparedStore(contextOrBackground(cmd.Context()))
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, st, func() { st.Close() }, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func publicURL(cfg *config.Config) string {
	if cfg.Server.PublicURL != "" {
		return cfg.Server.PublicURL
	}
	return "http://" + cfg.Server.Listen
}

// bugmatcherConfig is the part of a bugmatcher processor block the host
// reads: the Bugzilla it syncs from.
type bugmatcherConfig struct {
	BugzillaURL string `json:"bugzilla_url"`
	APIKey      string `json:"api_key"`
}

func matcherProcessorConfig(cfg *config.Config) bugmatcherConfig {
	var out bugmatcherConfig
	for _, p := range cfg.Processors {
		if p.Plugin == "bugmatcher" && len(p.Config) > 0 {
			_ = json.Unmarshal(p.Config, &out)
			break
		}
	}
	return out
}

// bugzillaOptions gathers the Bugzilla settings: the update_bugscache
// schedule's args, the bugmatcher processor's config, the environment, in
// that order. commenter picks HERDER_BUG_COMMENTER_API_KEY first, as
// Treeherder keeps a separate key for comments.
func bugzillaOptions(cfg *config.Config, log hclog.Logger, commenter bool) bugs.BugzillaOptions {
	pc := matcherProcessorConfig(cfg)
	opts := bugs.BugzillaOptions{AllowedHosts: cfg.AllowedHost, Log: log.Named("bugzilla")}
	for _, s := range cfg.Schedules {
		if s.Name == jobUpdateBugscache && s.Args["bugzilla_url"] != "" {
			opts.URL = s.Args["bugzilla_url"]
		}
	}
	if opts.URL == "" {
		opts.URL = pc.BugzillaURL
	}
	if opts.URL == "" {
		opts.URL = os.Getenv("HERDER_BUGZILLA_URL")
	}
	opts.APIKey = os.Getenv("HERDER_BUGZILLA_API_KEY")
	if opts.APIKey == "" {
		opts.APIKey = pc.APIKey
	}
	if commenter {
		if k := os.Getenv("HERDER_BUG_COMMENTER_API_KEY"); k != "" {
			opts.APIKey = k
		}
	}
	return opts
}

func newCommenter(cfg *config.Config, st *sqlstore.Store, log hclog.Logger, mode string, out io.Writer) (*bugs.Commenter, error) {
	switch mode {
	case bugs.ModeAuto, bugs.ModeDaily, bugs.ModeWeekly:
	default:
		return nil, usageError(fmt.Errorf("commenter mode %q: want auto, daily or weekly", mode))
	}
	bz, err := bugs.NewBugzilla(bugzillaOptions(cfg, log, true))
	if err != nil {
		return nil, usageError(err)
	}
	return &bugs.Commenter{Store: st, Bugzilla: bz, Mode: mode, PublicURL: publicURL(cfg), Log: log,
		Report: func(f string, a ...any) { fmt.Fprintf(out, f, a...) }}, nil
}

// lockerFor picks the leader-election lock of the backend: GET_LOCK on
// MySQL, a file lock beside the SQLite database.
func lockerFor(st *sqlstore.Store) schedule.Locker {
	if st.Backend() == "mysql" {
		return schedule.NewMySQLLocker(st.DB())
	}
	return schedule.NewFileLocker(schedule.LockDir(st.Addr()))
}

// matcherProcessors lists the processor blocks that run a bug matcher:
// the named one, or those of plugin bugmatcher; a plugin installed without
// a processor block gets one of its own.
func matcherProcessors(cfg *config.Config, name string) []config.Processor {
	var out []config.Processor
	for _, p := range cfg.Processors {
		if (name != "" && p.Name == name) || (name == "" && p.Plugin == "bugmatcher") {
			out = append(out, p)
		}
	}
	if len(out) == 0 && name == "" {
		out = append(out, config.Processor{Name: "bugmatcher", Plugin: "bugmatcher"})
	}
	return out
}

// startMatcher runs the bug matcher plugin on its own (for the CLI) and
// returns a matcher using it and a function that stops it.
func startMatcher(ctx context.Context, cfg *config.Config, name string, st *sqlstore.Store) (*bugs.Matcher, func(), error) {
	procs := matcherProcessors(cfg, name)
	if len(procs) == 0 {
		return nil, nil, usageError(fmt.Errorf("no processor named %q in the configuration", name))
	}
	only := *cfg
	only.Sources = nil
	only.Processors = procs[:1]
	log := newLogger(cfg)
	sup, err := pluginhost.New(&only, pluginhost.Options{Logger: log.Named("plugins"), LogLevel: cfg.Log.Level})
	if err != nil {
		return nil, nil, usageError(fmt.Errorf("plugins: %w", err))
	}
	if err := sup.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = sup.Stop(sctx)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := sup.WaitRunning(wctx, procs[0].Name); err != nil {
		stop()
		return nil, nil, fmt.Errorf("start the bug matcher: %w", err)
	}
	m := &bugs.Matcher{Proc: supervisorProcessor{sup}, Processor: procs[0].Name}
	if st != nil {
		m.Store = st
	}
	return m, stop, nil
}

// ---------------------------------------------------------------------------
// herder serve: bug matching after log parsing, and the scheduled jobs.

// startBugWork starts a bug dispatcher for the first processor that
// consumes bug matching tasks, and returns the store the log dispatcher
// should write through so parsed logs queue their follow-up work. Without
// a bug matcher, parsed logs still queue intermittent checks, which need
// no plugin.
func startBugWork(ctx context.Context, wg *sync.WaitGroup, sup *pluginhost.Supervisor, st *sqlstore.Store, log hclog.Logger, reg prometheus.Registerer) dispatch.LogStore {
	var name string
	for _, p := range sup.Processors() {
		if p.Plugin == "bugmatcher" || slices.Contains(p.Info.Consumes, sdk.TaskBugTerms) {
			name = p.Name
			break
		}
	}
	var m *bugs.Matcher
	if name != "" {
		m = &bugs.Matcher{Store: st, Proc: supervisorProcessor{sup}, Processor: name}
	}
	d := bugs.NewDispatcher(st, m, &bugs.Intermittents{Store: st}, bugs.DispatchOptions{Log: log, Registry: reg})
	wg.Add(1)
	go func() {
		defer wg.Done()
		if name == "" {
			log.Info("no bug matcher processor configured: error lines are not matched to bugs")
		} else if err := sup.WaitRunning(ctx, name); err != nil {
			log.Error("bug matcher not running; bug suggestions wait", "processor", name, "error", err)
		} else {
			log.Info("matching error lines to bugs", "processor", name)
		}
		d.Run(ctx)
	}()
	return bugs.FollowLogs{LogStore: st, Queue: st, Notify: d.Notify}
}

// startSchedules runs the scheduled jobs, in the elected process only.
func startSchedules(ctx context.Context, wg *sync.WaitGroup, cfg *config.Config, st *sqlstore.Store, log hclog.Logger, extra ...schedule.Job) {
	s := schedule.New(lockerFor(st), schedule.Options{Log: log})
	for _, j := range append(scheduledJobs(cfg, st, log), extra...) {
		if err := s.Add(j); err != nil {
			log.Error("scheduled job not added", "job", j.Name, "error", err)
		}
	}
	wg.Add(1)
	go func() { defer wg.Done(); s.Run(ctx) }()
}

// scheduledJobs are the configured schedule blocks of the jobs herder
// knows; update_bugscache also runs hourly by default once a bug matcher is
// configured. A block with enabled = false turns a job off.
func scheduledJobs(cfg *config.Config, st *sqlstore.Store, log hclog.Logger) []schedule.Job {
	specs := map[string]config.Schedule{}
	for _, s := range cfg.Schedules {
		specs[s.Name] = s
	}
	if _, ok := specs[jobUpdateBugscache]; !ok {
		for _, p := range cfg.Processors {
			if p.Plugin == "bugmatcher" {
				specs[jobUpdateBugscache] = config.Schedule{Name: jobUpdateBugscache, Cron: "@hourly", Enabled: true}
			}
		}
	}
	var jobs []schedule.Job
	for _, name := range []string{jobUpdateBugscache, jobCycleData, jobCommenter} {
		s, ok := specs[name]
		if !ok || !s.Enabled {
			continue
		}
		args := s.Args
		var run func(context.Context) error
		switch name {
		case jobUpdateBugscache:
			run = func(ctx context.Context) error {
				bz, err := bugs.NewBugzilla(bugzillaOptions(cfg, log, false))
				if err != nil {
					return err
				}
				rep, err := (&bugs.Sync{Store: st, Bugzilla: bz, Log: log, PublicURL: publicURL(cfg),
					Report: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) }}).Run(ctx)
				if err == nil {
					log.Info("bug cache synced", "fetched", rep.Fetched, "stored", rep.Stored, "skipped", len(rep.Skipped), "deleted", rep.Deleted)
				}
				return err
			}
		case jobCycleData:
			run = func(ctx context.Context) error {
				opts, err := cycleOptions(args)
				if err != nil {
					return err
				}
				rep, err := cycleData(ctx, st, opts, func(p string) { log.Debug(p) })
				if err == nil {
					log.Info("data cycled", "jobs", rep.Jobs, "failure_lines", rep.FailureLines, "orphans", rep.Orphans)
				}
				return err
			}
		case jobCommenter:
			run = func(ctx context.Context) error {
				mode := args["mode"]
				if mode == "" {
					mode = bugs.ModeAuto
				}
				c, err := newCommenter(cfg, st, log, mode, logWriter{log})
				if err != nil {
					return err
				}
				_, err = c.Run(ctx)
				return err
			}
		}
		jobs = append(jobs, schedule.Job{Name: name, Spec: s.Cron, Run: run})
	}
	for name := range specs {
		if name != jobUpdateBugscache && name != jobCycleData && name != jobCommenter {
			log.Warn("unknown scheduled job, ignored", "job", name)
		}
	}
	return jobs
}

// watchPrunes resets this process's reference caches when data cycling
// (perhaps in another process) pruned reference rows.
func watchPrunes(ctx context.Context, st *sqlstore.Store, log hclog.Logger) {
	last, _ := st.PruneGeneration(ctx)
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g, err := st.PruneGeneration(ctx)
			if err != nil {
				continue
			}
			if g != last {
				last = g
				st.ResetCaches()
				st.ResetReadCache()
				log.Info("reference data was pruned: caches reset", "generation", g)
			}
		}
	}
}

// logWriter turns printed reports into log lines.
type logWriter struct{ l hclog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Info(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// parseDays reads a positive number of days.
func parseDays(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("days %q: want a positive whole number", s)
	}
	return n, nil
}
