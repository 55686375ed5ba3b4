package match

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/herder-ci/herder/sdk"
)

// DefaultConcurrency is how many jobs one plugin process works on at once;
// the work is CPU-bound and short.
const DefaultConcurrency = 4

// maxLines bounds one task: a job has at most 40 error lines in Treeherder
// (MAX_ERROR_LINES); a task far beyond that is a host bug, not a job.
const maxLines = 10000

// Processor is the bug matcher plugin: it answers TaskBugTerms and
// TaskBugMatch for one job at a time.
type Processor struct {
	concurrency int
}

// Config is the processor block's settings. The Bugzilla fields of the
// example configuration are read by the host (which syncs the bug cache);
// the plugin accepts and ignores them.
type Config struct {
	Concurrency int `json:"concurrency"`
}

// New returns the processor with its defaults.
func New() *Processor { return &Processor{concurrency: DefaultConcurrency} }

// Configure takes the processor block's settings.
func (p *Processor) Configure(_ context.Context, raw []byte) error {
	if len(raw) == 0 {
		return nil
	}
	var c Config
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("bugmatcher config: %w", err)
	}
	if c.Concurrency < 0 {
		return fmt.Errorf("bugmatcher config: concurrency %d is negative", c.Concurrency)
	}
	if c.Concurrency > 0 {
		p.concurrency = c.Concurrency
	}
	return nil
}

// Describe says what the processor consumes.
func (p *Processor) Describe() sdk.ProcessorInfo {
	return sdk.ProcessorInfo{
		Name:             "bugmatcher",
		Consumes:         []string{sdk.TaskBugTerms, sdk.TaskBugMatch},
		Produces:         []string{sdk.TaskBugTerms + ".result", sdk.TaskBugMatch + ".result"},
		Concurrency:      p.concurrency,
		AlgorithmVersion: AlgorithmVersion,
	}
}

// Process answers one task. A payload that does not decode is a permanent
// failure: sending it again cannot help.
func (p *Processor) Process(_ context.Context, task sdk.Task) (sdk.Result, error) {
	var out any
	switch task.Kind {
	case sdk.TaskBugTerms:
		var t sdk.BugTermsTask
		if err := json.Unmarshal(task.Payload, &t); err != nil {
			return sdk.Result{}, sdk.Permanent(fmt.Errorf("task %s: decode %s payload: %w", task.ID, task.Kind, err))
		}
		if len(t.Lines) > maxLines {
			return sdk.Result{}, sdk.Permanent(fmt.Errorf("task %s: %d lines, more than %d", task.ID, len(t.Lines), maxLines))
		}
		out = TermsFor(t)
	case sdk.TaskBugMatch:
		var t sdk.BugMatchTask
		if err := json.Unmarshal(task.Payload, &t); err != nil {
			return sdk.Result{}, sdk.Permanent(fmt.Errorf("task %s: decode %s payload: %w", task.ID, task.Kind, err))
		}
		if len(t.Lines) > maxLines {
			return sdk.Result{}, sdk.Permanent(fmt.Errorf("task %s: %d lines, more than %d", task.ID, len(t.Lines), maxLines))
		}
		out = MatchFor(t)
	default:
		return sdk.Result{}, sdk.Permanent(fmt.Errorf("task %s: unknown kind %q (want %s or %s)", task.ID, task.Kind, sdk.TaskBugTerms, sdk.TaskBugMatch))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return sdk.Result{}, fmt.Errorf("task %s: encode result: %w", task.ID, err)
	}
	return sdk.Result{Payload: b}, nil
}

// TermsFor runs the text rules over a job's lines.
func TermsFor(t sdk.BugTermsTask) sdk.BugTermsResult {
	res := sdk.BugTermsResult{AlgorithmVersion: AlgorithmVersion, Lines: make([]sdk.BugLineTerms, 0, len(t.Lines))}
	for _, l := range t.Lines {
		res.Lines = append(res.Lines, LineTerms(l))
	}
	return res
}

// LineTerms is the terms of one line, or a refusal for junk.
func LineTerms(l sdk.BugLine) sdk.BugLineTerms {
	reason := Refuse(l.Line)
	line := l.Line
	if reason != "" {
		// Keep the line showable (and storable) while refusing to search it.
		line = strings.ReplaceAll(strings.ToValidUTF8(line, "\uFFFD"), "\x00", "\uFFFD")
	}
	clean := CleanLine(line)
	lt := sdk.BugLineTerms{LineNumber: l.LineNumber, Search: clean, CounterKey: CounterKey(clean), NoTermReason: reason}
	if reason != "" {
		lt.SearchTerms = []*string{nil}
		return lt
	}
	terms := SearchTerms(clean)
	lt.SearchTerms, lt.PathEnd = terms.SearchTerms, terms.PathEnd
	lt.CrashSignature = CrashSignature(clean)
	return lt
}

// MatchFor filters and ranks the host's candidates for every line.
func MatchFor(t sdk.BugMatchTask) sdk.BugMatchResult {
	res := sdk.BugMatchResult{AlgorithmVersion: AlgorithmVersion, Lines: make([]sdk.BugLineMatch, 0, len(t.Lines))}
	for _, l := range t.Lines {
		res.Lines = append(res.Lines, MatchLine(l, t.Candidates))
	}
	return res
}
