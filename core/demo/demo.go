// Package demo makes the small dataset `make run` shows: pushes and jobs of
// a few well-known repositories, some failed with logs, as source events.
// It goes through the same ingestion path real data takes, so every later
// stage (log parsing, bug suggestions) sees it as it would see real jobs.
package demo

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/herder-ci/herder/sdk"
)

// Options shapes the dataset.
type Options struct {
	Repositories   []string  // default: mozilla-central, autoland, try
	PushesPerRepo  int       // default 6
	Now            time.Time // the newest push is a little before Now
	TaskclusterURL string    // root URL in log links; default Mozilla's
	// LogBaseURL, when set, makes completed jobs' logs point at the demo
	// logs `herder serve` serves (core/demo/logs), e.g.
	// http://127.0.0.1:8080/demo/logs, instead of Taskcluster URLs that
	// lead nowhere.
	LogBaseURL string
}

type platform struct {
	name, os, arch string
	options        []string
}

var platforms = []platform{
	{"linux64", "linux", "x86_64", []string{"opt", "debug"}},
	{"windows11-64", "windows", "x86_64", []string{"opt", "debug"}},
	{"macosx1015-64", "mac", "x86_64", []string{"opt"}},
	{"android-em-7-0-x86_64", "android", "x86_64", []string{"opt"}},
}

type kind struct {
	name, symbol, groupName, groupSymbol, jobKind string
	tier                                          int
}

var kinds = []kind{
	{"build", "B", "", "", "build", 1},
	{"mochitest-browser-chrome-1", "bc1", "Mochitests", "M", "test", 1},
	{"mochitest-browser-chrome-2", "bc2", "Mochitests", "M", "test", 1},
	{"mochitest-plain-1", "1", "Mochitests", "M", "test", 1},
	{"xpcshell-1", "X1", "XPCShell", "X", "test", 1},
	{"reftest-1", "R1", "Reftests", "R", "test", 1},
	{"web-platform-tests-1", "wpt1", "Web platform tests", "W", "test", 2},
	{"jsreftest-1", "J1", "", "", "test", 3},
}

var authors = []string{"ada@example.com", "grace@example.com", "linus@example.com", "margaret@example.com"}

// hash gives deterministic pseudo-random bytes for a key.
func hash(parts ...any) []byte {
	h := sha1.Sum([]byte(fmt.Sprint(parts...)))
	return h[:]
}

// Events returns the dataset as source events: every push, then every job.
// The output is deterministic for a given Now, so loading it twice stores
// nothing new.
func Events(opts Options) []sdk.Event {
	if len(opts.Repositories) == 0 {
		opts.Repositories = []string{"mozilla-central", "autoland", "try"}
	}
	if opts.PushesPerRepo == 0 {
		opts.PushesPerRepo = 6
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.TaskclusterURL == "" {
		opts.TaskclusterURL = "https://firefox-ci-tc.services.mozilla.com"
	}
	// Align to the hour so a rerun within the hour makes the same events.
	base := opts.Now.Truncate(time.Hour).Unix()
	var pushes, jobs []sdk.Event
	for _, repo := range opts.Repositories {
		for p := 0; p < opts.PushesPerRepo; p++ {
			revision := hex.EncodeToString(hash(repo, p))
			when := base - int64(opts.PushesPerRepo-p)*47*60
			author := authors[(p+len(repo))%len(authors)]
			push := sdk.PushDatum{
				Project: repo, Revision: revision, Author: author, PushTimestamp: when,
				Revisions: []sdk.Revision{{
					Revision: revision, Author: "Dev <" + author + ">",
					Comment: fmt.Sprintf("Bug %d - Demo change %d on %s r=reviewer", 1900000+p*37, p, repo),
				}},
			}
			pushes = append(pushes, sdk.Event{ID: "demo-push-" + repo + "-" + revision[:12], Push: &push})
			newest := p == opts.PushesPerRepo-1
			n := 0
			for _, pl := range platforms {
				for _, opt := range pl.options {
					for _, k := range kinds {
						d := job(opts, repo, revision, when, p, n, pl, opt, k, newest)
						jobs = append(jobs, sdk.Event{ID: "demo-job-" + d.Job.JobGUID, Job: &d})
						n++
					}
				}
			}
		}
	}
	return append(pushes, jobs...)
}

func job(opts Options, repo, revision string, pushTime int64, pushIdx, n int, pl platform, opt string, k kind, newest bool) sdk.JobDatum {
	h := hash(repo, revision, n)
	var uuid [16]byte
	copy(uuid[:], h)
	uuid[6] = uuid[6]&0x0f | 0x40 // version 4
	uuid[8] = uuid[8]&0x3f | 0x80 // RFC 4122 variant
	taskID := base64.RawURLEncoding.EncodeToString(uuid[:])
	guid := fmt.Sprintf("%x-%x-%x-%x-%x/0", uuid[0:4], uuid[4:6], uuid[6:8], uuid[8:10], uuid[10:16])
	roll := binary.BigEndian.Uint16(h[16:18]) % 100

	state, result := sdk.StateCompleted, sdk.ResultSuccess
	switch {
	case newest && roll < 25:
		state, result = sdk.StatePending, sdk.ResultUnknown
	case newest && roll < 50:
		state, result = sdk.StateRunning, sdk.ResultUnknown
	case roll < 8 && k.jobKind == "test":
		result = sdk.ResultTestFailed
	case roll < 10 && k.jobKind == "build":
		result = sdk.ResultBusted
	case roll < 12:
		result = sdk.ResultRetry
	case roll < 13:
		result = sdk.ResultException
	}
	submit := pushTime + 60 + int64(n%7)*11
	start := submit + 120 + int64(roll)*3
	end := start + 600 + int64(roll)*17
	name := fmt.Sprintf("test-%s/%s-%s", pl.name, opt, k.name)
	if k.jobKind == "build" {
		name = fmt.Sprintf("build-%s/%s", pl.name, opt)
	}
	d := sdk.JobDatum{
		Project:  repo,
		Revision: revision,
		Job: sdk.Job{
			JobGUID: guid, Name: name, JobSymbol: k.symbol, GroupName: k.groupName, GroupSymbol: k.groupSymbol,
			ProductName: "firefox", Reason: "scheduled", Who: authors[pushIdx%len(authors)],
			State: state, Result: result, Tier: k.tier, BuildSystemType: "taskcluster",
			Machine:           fmt.Sprintf("%s-worker-%03d", pl.os, roll),
			BuildPlatform:     sdk.Platform{Platform: pl.name, OSName: pl.os, Architecture: pl.arch},
			MachinePlatform:   sdk.Platform{Platform: pl.name, OSName: pl.os, Architecture: pl.arch},
			OptionCollection:  map[string]bool{opt: true},
			SubmitTimestamp:   submit,
			TaskclusterTaskID: taskID,
		},
	}
	if k.groupName == "" {
		d.Job.GroupName, d.Job.GroupSymbol = "unknown", "?"
	}
	if state != sdk.StatePending {
		d.Job.StartTimestamp = start
	}
	if state == sdk.StateCompleted {
		d.Job.EndTimestamp = end
		if opts.LogBaseURL != "" {
			d.Job.LogReferences = demoLogs(strings.TrimSuffix(opts.LogBaseURL, "/"), k, result)
			return d
		}
		logURL := fmt.Sprintf("%s/api/queue/v1/task/%s/runs/0/artifacts/public/logs/live_backing.log", opts.TaskclusterURL, taskID)
		d.Job.LogReferences = []sdk.LogReference{{Name: sdk.LogLiveBacking, URL: logURL, ParseStatus: "pending"}}
		if k.jobKind == "test" && result != sdk.ResultSuccess {
			d.Job.LogReferences = append(d.Job.LogReferences, sdk.LogReference{
				Name: sdk.LogErrorSummary, ParseStatus: "pending",
				URL: fmt.Sprintf("%s/api/queue/v1/task/%s/runs/0/artifacts/public/test_info/%s_errorsummary.log", opts.TaskclusterURL, taskID, k.name),
			})
		}
	}
	return d
}

// demoLogs picks a job's logs among the demo logs (core/demo/logs): a
// failed test job gets its suite's failing log and errorsummary, a busted
// build the failed build's log, an infrastructure failure (retry,
// exception) the aborted task's log, and successful jobs passing logs (a
// build's with its build metrics as PERFHERDER_DATA).
func demoLogs(base string, k kind, result string) []sdk.LogReference {
	ref := func(name, file string) sdk.LogReference {
		return sdk.LogReference{Name: name, URL: base + "/" + file, ParseStatus: "pending"}
	}
	switch {
	case result == sdk.ResultSuccess && k.jobKind == "build":
		return []sdk.LogReference{ref(sdk.LogLiveBacking, "build-pass.log")}
	case result == sdk.ResultSuccess:
		return []sdk.LogReference{ref(sdk.LogLiveBacking, "test-pass.log")}
	case result == sdk.ResultBusted:
		return []sdk.LogReference{ref(sdk.LogLiveBacking, "build-fail.log")}
	case result != sdk.ResultTestFailed:
		return []sdk.LogReference{ref(sdk.LogLiveBacking, "infra-fail.log")}
	}
	suite := "mochitest-browser-chrome"
	switch {
	case strings.HasPrefix(k.name, "mochitest-plain"):
		suite = "mochitest-plain"
	case strings.HasPrefix(k.name, "xpcshell"):
		suite = "xpcshell"
	case strings.HasPrefix(k.name, "reftest"), strings.HasPrefix(k.name, "jsreftest"):
		suite = "reftest"
	case strings.HasPrefix(k.name, "web-platform-tests"):
		suite = "web-platform-tests"
	}
	return []sdk.LogReference{ref(sdk.LogLiveBacking, suite+".log"), ref(sdk.LogErrorSummary, suite+"_errorsummary.log")}
}
