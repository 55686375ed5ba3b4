package server

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/uptrace/bunrouter"

	"github.com/herder-ci/herder/core/store"
)

// timeWindow reads interval (seconds back from now) or start_date/end_date,
// which Treeherder refuses to combine.
func (a *readAPI) timeWindow(p *params) (from, to *int64, err error) {
	interval, start, end := p.get("interval"), p.get("start_date"), p.get("end_date")
	if interval != "" && (start != "" || end != "") {
		return nil, nil, badf("Provide either interval only -or- start (and end) date")
	}
	if interval != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(interval), 10, 64)
		if err != nil || n < 0 {
			return nil, nil, badf("Invalid value for interval: %q is not a number of seconds.", interval)
		}
		t := a.now().Unix() - n
		return &t, nil, nil
	}
	if start != "" {
		t, err := parseISO(start)
		if err != nil {
			return nil, nil, badf("Invalid value for start_date: %q is not an ISO 8601 datetime.", start)
		}
		s := t.Unix()
		from = &s
	}
	if end != "" {
		t, err := parseISO(end)
		if err != nil {
			return nil, nil, badf("Invalid value for end_date: %q is not an ISO 8601 datetime.", end)
		}
		e := t.Unix()
		to = &e
	}
	return from, to, nil
}

// perfSignatureJSON is one entry of performance/signatures/: the fields
// Treeherder always sends, then the ones it sends only when set.
type perfSignatureJSON struct {
	ID                   int64    `json:"id"`
	SignatureHash        string   `json:"signature_hash"`
	FrameworkID          int64    `json:"framework_id"`
	OptionCollectionHash string   `json:"option_collection_hash"`
	MachinePlatform      string   `json:"machine_platform"`
	Suite                string   `json:"suite"`
	ShouldAlert          *bool    `json:"should_alert"`
	AlertChangeType      *int64   `json:"alert_change_type"`
	AlertThreshold       *float64 `json:"alert_threshold"`
	MinBackWindow        *int64   `json:"min_back_window"`
	MaxBackWindow        *int64   `json:"max_back_window"`
	ForeWindow           *int64   `json:"fore_window"`
	LowerIsBetter        *bool    `json:"lower_is_better,omitempty"`
	Test                 string   `json:"test,omitempty"`
	Application          string   `json:"application,omitempty"`
	HasSubtests          bool     `json:"has_subtests,omitempty"`
	Tags                 []string `json:"tags,omitempty"`
	ParentSignature      string   `json:"parent_signature,omitempty"`
	ExtraOptions         []string `json:"extra_options,omitempty"`
	MeasurementUnit      string   `json:"measurement_unit,omitempty"`
}

func (a *readAPI) perfSignatures(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	repo, err := a.project(req)
	if err != nil {
		return err
	}
	q := store.PerfSignatureQuery{RepositoryID: repo.ID, Platform: p.get("platform")}
	if p.has("id") {
		if q.IDs, err = p.ints("id"); err != nil {
			return badf("One or more id values invalid (must be integer)")
		}
	}
	if p.has("framework") {
		if q.Frameworks, err = p.ints("framework"); err != nil {
			return err
		}
	}
	if p.has("signature") {
		q.Hashes = p.all("signature")
	}
	if p.has("parent_signature") {
		q.ParentHashes = p.all("parent_signature")
	}
	if v := p.get("subtests"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return badf("Invalid value for subtests: %q (want 0 or 1).", v)
		}
		q.NoSubtests = n == 0
	}
	if q.UpdatedAfter, q.UpdatedBefore, err = a.timeWindow(p); err != nil {
		return err
	}
	list, err := a.store.PerformanceSignatures(req.Context(), q)
	if err != nil {
		return err
	}
	out := make(object, 0, len(list))
	f := false
	for _, s := range list {
		e := perfSignatureJSON{
			ID: s.ID, SignatureHash: s.Hash, FrameworkID: s.FrameworkID, OptionCollectionHash: s.OptionCollectionHash,
			MachinePlatform: s.MachinePlatform, Suite: s.Suite, ShouldAlert: s.ShouldAlert,
			AlertChangeType: s.AlertChangeType, AlertThreshold: s.AlertThreshold, MinBackWindow: s.MinBackWindow,
			MaxBackWindow: s.MaxBackWindow, ForeWindow: s.ForeWindow, Test: s.Test, Application: s.Application,
			HasSubtests: s.HasSubtests, ParentSignature: s.ParentHash, MeasurementUnit: s.MeasurementUnit,
		}
		if !s.LowerIsBetter {
			e.LowerIsBetter = &f
		}
		if s.Tags != "" {
			e.Tags = strings.Split(s.Tags, " ")
		}
		if s.ExtraOptions != "" {
			e.ExtraOptions = strings.Split(s.ExtraOptions, " ")
		}
		out = append(out, member{strconv.FormatInt(s.ID, 10), e})
	}
	return sendJSON(w, http.StatusOK, out)
}

type perfDatumJSON struct {
	ID            int64   `json:"id"`
	SignatureID   int64   `json:"signature_id"`
	JobID         *int64  `json:"job_id"`
	PushID        int64   `json:"push_id"`
	Revision      string  `json:"revision"`
	PushTimestamp int64   `json:"push_timestamp"`
	Value         float64 `json:"value"`
}

func (a *readAPI) perfData(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	repo, err := a.project(req)
	if err != nil {
		return err
	}
	q := store.PerfDataQuery{RepositoryID: repo.ID}
	if p.has("signature_id") {
		if q.SignatureIDs, err = p.ints("signature_id"); err != nil {
			return err
		}
	}
	if p.has("signatures") {
		q.SignatureHashes = p.all("signatures")
	}
	if p.has("push_id") {
		if q.PushIDs, err = p.ints("push_id"); err != nil {
			return err
		}
	}
	if p.has("job_id") {
		if q.JobIDs, err = p.ints("job_id"); err != nil {
			return badf("Job id(s) must be specified as integers")
		}
	}
	if p.has("framework") {
		if q.Frameworks, err = p.ints("framework"); err != nil {
			return err
		}
	}
	if len(q.SignatureIDs) == 0 && len(q.SignatureHashes) == 0 && len(q.PushIDs) == 0 && len(q.JobIDs) == 0 {
		return badf("Need to specify either signature_id, signatures, push_id, or job_id")
	}
	if len(q.SignatureIDs) > 0 && len(q.SignatureHashes) > 0 {
		return badf("Can't specify both signature_id and signatures in same query")
	}
	if q.After, q.Before, err = a.timeWindow(p); err != nil {
		return err
	}
	noRetriggers := strings.EqualFold(p.get("no_retriggers"), "true") || p.get("no_retriggers") == "1"
	list, err := a.store.PerformanceData(req.Context(), q)
	if err != nil {
		return err
	}
	out := object{}
	index := map[string]int{}
	seenPush := map[string]map[int64]bool{}
	for _, d := range list {
		if noRetriggers {
			if seenPush[d.SignatureHash] == nil {
				seenPush[d.SignatureHash] = map[int64]bool{}
			}
			if seenPush[d.SignatureHash][d.PushID] {
				continue
			}
			seenPush[d.SignatureHash][d.PushID] = true
		}
		i, ok := index[d.SignatureHash]
		if !ok {
			i = len(out)
			index[d.SignatureHash] = i
			out = append(out, member{d.SignatureHash, []perfDatumJSON{}})
		}
		out[i].Value = append(out[i].Value.([]perfDatumJSON), perfDatumJSON{
			ID: d.ID, SignatureID: d.SignatureID, JobID: d.JobID, PushID: d.PushID, Revision: d.Revision,
			PushTimestamp: d.PushTimestamp, Value: math.Round(d.Value*100) / 100,
		})
	}
	return sendJSON(w, http.StatusOK, out)
}
