// Package processor is the log parser plugin's processor: it downloads a
// job's log (bounded in size and time, from allowed hosts only), parses it
// with package parse as Treeherder does, and returns what the host stores:
// error lines of a raw log, failure lines and group results of an
// errorsummary log, and performance data blobs.
package processor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/herder-ci/herder/plugins/logparser/parse"
	"github.com/herder-ci/herder/sdk"
)

// AlgorithmVersion is recorded with every result; it changes with
// parse.Version, so `herder logs reparse` finds results of older rules.
var AlgorithmVersion = fmt.Sprintf("logparser-%d", parse.Version)

// Log kinds, by the job_log name.
const (
	KindRaw     = "raw"  // live_backing_log
	KindSummary = "json" // errorsummary_json
	KindPerf    = "perf" // perfherder-data*.json
)

// LogKind tells how a log of this job_log name is parsed; "" for a name
// this processor does not handle.
func LogKind(name string) string {
	switch {
	case name == sdk.LogLiveBacking:
		return KindRaw
	case name == sdk.LogErrorSummary:
		return KindSummary
	case strings.HasPrefix(strings.ReplaceAll(name, "_", "-"), "perfherder-data"):
		// Treeherder's ingest_perfherder_data takes both spellings.
		return KindPerf
	}
	return ""
}

// Processor is the logparser plugin's sdk.Processor.
type Processor struct {
	st  atomic.Pointer[state]
	log *slog.Logger
}

type state struct {
	cfg   Config
	fetch *Fetcher
}

// New returns a processor with the default settings, which download
// nothing until Configure names allowed hosts.
func New(log *slog.Logger) *Processor {
	p, err := NewWithConfig(Config{}, nil, log)
	if err != nil {
		panic(err) // the zero Config is valid
	}
	return p
}

// NewWithConfig returns a configured processor; transport may be nil.
func NewWithConfig(c Config, transport http.RoundTripper, log *slog.Logger) (*Processor, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Processor{log: log}
	fetch := NewFetcher(c.AllowedHosts, c.UserAgent, transport)
	if err := fetch.Authorize(c.Credentials); err != nil {
		return nil, err
	}
	p.st.Store(&state{cfg: c, fetch: fetch})
	return p, nil
}

// Configure applies the processor block's settings (JSON).
func (p *Processor) Configure(_ context.Context, raw []byte) error {
	c, err := ParseConfig(raw)
	if err != nil {
		return err
	}
	fetch := NewFetcher(c.AllowedHosts, c.UserAgent, nil)
	if err := fetch.Authorize(c.Credentials); err != nil {
		return err
	}
	p.st.Store(&state{cfg: c, fetch: fetch})
	if len(c.AllowedHosts) == 0 {
		p.log.Warn("allowed_hosts is empty: every log download will be refused")
	}
	return nil
}

// Config returns the settings in use.
func (p *Processor) Config() Config { return p.st.Load().cfg }

func (p *Processor) Describe() sdk.ProcessorInfo {
	return sdk.ProcessorInfo{
		Name:             "logparser",
		Consumes:         []string{sdk.TaskLogParse},
		Produces:         []string{sdk.ResultLogParse},
		Concurrency:      p.st.Load().cfg.Concurrency,
		AlgorithmVersion: AlgorithmVersion,
	}
}

// Process parses the log a log.parse task names. A log that cannot be
// parsed for good (gone, too large, broken, not allowed) is a result with
// status failed or skipped-size; an error means "try again later".
func (p *Processor) Process(ctx context.Context, t sdk.Task) (sdk.Result, error) {
	if t.Kind != sdk.TaskLogParse {
		return sdk.Result{}, sdk.Permanent(fmt.Errorf("logparser: unsupported task kind %q", t.Kind))
	}
	var task sdk.LogParseTask
	if err := json.Unmarshal(t.Payload, &task); err != nil {
		return sdk.Result{}, sdk.Permanent(fmt.Errorf("logparser: decode task %s: %w", t.ID, err))
	}
	res, err := p.Parse(ctx, task)
	if err != nil {
		return sdk.Result{}, err
	}
	payload, err := json.Marshal(res)
	if err != nil {
		return sdk.Result{}, fmt.Errorf("encode result of log %d: %w", task.JobLogID, err)
	}
	if len(payload) > maxResultBytes {
		res = sdk.LogParseResult{Status: sdk.LogStatusFailed, AlgorithmVersion: AlgorithmVersion,
			Reason: fmt.Sprintf("parse result is %d bytes, more than the %d bytes a result may carry", len(payload), maxResultBytes)}
		payload, _ = json.Marshal(res)
	}
	return sdk.Result{Payload: payload}, nil
}

// Parse downloads and parses one log. The error is non-nil only for
// failures worth retrying (network errors, HTTP statuses other than 403 and
// 404, the caller's context ending).
func (p *Processor) Parse(ctx context.Context, task sdk.LogParseTask) (sdk.LogParseResult, error) {
	st := p.st.Load()
	start := time.Now()
	var res sdk.LogParseResult
	var err error
	switch LogKind(task.Name) {
	case KindRaw:
		res, err = st.parseRaw(ctx, task.URL)
	case KindSummary:
		res, err = st.parseSummary(ctx, task.URL)
	case KindPerf:
		res, err = st.parsePerf(ctx, task.URL)
	default:
		res = sdk.LogParseResult{Status: sdk.LogStatusFailed, Reason: fmt.Sprintf("logparser does not parse logs named %q", task.Name)}
	}
	if err != nil {
		return sdk.LogParseResult{}, err
	}
	res.AlgorithmVersion = AlgorithmVersion
	p.log.Debug("log parsed", "job_log", task.JobLogID, "name", task.Name, "status", res.Status,
		"reason", res.Reason, "errors", len(res.Errors), "failure_lines", len(res.FailureLines),
		"perf_blobs", len(res.PerfData), "took", time.Since(start))
	return res, nil
}

// RawSummary downloads a raw log as the plugin does and returns the parser's
// summary, with the errors as the text_log_summary artifact has them (not
// in stored form). For `herder logs parse URL`.
func (p *Processor) RawSummary(ctx context.Context, url string) (*parse.Summary, error) {
	st := p.st.Load()
	var sum *parse.Summary
	res, err := st.withLog(ctx, url, st.cfg.MaxDownloadBytes, func(ctx context.Context, r io.Reader) (sdk.LogParseResult, error) {
		var err error
		sum, err = parse.ParseErrors(ctx, r, parse.Options{MaxErrors: st.cfg.MaxErrorLines, MaxBytes: st.cfg.MaxLogBytes})
		return sdk.LogParseResult{Status: sdk.LogStatusParsed}, err
	})
	return sum, outcomeErr(res, err)
}

// SummaryOf downloads an errorsummary log as the plugin does and returns
// what the parser found. For `herder logs parse URL`.
func (p *Processor) SummaryOf(ctx context.Context, url string) (*parse.ErrorSummary, error) {
	st := p.st.Load()
	var es *parse.ErrorSummary
	res, err := st.withLog(ctx, url, st.cfg.MaxLogBytes, func(ctx context.Context, r io.Reader) (sdk.LogParseResult, error) {
		var err error
		es, err = parse.ParseErrorSummary(ctx, r, st.summaryOptions())
		return sdk.LogParseResult{Status: sdk.LogStatusParsed}, err
	})
	return es, outcomeErr(res, err)
}

// outcomeErr turns a recorded outcome back into an error (an *Outcome) for
// callers that want one.
func outcomeErr(res sdk.LogParseResult, err error) error {
	if err == nil && res.Status != sdk.LogStatusParsed {
		return &Outcome{Status: res.Status, Reason: res.Reason}
	}
	return err
}

func (st *state) summaryOptions() parse.SummaryOptions {
	return parse.SummaryOptions{Cutoff: st.cfg.MaxFailureLines, MaxBytes: st.cfg.MaxLogBytes}
}

func (st *state) parseRaw(ctx context.Context, url string) (sdk.LogParseResult, error) {
	return st.withLog(ctx, url, st.cfg.MaxDownloadBytes, func(ctx context.Context, r io.Reader) (sdk.LogParseResult, error) {
		sum, err := parse.ParseErrors(ctx, r, parse.Options{MaxErrors: st.cfg.MaxErrorLines, MaxBytes: st.cfg.MaxLogBytes})
		if err != nil {
			return sdk.LogParseResult{}, err
		}
		res := sdk.LogParseResult{Status: sdk.LogStatusParsed, Errors: make([]sdk.ErrorLine, len(sum.Errors))}
		for i, e := range sum.Errors {
			res.Errors[i] = sdk.ErrorLine{LineNumber: e.LineNumber, Line: parse.StoredLine(e.Line)}
		}
		var total int64
		for _, blob := range sum.PerfData {
			if total += int64(len(blob)); total > st.cfg.MaxPerfBytes {
				break
			}
			res.PerfData = append(res.PerfData, blob)
		}
		return res, nil
	})
}

func (st *state) parseSummary(ctx context.Context, url string) (sdk.LogParseResult, error) {
	// Treeherder puts no size cap on errorsummary logs, and reading stops
	// after the cutoff line, so only the uncompressed cap applies.
	return st.withLog(ctx, url, st.cfg.MaxLogBytes, func(ctx context.Context, r io.Reader) (sdk.LogParseResult, error) {
		es, err := parse.ParseErrorSummary(ctx, r, st.summaryOptions())
		if err != nil {
			return sdk.LogParseResult{}, err
		}
		res := sdk.LogParseResult{Status: sdk.LogStatusParsed}
		for _, l := range es.FailureLines {
			res.FailureLines = append(res.FailureLines, sdk.FailureLine(l))
		}
		for _, g := range es.Groups {
			res.Groups = append(res.Groups, sdk.GroupResult(g))
		}
		return res, nil
	})
}

func (st *state) parsePerf(ctx context.Context, url string) (sdk.LogParseResult, error) {
	limit := st.cfg.MaxPerfBytes
	return st.withLog(ctx, url, limit, func(ctx context.Context, r io.Reader) (sdk.LogParseResult, error) {
		data, err := io.ReadAll(io.LimitReader(r, limit+1))
		if err != nil {
			return sdk.LogParseResult{}, err
		}
		if int64(len(data)) > limit {
			return sdk.LogParseResult{}, skippedSize("performance artifact is more than %d bytes", limit)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return sdk.LogParseResult{}, failed("performance artifact is not valid JSON: %v", err)
		}
		res := sdk.LogParseResult{Status: sdk.LogStatusParsed}
		switch v := v.(type) {
		case map[string]any:
			if len(v) > 0 {
				var compact bytes.Buffer
				if err := json.Compact(&compact, data); err != nil {
					return sdk.LogParseResult{}, failed("performance artifact: %v", err)
				}
				res.PerfData = []json.RawMessage{compact.Bytes()}
			}
		case nil, bool, string, float64, []any:
			if !empty(v) {
				return sdk.LogParseResult{}, failed("performance artifact is not a JSON object")
			}
			// Treeherder logs an empty artifact and stores nothing.
		}
		return res, nil
	})
}

// empty is Python's falsiness for what json.loads returns.
func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case string:
		return v == ""
	case float64:
		return v == 0
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// withLog downloads url (at most limit bytes as sent), hands its plain text
// to parseFn under the configured timeout, and turns what went wrong into a
// recorded outcome or a retryable error.
func (st *state) withLog(ctx context.Context, url string, limit int64,
	parseFn func(ctx context.Context, r io.Reader) (sdk.LogParseResult, error)) (sdk.LogParseResult, error) {
	timeout := time.Duration(st.cfg.Timeout)
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dl, err := st.fetch.Open(tctx, url, limit)
	if err != nil {
		return classify(ctx, tctx, err, nil, timeout)
	}
	defer dl.Close()
	text, err := dl.Text()
	if err != nil {
		return classify(ctx, tctx, err, dl.Body, timeout)
	}
	res, err := parseFn(tctx, text)
	if err != nil {
		return classify(ctx, tctx, err, dl.Body, timeout)
	}
	return res, nil
}

// classify maps what ended a download or parse to a recorded result (a
// failed or skipped-size status with its reason) or to an error to retry.
func classify(ctx, tctx context.Context, err error, body *LimitedBody, timeout time.Duration) (sdk.LogParseResult, error) {
	var o *Outcome
	switch {
	case body != nil && body.over:
		return sdk.LogParseResult{Status: sdk.LogStatusSkippedSize,
			Reason: fmt.Sprintf("log is more than the %d-byte download limit", body.limit)}, nil
	case errors.As(err, &o):
		return sdk.LogParseResult{Status: o.Status, Reason: o.Reason}, nil
	case ctx.Err() != nil:
		// The host gave up on the call (shutdown, call timeout): not the
		// log's fault.
		return sdk.LogParseResult{}, fmt.Errorf("parse cancelled: %w", ctx.Err())
	case errors.Is(err, parse.ErrTooLarge):
		return sdk.LogParseResult{Status: sdk.LogStatusSkippedSize, Reason: err.Error()}, nil
	case body == nil && tctx.Err() != nil:
		// No answer within the timeout: the server may be slow for now.
		return sdk.LogParseResult{}, fmt.Errorf("no response within %s: %w", timeout, err)
	case tctx.Err() != nil:
		// A log that keeps coming (or trickles) past the timeout.
		return sdk.LogParseResult{Status: sdk.LogStatusFailed,
			Reason: fmt.Sprintf("log not read within %s (%d bytes downloaded)", timeout, body.N())}, nil
	case body == nil:
		return sdk.LogParseResult{}, err
	case body.Err() != nil:
		// The connection failed mid-body: retry.
		return sdk.LogParseResult{}, fmt.Errorf("read log: %w", body.Err())
	}
	// The body arrived whole but does not decode or parse (truncated or
	// corrupt gzip, malformed errorsummary): retrying gives the same.
	return sdk.LogParseResult{Status: sdk.LogStatusFailed, Reason: err.Error()}, nil
}
