package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/core/dispatch"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/plugins/logparser/parse"
	"github.com/herder-ci/herder/plugins/logparser/processor"
)

func init() {
	logsCmd := &cobra.Command{
		Use:   "logs",
		Short: "Parse a log by hand, reparse stored logs, and see where log parsing stands",
	}

	var asJSON bool
	var kind, logURL string
	var maxDownload int64
	parseCmd := &cobra.Command{
		Use:   "parse FILE|URL",
		Short: "Parse one log as the logparser plugin does and print its error lines",
		Long: `Parse one log (a file, gzipped or not, or an http(s) URL) in process, with the
logparser plugin's rules and, for a URL, its bounded download. With --json the
output is exactly Treeherder's text_log_summary artifact, the shape of its
*.logview.json fixtures: {"logurl": ..., "errors": [{"linenumber": N, "line": ...}]}.

A log whose name contains "errorsummary" is read as a structured errorsummary
log (failure lines and group results); --kind overrides the guess.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			shown := logURL
			if shown == "" {
				shown = args[0]
			}
			return logsParse(contextOrBackground(cmd.Context()), cmd.OutOrStdout(), args[0], shown, kind, asJSON, maxDownload)
		},
	}
	parseCmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the *.logview.json shape for raw logs)")
	parseCmd.Flags().StringVar(&kind, "kind", "auto", "log kind: raw, errorsummary or auto (by name)")
	parseCmd.Flags().StringVar(&logURL, "logurl", "", "the logurl to print (default: FILE or URL as given)")
	parseCmd.Flags().Int64Var(&maxDownload, "max-download-bytes", processor.DefaultMaxDownloadBytes,
		"for a URL: largest raw log downloaded, compressed (Treeherder's cap is 5 MiB)")

	var since string
	var all bool
	reparseCmd := &cobra.Command{
		Use:   "reparse --since DATE",
		Short: "Mark stored logs for parsing again; `herder serve` then reparses them",
		Long: `Mark the parsed and failed logs of jobs submitted since DATE as pending, so that
a running (or the next) herder serve parses them again. By default only logs
parsed by another algorithm version than the current one (` + processor.AlgorithmVersion + `) are reset;
--all resets every one. DATE is YYYY-MM-DD, an RFC 3339 time, or an age such
as 36h or 7d.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if since == "" {
				return usageError(errors.New("--since is required (YYYY-MM-DD, RFC 3339, or an age such as 7d)"))
			}
			t, err := parseSince(since, time.Now())
			if err != nil {
				return usageError(err)
			}
			return logsReparse(contextOrBackground(cmd.Context()), cmd.OutOrStdout(), t, all)
		},
	}
	reparseCmd.Flags().StringVar(&since, "since", "", "reset logs of jobs submitted since this date (YYYY-MM-DD, RFC 3339, or an age: 36h, 7d)")
	reparseCmd.Flags().BoolVar(&all, "all", false, "reset every parsed and failed log, whatever its algorithm version")

	var statusJSON bool
	statusCmd := &cobra.Command{
		Use:   "status",
		Short: "Count logs by parse status and lane",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return logsStatus(contextOrBackground(cmd.Context()), cmd.OutOrStdout(), statusJSON)
		},
	}
	statusCmd.Flags().BoolVar(&statusJSON, "json", false, "print JSON")

	logsCmd.AddCommand(parseCmd, reparseCmd, statusCmd)
	rootCmd.AddCommand(logsCmd)
}

func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func logsParse(ctx context.Context, out io.Writer, src, shown, kind string, asJSON bool, maxDownload int64) error {
	switch kind {
	case "auto":
		kind = "raw"
		name := src
		if u, err := url.Parse(src); err == nil && isURL(src) {
			name = u.Path
		}
		if strings.Contains(strings.ToLower(name), "errorsummary") {
			kind = "errorsummary"
		}
	case "raw", "errorsummary":
	default:
		return usageError(fmt.Errorf("--kind %q: want raw, errorsummary or auto", kind))
	}
	// The user named this URL: any host may serve it (and its redirects).
	p, err := processor.NewWithConfig(processor.Config{AllowedHosts: []string{"*"}, MaxDownloadBytes: maxDownload}, nil, nil)
	if err != nil {
		return usageError(err)
	}
	open := func() (io.Reader, func(), error) {
		f, err := os.Open(src)
		if err != nil {
			return nil, nil, usageError(err)
		}
		r, err := parse.DetectAndDecompress(f)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("%s: %w", src, err)
		}
		return r, func() { f.Close() }, nil
	}
	if kind == "errorsummary" {
		var es *parse.ErrorSummary
		var perr error
		if isURL(src) {
			es, perr = p.SummaryOf(ctx, src)
		} else {
			r, done, err := open()
			if err != nil {
				return err
			}
			defer done()
			es, perr = parse.ParseErrorSummary(ctx, r, parse.SummaryOptions{})
		}
		if es != nil {
			printSummary(out, shown, es, asJSON)
		}
		if perr != nil {
			return fmt.Errorf("%s: %w", src, perr)
		}
		return nil
	}
	var sum *parse.Summary
	var perr error
	if isURL(src) {
		sum, perr = p.RawSummary(ctx, src)
	} else {
		r, done, err := open()
		if err != nil {
			return err
		}
		defer done()
		sum, perr = parse.ParseErrors(ctx, r, parse.Options{})
	}
	if sum != nil {
		if asJSON {
			out.Write(parse.LogView{LogURL: shown, Errors: sum.Errors}.PythonJSON())
		} else {
			fmt.Fprintf(out, "%s\n%d error lines (%d lines, %d bytes read", shown, len(sum.Errors), sum.Lines, sum.Bytes)
			if len(sum.PerfData) > 0 || sum.PerfRejected > 0 {
				fmt.Fprintf(out, "; %d PERFHERDER_DATA blobs, %d rejected", len(sum.PerfData), sum.PerfRejected)
			}
			fmt.Fprintln(out, ")")
			for _, e := range sum.Errors {
				fmt.Fprintf(out, "%8d  %s\n", e.LineNumber, e.Line)
			}
		}
	}
	if perr != nil {
		return fmt.Errorf("%s: %w", src, perr)
	}
	return nil
}

func printSummary(out io.Writer, src string, es *parse.ErrorSummary, asJSON bool) {
	if asJSON {
		v := struct {
			LogURL       string              `json:"logurl"`
			FailureLines []parse.FailureLine `json:"failure_lines"`
			Groups       []parse.GroupResult `json:"groups"`
			Truncated    bool                `json:"truncated"`
		}{src, es.FailureLines, es.Groups, es.Truncated}
		if v.FailureLines == nil {
			v.FailureLines = []parse.FailureLine{}
		}
		if v.Groups == nil {
			v.Groups = []parse.GroupResult{}
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		out.Write(append(b, '\n'))
		return
	}
	fmt.Fprintf(out, "%s\n%d failure lines, %d group results (%d lines read", src, len(es.FailureLines), len(es.Groups), es.Lines)
	if es.Truncated {
		fmt.Fprint(out, ", truncated at the cutoff")
	}
	fmt.Fprintln(out, ")")
	str := func(p *string) string {
		if p == nil {
			return "-"
		}
		return *p
	}
	for _, l := range es.FailureLines {
		fmt.Fprintf(out, "%8d  %-11s %-8s %s | %s | %s\n", l.Line, l.Action, l.Status, str(l.Test), str(l.Subtest), str(l.Message))
	}
	status := map[int]string{parse.GroupOK: "OK", parse.GroupError: "ERROR", parse.GroupSkip: "SKIP", parse.GroupUnsupported: "UNSUPPORTED"}
	for _, g := range es.Groups {
		fmt.Fprintf(out, "  group %-11s %5ds  %s\n", status[g.Status], g.Duration, g.Group)
	}
}

// parseSince reads YYYY-MM-DD (UTC midnight), an RFC 3339 time, or an age
// (a Go duration such as 36h, or N days as Nd).
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want YYYY-MM-DD, an RFC 3339 time, or an age such as 36h or 7d", s)
}

func logsReparse(ctx context.Context, out io.Writer, since time.Time, all bool) error {
	return withPreparedStore(ctx, func(ctx context.Context, _ *config.Config, st *sqlstore.Store) error {
		version := processor.AlgorithmVersion
		if all {
			version = ""
		}
		n, err := st.ResetLogs(ctx, since.Unix(), version)
		if err != nil {
			return err
		}
		which := "parsed by another version than " + processor.AlgorithmVersion
		if all {
			which = "parsed or failed"
		}
		fmt.Fprintf(out, "reset %d logs (%s, of jobs submitted since %s); herder serve parses them again\n",
			n, which, since.UTC().Format(time.RFC3339))
		return nil
	})
}

// laneOf names the dispatch lane that takes logs of a kind and job class.
func laneOf(kind string, failed bool) string {
	for _, l := range dispatch.DefaultLanes {
		if l.Kind != kind {
			continue
		}
		if l.Jobs == model.JobsAny || (l.Jobs == model.JobsFailed) == failed {
			return l.Name
		}
	}
	return "-"
}

type logStatusRow struct {
	Lane   string `json:"lane"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Count  int64  `json:"count"`
}

func logsStatus(ctx context.Context, out io.Writer, asJSON bool) error {
	return withPreparedStore(ctx, func(ctx context.Context, _ *config.Config, st *sqlstore.Store) error {
		counts, err := st.LogCounts(ctx)
		if err != nil {
			return err
		}
		rows := statusRows(counts)
		if asJSON {
			if rows == nil {
				rows = []logStatusRow{}
			}
			b, _ := json.MarshalIndent(rows, "", "  ")
			out.Write(append(b, '\n'))
			return nil
		}
		statuses := []string{"pending", "parsed", "failed", "skipped-size"}
		byLane := map[string]map[string]int64{}
		var lanes []string
		for _, l := range dispatch.DefaultLanes {
			lanes = append(lanes, l.Name)
			byLane[l.Name] = map[string]int64{}
		}
		for _, r := range rows {
			if byLane[r.Lane] == nil {
				lanes = append(lanes, r.Lane)
				byLane[r.Lane] = map[string]int64{}
			}
			byLane[r.Lane][r.Status] += r.Count
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LANE\tPENDING\tPARSED\tFAILED\tSKIPPED-SIZE\tTOTAL")
		totals := map[string]int64{}
		row := func(name string, counts map[string]int64) {
			var sum int64
			cells := []string{name}
			for _, s := range statuses {
				cells = append(cells, strconv.FormatInt(counts[s], 10))
				sum += counts[s]
			}
			fmt.Fprintln(tw, strings.Join(append(cells, strconv.FormatInt(sum, 10)), "\t"))
		}
		for _, lane := range lanes {
			row(lane, byLane[lane])
			for s, n := range byLane[lane] {
				totals[s] += n
			}
		}
		row("total", totals)
		return tw.Flush()
	})
}

func statusRows(counts []sqlstore.LogCount) []logStatusRow {
	var rows []logStatusRow
	for _, c := range counts {
		name, ok := model.LogStatusNames[c.Status]
		if !ok {
			name = strconv.Itoa(c.Status)
		}
		rows = append(rows, logStatusRow{Lane: laneOf(c.Kind, c.Failed), Kind: c.Kind, Status: name, Count: c.Count})
	}
	// Rows of one lane and status may come from several groups (perf logs
	// of failed and successful jobs): add them up.
	merged := map[[2]string]int{}
	var out []logStatusRow
	for _, r := range rows {
		k := [2]string{r.Lane, r.Status}
		if i, ok := merged[k]; ok {
			out[i].Count += r.Count
			continue
		}
		merged[k] = len(out)
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Lane < out[j].Lane })
	return out
}
