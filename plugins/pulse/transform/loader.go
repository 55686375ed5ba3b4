package transform

import (
	"fmt"
	"maps"
	"strings"
	"unicode/utf8"

	"github.com/herder-ci/herder/sdk"
)

// Result maps of job_loader.py: a failed test job is orange (testfailed),
// any other failed job red (busted).
var (
	testResults = map[string]string{
		"success": sdk.ResultSuccess, "fail": sdk.ResultTestFailed, "exception": sdk.ResultException,
		"retry": sdk.ResultRetry, "canceled": sdk.ResultUserCancel, "superseded": sdk.ResultSuperseded,
		"unknown": sdk.ResultUnknown,
	}
	buildResults = map[string]string{
		"success": sdk.ResultSuccess, "fail": sdk.ResultBusted, "exception": sdk.ResultException,
		"retry": sdk.ResultRetry, "canceled": sdk.ResultUserCancel, "superseded": sdk.ResultSuperseded,
		"unknown": sdk.ResultUnknown,
	}
)

// ParsePulseJob decodes a job in pulse-job.yml format (the older Pulse job
// format, or PulseJob's output serialized). It does not validate: that is
// PulseJobToDatum's first step.
func ParsePulseJob(data []byte) (PulseJob, error) {
	var v any
	if err := decodeJSON(data, &v, "pulse-job"); err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, schemaErr("pulse-job", "", "want object, got %s", describe(v))
	}
	return PulseJob(m), nil
}

// PulseJobToDatum is job_loader.py's validation and transform: owners over 50
// characters are cut to 49, the job is validated against pulse-job
// (*SchemaError), unscheduled jobs are skipped (ErrUnscheduled), and the
// rest becomes the store datum. Project is set from origin.project; the
// repository and push checks are the host's.
func PulseJobToDatum(job PulseJob) (sdk.JobDatum, error) {
	if job == nil {
		return sdk.JobDatum{}, schemaErr("pulse-job", "", "want object, got null")
	}
	owner, ok := job["owner"]
	if !ok {
		// Treeherder's loader reads job["owner"] before validating.
		return sdk.JobDatum{}, schemaErr("pulse-job", "owner", "required property missing")
	}
	if s, ok := owner.(string); ok && utf8.RuneCountInString(s) > 50 {
		job = maps.Clone(job)
		job["owner"] = sliceRunes(s, 49)
	}
	if err := ValidatePulseJob(job); err != nil {
		return sdk.JobDatum{}, err
	}
	if job["state"] == sdk.StateUnscheduled {
		return sdk.JobDatum{}, fmt.Errorf("job %v: %w", job["taskId"], ErrUnscheduled)
	}
	return transformPulseJob(job)
}

// transformPulseJob is JobLoader.transform on a validated job.
func transformPulseJob(job PulseJob) (sdk.JobDatum, error) {
	display := job["display"].(map[string]any)
	origin := job["origin"].(map[string]any)
	guid := job["taskId"].(string)
	j := sdk.Job{
		JobGUID:          guid,
		Name:             strOr(display, "jobName", "unknown"),
		JobSymbol:        strOr(display, "jobSymbol", ""),
		GroupName:        strOr(display, "groupName", "unknown"),
		GroupSymbol:      strOr(display, "groupSymbol", ""),
		ProductName:      strOr(job, "productName", "unknown"),
		State:            job["state"].(string),
		Result:           jobResult(job),
		Reason:           strOr(job, "reason", "unknown"),
		Who:              strOr(job, "owner", "unknown"),
		BuildSystemType:  job["buildSystem"].(string),
		Tier:             1,
		Machine:          jobMachine(job),
		OptionCollection: map[string]bool{},
	}
	if c, ok := display["chunkId"]; ok {
		j.JobSymbol += pyStr(c)
	}
	if v, ok := job["tier"]; ok {
		j.Tier = toInt(v)
	}
	if labels, ok := job["labels"].([]any); ok {
		for _, l := range labels {
			j.OptionCollection[l.(string)] = true
		}
	}
	j.LogReferences = logReferences(job)
	j.PerfherderDataReferences = perfherderReferences(job)

	for _, tf := range []struct {
		field string
		dst   *int64
	}{{"timeScheduled", &j.SubmitTimestamp}, {"timeStarted", &j.StartTimestamp}, {"timeCompleted", &j.EndTimestamp}} {
		if v, ok := job[tf.field]; ok {
			ts, err := ToTimestamp(v.(string))
			if err != nil {
				return sdk.JobDatum{}, schemaErr("pulse-job", tf.field, "%v", err)
			}
			*tf.dst = ts
		}
	}

	// If only one machine is given it serves as both platforms.
	build, hasBuild := job["buildMachine"].(map[string]any)
	run, hasRun := job["runMachine"].(map[string]any)
	def := build
	if !hasBuild {
		def = run
	}
	if !hasBuild {
		build = def
	}
	if !hasRun {
		run = def
	}
	j.BuildPlatform, j.MachinePlatform = platform(build), platform(run)

	if slug, retry, err := TaskAndRetryIDs(guid); err == nil {
		j.TaskclusterTaskID, j.TaskclusterRetryID = slug, retry
	}

	superseded := []string{}
	if c, ok := job["coalesced"].([]any); ok {
		for _, g := range c {
			superseded = append(superseded, g.(string))
		}
	}
	return sdk.JobDatum{
		Project:    origin["project"].(string),
		Revision:   origin["revision"].(string),
		Superseded: superseded,
		Job:        j,
	}, nil
}

func strOr(m map[string]any, key, def string) string {
	if v, ok := m[key]; ok {
		s, _ := v.(string)
		return s
	}
	return def
}

// jobResult: only completed jobs have a result; a retried run is "retry".
func jobResult(job PulseJob) string {
	if job["state"] != sdk.StateCompleted {
		return sdk.ResultUnknown
	}
	if retried, _ := job["isRetried"].(bool); retried {
		return sdk.ResultRetry
	}
	results := buildResults
	if job["jobKind"] == "test" {
		results = testResults
	}
	result := strOr(job, "result", "unknown")
	return results[result]
}

func jobMachine(job PulseJob) string {
	for _, key := range []string{"buildMachine", "runMachine"} {
		if m, ok := job[key].(map[string]any); ok {
			return strOr(m, "name", "unknown")
		}
	}
	return "unknown"
}

// platform is _get_platform. With neither machine Treeherder writes {} and
// its store then uses "unknown" for each part; sdk.Platform cannot say {}, so
// the parts are "unknown" here already.
func platform(m map[string]any) sdk.Platform {
	if len(m) == 0 {
		return sdk.Platform{Platform: "unknown", OSName: "unknown", Architecture: "unknown"}
	}
	return sdk.Platform{
		Platform:     m["platform"].(string),
		OSName:       m["os"].(string),
		Architecture: m["architecture"].(string),
	}
}

func links(job PulseJob) []any {
	info, _ := job["jobInfo"].(map[string]any)
	l, _ := info["links"].([]any)
	return l
}

// logReferences: the job's logs, then an errorsummary_json log for every link
// whose text ends in _errorsummary.log.
func logReferences(job PulseJob) []sdk.LogReference {
	refs := []sdk.LogReference{}
	if logs, ok := job["logs"].([]any); ok {
		for _, l := range logs {
			m := l.(map[string]any)
			refs = append(refs, sdk.LogReference{Name: m["name"].(string), URL: m["url"].(string), ParseStatus: "pending"})
		}
	}
	for _, l := range links(job) {
		m := l.(map[string]any)
		text, _ := m["linkText"].(string)
		url, hasURL := m["url"].(string)
		if hasURL && strings.HasSuffix(text, "_errorsummary.log") {
			refs = append(refs, sdk.LogReference{Name: sdk.LogErrorSummary, URL: url, ParseStatus: "pending"})
		}
	}
	return refs
}

// perfherderReferences: links to perfherder-data*.json artifacts, named by
// their link text.
func perfherderReferences(job PulseJob) []sdk.LogReference {
	refs := []sdk.LogReference{}
	for _, l := range links(job) {
		m := l.(map[string]any)
		url, _ := m["url"].(string)
		if url != "" && strings.Contains(url, "perfherder-data") && strings.HasSuffix(url, ".json") {
			text, _ := m["linkText"].(string)
			refs = append(refs, sdk.LogReference{Name: text, URL: url, ParseStatus: "pending"})
		}
	}
	return refs
}
