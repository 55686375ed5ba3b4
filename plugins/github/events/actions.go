package events

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
)

// WorkflowJob is a GitHub Actions job: the workflow_job webhook's object and
// the REST API's (GET .../actions/runs/{id}/jobs) have the same shape.
type WorkflowJob struct {
	ID           int64    `json:"id"`
	RunID        int64    `json:"run_id"`
	RunAttempt   int      `json:"run_attempt"`
	HeadSHA      string   `json:"head_sha"`
	HeadBranch   string   `json:"head_branch"`
	WorkflowName string   `json:"workflow_name"`
	Name         string   `json:"name"`
	Status       string   `json:"status"`
	Conclusion   string   `json:"conclusion"`
	CreatedAt    string   `json:"created_at"`
	StartedAt    string   `json:"started_at"`
	CompletedAt  string   `json:"completed_at"`
	Labels       []string `json:"labels"`
	RunnerName   string   `json:"runner_name"`
}

func (j *WorkflowJob) validate() error {
	switch {
	case j.ID <= 0:
		return errors.New("id: want a positive id")
	case j.RunID <= 0:
		return errors.New("run_id: want a positive id")
	case !IsSHA(j.HeadSHA):
		return errors.New("head_sha: want a 40-hex sha")
	case j.Status == "":
		return errors.New("status: missing")
	}
	return nil
}

// BuildSystem is the build_system_type of every GitHub job.
const BuildSystem = "github-actions"

// JobGUID is the job guid recipe: "github-actions/{run_id}/{run_attempt}/{job_id}".
// A job id is unique on its own (a re-run attempt gets new job ids); the
// run id and attempt make the guid readable and keep it stable whichever
// path (webhook, poll, backfill) saw the job. An attempt below 1 (older
// payloads without run_attempt) counts as 1. GitHub's ids are decimal
// int64s, so the guid is at most 15+19+1+10+1+19 characters; in practice
// (11-digit ids) about 40, under Treeherder's 50.
func JobGUID(runID int64, attempt int, jobID int64) string {
	return fmt.Sprintf("github-actions/%d/%d/%d", runID, max(attempt, 1), jobID)
}

// CheckRunGUID is the guid of another app's check run: "github-check/{id}".
func CheckRunGUID(id int64) string { return "github-check/" + strconv.FormatInt(id, 10) }

// ResultSkipped is Treeherder's result for a job that did not run.
const ResultSkipped = "skipped"

// JobState maps a GitHub job or check run status and conclusion to
// Treeherder's state and result:
//
//	queued, waiting, pending, requested   → pending / unknown
//	in_progress                           → running / unknown
//	completed + success                   → completed / success
//	completed + neutral                   → completed / success
//	completed + failure                   → completed / testfailed
//	completed + timed_out                 → completed / busted
//	completed + startup_failure           → completed / busted
//	completed + cancelled                 → completed / usercancel
//	completed + skipped                   → completed / skipped
//	completed + stale                     → completed / exception
//	completed + action_required           → pending / unknown (waits for approval; not final)
//	completed + no or another conclusion  → completed / unknown
//
// Unknown statuses are pending, so a later known state replaces them (the
// store never overwrites a completed job).
func JobState(status, conclusion string) (state, result string) {
	switch status {
	case "in_progress":
		return sdk.StateRunning, sdk.ResultUnknown
	case "completed":
	default:
		return sdk.StatePending, sdk.ResultUnknown
	}
	switch conclusion {
	case "success", "neutral":
		return sdk.StateCompleted, sdk.ResultSuccess
	case "failure":
		return sdk.StateCompleted, sdk.ResultTestFailed
	case "timed_out", "startup_failure":
		return sdk.StateCompleted, sdk.ResultBusted
	case "cancelled":
		return sdk.StateCompleted, sdk.ResultUserCancel
	case "skipped":
		return sdk.StateCompleted, ResultSkipped
	case "stale":
		return sdk.StateCompleted, sdk.ResultException
	case "action_required":
		return sdk.StatePending, sdk.ResultUnknown
	}
	return sdk.StateCompleted, sdk.ResultUnknown
}

// Operating systems and architectures of runner platforms.
const (
	OSLinux   = "linux"
	OSWindows = "windows"
	OSMac     = "mac"
	ArchX64   = "x86_64"
	ArchARM64 = "aarch64"
)

// RunnerPlatform makes the machine platform of a job from its runs-on
// labels: platform is the labels joined with "-" ("ubuntu-latest",
// "self-hosted-linux-x64"), lower-cased; os_name is linux, windows or mac
// when a label names one (ubuntu-*, linux, windows-*, macos-*, osx), else
// unknown; architecture is aarch64 when a label says arm (arm64, aarch64,
// *-arm) or names an Apple-silicon macOS image (macos-14 and later,
// macos-latest, *-xlarge), else x86_64. No labels: unknown/unknown/unknown.
func RunnerPlatform(labels []string) sdk.Platform {
	var parts []string
	os, arch := "", ""
	for _, l := range labels {
		l = strings.ToLower(strings.TrimSpace(l))
		if l == "" {
			continue
		}
		parts = append(parts, l)
		switch {
		case strings.HasPrefix(l, "ubuntu") || l == "linux":
			os = OSLinux
		case strings.HasPrefix(l, "windows"):
			os = OSWindows
		case strings.HasPrefix(l, "macos") || l == "osx" || l == "macosx":
			os = OSMac
			if appleSilicon(l) {
				arch = ArchARM64
			}
		}
		if l == "arm64" || l == "aarch64" || l == "arm" || strings.HasSuffix(l, "-arm") || strings.HasSuffix(l, "-arm64") {
			arch = ArchARM64
		}
	}
	if len(parts) == 0 {
		return sdk.Platform{}
	}
	if os == "" {
		os = "unknown"
	}
	if arch == "" {
		arch = ArchX64
	}
	return sdk.Platform{Platform: strings.Join(parts, "-"), OSName: os, Architecture: arch}
}

// appleSilicon: GitHub's macos-14 and later images, macos-latest (macos-15
// now) and the -xlarge sizes run on Apple silicon; -large and older images
// on Intel.
func appleSilicon(label string) bool {
	switch {
	case strings.HasSuffix(label, "-xlarge"):
		return true
	case strings.HasSuffix(label, "-large") || strings.HasSuffix(label, "-intel"):
		return false
	case label == "macos-latest":
		return true
	}
	v, err := strconv.Atoi(strings.TrimPrefix(label, "macos-"))
	return err == nil && v >= 14
}

// Job makes a job datum of a workflow job of repository fullName, stored
// in the herder repository project. who is the login that triggered it
// (may be empty). apiBase is the REST root the log URL points at.
func Job(project, fullName string, j WorkflowJob, who, apiBase string) sdk.JobDatum {
	state, result := JobState(j.Status, j.Conclusion)
	p := RunnerPlatform(j.Labels)
	job := sdk.Job{
		JobGUID:         JobGUID(j.RunID, j.RunAttempt, j.ID),
		Name:            j.Name,
		JobSymbol:       j.Name,
		GroupName:       j.WorkflowName,
		GroupSymbol:     j.WorkflowName,
		Who:             who,
		State:           state,
		Result:          result,
		Tier:            1,
		BuildSystemType: BuildSystem,
		Machine:         j.RunnerName,
		BuildPlatform:   p,
		MachinePlatform: p,
		SubmitTimestamp: timestamp(j.CreatedAt),
	}
	if state != sdk.StatePending {
		job.StartTimestamp = timestamp(j.StartedAt)
	}
	if state == sdk.StateCompleted {
		job.EndTimestamp = timestamp(j.CompletedAt)
		if result != ResultSkipped {
			// The job's log, as the REST API serves it (a redirect to a
			// short-lived blob URL); only complete jobs have one.
			job.LogReferences = []sdk.LogReference{{Name: sdk.LogLiveBacking, URL: LogURL(apiBase, fullName, j.ID), ParseStatus: "pending"}}
		}
	}
	return sdk.JobDatum{Project: project, Revision: j.HeadSHA, Job: job}
}

// LogURL is the REST URL of a job's log:
// {apiBase}/repos/{owner}/{repo}/actions/jobs/{id}/logs.
func LogURL(apiBase, fullName string, jobID int64) string {
	return strings.TrimRight(apiBase, "/") + "/repos/" + fullName + "/actions/jobs/" + strconv.FormatInt(jobID, 10) + "/logs"
}

// CheckRunJob makes a job datum of another app's check run: group = the
// app's name, job type = the check run's name, no platform, no log.
func CheckRunJob(project string, c CheckRun, who string) sdk.JobDatum {
	state, result := JobState(c.Status, c.Conclusion)
	job := sdk.Job{
		JobGUID:         CheckRunGUID(c.ID),
		Name:            c.Name,
		JobSymbol:       c.Name,
		GroupName:       c.App.Name,
		GroupSymbol:     c.App.Name,
		Who:             who,
		State:           state,
		Result:          result,
		Tier:            1,
		BuildSystemType: BuildSystem,
		SubmitTimestamp: timestamp(c.StartedAt),
	}
	if state != sdk.StatePending {
		job.StartTimestamp = timestamp(c.StartedAt)
	}
	if state == sdk.StateCompleted {
		job.EndTimestamp = timestamp(c.CompletedAt)
	}
	return sdk.JobDatum{Project: project, Revision: c.HeadSHA, Job: job}
}

// timestamp is unix seconds of an ISO 8601 time, 0 when missing or bad.
func timestamp(s string) int64 {
	if s == "" {
		return 0
	}
	ts, err := transform.ToTimestamp(s)
	if err != nil || ts < 0 {
		return 0
	}
	return ts
}
