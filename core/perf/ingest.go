package perf

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/sdk"
)

// Framework is a performance framework (talos, awsy, ...). Data of an
// unknown or disabled framework is not stored, as in Perfherder.
type Framework struct {
	ID      int64
	Name    string
	Enabled bool
}

// Frameworks is herder's seed of the performance_framework table, with
// Treeherder's ids and names (its perf fixture), so signatures and API
// answers carry the same framework ids.
var Frameworks = []Framework{
	{1, "talos", true},
	{2, "build_metrics", true},
	{4, "awsy", true},
	{5, "awfy", false},
	{6, "platform_microbench", true},
	{11, "js-bench", true},
	{12, "devtools", true},
	{13, "browsertime", true},
	{14, "vcs", false},
	{15, "mozperftest", true},
	{16, "fxrecord", true},
	{17, "telemetry", true},
	{18, "mozharness", true},
}

// Alert change types as Perfherder stores them.
const (
	AlertPercentage = 0
	AlertAbsolute   = 1
)

// Job is what storing a job's performance data needs to know of the job.
type Job struct {
	ID                   int64
	RepositoryID         int64
	PushID               int64
	PushTime             int64 // unix seconds: every datum's push_timestamp
	MachinePlatformID    int64
	MachinePlatform      string // the platform name, as in the reference data signature
	OptionCollectionHash string
}

// Series is one performance signature with the job's data point for it.
type Series struct {
	FrameworkID     int64
	Application     string
	Hash            string
	ParentHash      string // the suite's summary signature, for a subtest of a suite with a value
	Suite           string
	Test            string // "" for a summary series
	Tags            string // sorted, space-separated
	ExtraOptions    string // sorted, space-separated
	MeasurementUnit *string
	LowerIsBetter   bool
	HasSubtests     bool
	ShouldAlert     *bool
	AlertChangeType *int64
	AlertThreshold  *float64
	MinBackWindow   *int64
	MaxBackWindow   *int64
	ForeWindow      *int64
	Value           float64
}

// Plan turns a validated artifact of one job into the series Perfherder
// stores (treeherder/etl/perf.py _load_perf_datum): per suite, a summary
// series when the suite has a value, and one series per subtest, whose
// hash includes the summary's. A subtest name given twice takes the first
// value.
func Plan(job Job, frameworkID int64, a *Artifact) []Series {
	app := ""
	if a.Application != nil {
		app = a.Application.Name
	}
	var out []Series
	for _, s := range a.Suites {
		tags := sortedJoin(s.Tags)
		extra := sortedJoin(s.ExtraOptions)
		props := SignatureProps{Suite: s.Name, OptionCollectionHash: job.OptionCollectionHash,
			MachinePlatform: job.MachinePlatform, TestOptions: s.ExtraOptions}
		parent := ""
		if s.Value != nil {
			parent = props.Hash()
			out = append(out, Series{
				FrameworkID: frameworkID, Application: app, Hash: parent, Suite: s.Name, Tags: tags, ExtraOptions: extra,
				MeasurementUnit: s.Unit, LowerIsBetter: orTrue(s.LowerIsBetter), HasSubtests: true,
				ShouldAlert: s.ShouldAlert, AlertChangeType: changeType(s.AlertChangeType), AlertThreshold: s.AlertThreshold,
				MinBackWindow: window(s.MinBackWindow), MaxBackWindow: window(s.MaxBackWindow), ForeWindow: window(s.ForeWindow),
				Value: *s.Value,
			})
		}
		first := map[string]float64{}
		for _, st := range s.Subtests {
			if _, seen := first[st.Name]; !seen {
				first[st.Name] = st.Value
			}
		}
		for _, st := range s.Subtests {
			sp := props
			name := st.Name
			sp.Test, sp.ParentSignature = &name, parent
			out = append(out, Series{
				FrameworkID: frameworkID, Application: app, Hash: sp.Hash(), ParentHash: parent, Suite: s.Name, Test: st.Name,
				Tags: tags, ExtraOptions: extra, MeasurementUnit: st.Unit, LowerIsBetter: orTrue(st.LowerIsBetter),
				ShouldAlert: st.ShouldAlert, AlertChangeType: changeType(st.AlertChangeType), AlertThreshold: st.AlertThreshold,
				MinBackWindow: window(st.MinBackWindow), MaxBackWindow: window(st.MaxBackWindow), ForeWindow: window(st.ForeWindow),
				Value: first[st.Name],
			})
		}
	}
	return out
}

func sortedJoin(xs []string) string {
	s := append([]string(nil), xs...)
	sort.Strings(s)
	return strings.Join(s, " ")
}

func orTrue(b *bool) bool { return b == nil || *b }

func changeType(s *string) *int64 {
	if s == nil {
		return nil
	}
	var v int64
	switch *s {
	case "percentage":
		v = AlertPercentage
	case "absolute":
		v = AlertAbsolute
	default:
		return nil
	}
	return &v
}

// window stores a window as Django's IntegerField does: truncated.
func window(f *float64) *int64 {
	if f == nil {
		return nil
	}
	v := int64(*f)
	return &v
}

// Store is what ingesting performance data needs of storage.
type Store interface {
	// PerfJob returns the job's repository, push, push time, machine
	// platform and option collection hash.
	PerfJob(ctx context.Context, jobID int64) (Job, error)
	// PerfFrameworks lists the performance frameworks.
	PerfFrameworks(ctx context.Context) ([]Framework, error)
	// StorePerfSeries creates or updates the series' signatures (parents
	// first) and adds the job's data points, keeping existing ones. It
	// returns how many data points were new.
	StorePerfSeries(ctx context.Context, job Job, series []Series) (int64, error)
	// StoreLogResult records a log's parse outcome (used to mark a
	// perfherder-data artifact that breaks the schema as failed).
	StoreLogResult(ctx context.Context, t model.LogTask, r sdk.LogParseResult) error
}

// Seeder seeds the framework table.
type Seeder interface {
	SeedPerfFrameworks(ctx context.Context, fws []Framework) error
}

// Seed makes sure Frameworks are in the store; frameworks already there
// keep their settings.
func Seed(ctx context.Context, s Seeder) error {
	if err := s.SeedPerfFrameworks(ctx, Frameworks); err != nil {
		return fmt.Errorf("seed performance frameworks: %w", err)
	}
	return nil
}

// Ingester stores the performance data found by log parses.
type Ingester struct {
	store Store
	log   hclog.Logger
	blobs *prometheus.CounterVec
}

// NewIngester makes an ingester; log and reg may be nil.
func NewIngester(s Store, log hclog.Logger, reg prometheus.Registerer) *Ingester {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	in := &Ingester{store: s, log: log.Named("perf"), blobs: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herder_perf_blobs_total",
		Help: "Performance data blobs and artifacts seen, by outcome (stored, invalid, unknown_framework, disabled_framework).",
	}, []string{"outcome"})}
	if reg != nil {
		reg.MustRegister(in.blobs)
	}
	return in
}

// Stats says what one Ingest did.
type Stats struct {
	Blobs, Invalid, Skipped int   // blobs seen, failing the schema, of an unknown or disabled framework
	Series                  int   // signatures created or updated
	NewData                 int64 // data points added
	// FirstInvalid is the first schema error, if any.
	FirstInvalid error
}

// Ingest validates a job's performance blobs and stores those of known,
// enabled frameworks. Blobs that break the schema are skipped and counted,
// as Treeherder's log parser drops them.
func (in *Ingester) Ingest(ctx context.Context, jobID int64, blobs []json.RawMessage) (Stats, error) {
	st := Stats{Blobs: len(blobs)}
	if len(blobs) == 0 {
		return st, nil
	}
	job, err := in.store.PerfJob(ctx, jobID)
	if err != nil {
		return st, fmt.Errorf("performance data of job %d: %w", jobID, err)
	}
	fwList, err := in.store.PerfFrameworks(ctx)
	if err != nil {
		return st, fmt.Errorf("performance frameworks: %w", err)
	}
	fws := make(map[string]Framework, len(fwList))
	for _, f := range fwList {
		fws[f.Name] = f
	}
	var series []Series
	for i, blob := range blobs {
		a, err := Validate(blob)
		if err != nil {
			st.Invalid++
			if st.FirstInvalid == nil {
				st.FirstInvalid = err
			}
			in.blobs.WithLabelValues("invalid").Inc()
			in.log.Warn("performance data dropped", "job", jobID, "blob", i, "error", err)
			continue
		}
		fw, ok := fws[a.Framework]
		switch {
		case !ok:
			st.Skipped++
			in.blobs.WithLabelValues("unknown_framework").Inc()
			if a.Framework != "job_resource_usage" { // Treeherder skips this one silently
				in.log.Warn("performance framework does not exist, data not stored", "job", jobID, "framework", a.Framework)
			}
			continue
		case !fw.Enabled:
			st.Skipped++
			in.blobs.WithLabelValues("disabled_framework").Inc()
			in.log.Info("performance framework is not enabled, data not stored", "job", jobID, "framework", a.Framework)
			continue
		}
		in.blobs.WithLabelValues("stored").Inc()
		series = append(series, Plan(job, fw.ID, a)...)
	}
	if len(series) == 0 {
		return st, nil
	}
	n, err := in.store.StorePerfSeries(ctx, job, series)
	if err != nil {
		return st, fmt.Errorf("store performance data of job %d: %w", jobID, err)
	}
	st.Series, st.NewData = len(series), n
	return st, nil
}

// CheckPerfData returns the result a log's parse should be stored with: a
// perfherder-data artifact that breaks the schema fails its log, as
// Treeherder does. Checking before the result is stored keeps a log to one
// stored result.
func (in *Ingester) CheckPerfData(t model.LogTask, r sdk.LogParseResult) sdk.LogParseResult {
	if r.Status != sdk.LogStatusParsed || len(r.PerfData) == 0 || !strings.HasPrefix(strings.ReplaceAll(t.Name, "_", "-"), "perfherder-data") {
		return r
	}
	for _, blob := range r.PerfData {
		if _, err := Validate(blob); err != nil {
			in.blobs.WithLabelValues("invalid").Inc()
			in.log.Warn("performance artifact fails the schema", "job_log", t.JobLogID, "error", err)
			return sdk.LogParseResult{Status: sdk.LogStatusFailed, Reason: err.Error(), AlgorithmVersion: r.AlgorithmVersion}
		}
	}
	return r
}

// StorePerfData stores the performance data of a stored parse result: the
// PERFHERDER_DATA blobs of a raw log, or a perfherder-data artifact. An
// artifact that breaks the schema marks its log failed, as Treeherder does.
func (in *Ingester) StorePerfData(ctx context.Context, t model.LogTask, r sdk.LogParseResult) error {
	if r.Status != sdk.LogStatusParsed || len(r.PerfData) == 0 {
		return nil
	}
	artifact := strings.HasPrefix(strings.ReplaceAll(t.Name, "_", "-"), "perfherder-data")
	if artifact {
		// Validate first: a failed artifact stores nothing at all.
		for _, blob := range r.PerfData {
			if _, err := Validate(blob); err != nil {
				in.blobs.WithLabelValues("invalid").Inc()
				in.log.Warn("performance artifact fails the schema", "job_log", t.JobLogID, "error", err)
				return in.store.StoreLogResult(ctx, t, sdk.LogParseResult{
					Status: sdk.LogStatusFailed, Reason: err.Error(), AlgorithmVersion: r.AlgorithmVersion,
				})
			}
		}
	}
	st, err := in.Ingest(ctx, t.JobID, r.PerfData)
	if err != nil {
		return err
	}
	in.log.Debug("performance data stored", "job_log", t.JobLogID, "blobs", st.Blobs, "invalid", st.Invalid,
		"skipped", st.Skipped, "series", st.Series, "new_data", st.NewData)
	return nil
}
