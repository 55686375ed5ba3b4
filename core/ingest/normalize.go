// Package ingest turns what sources deliver into stored rows: it applies
// Treeherder's defaults, truncations and hash recipes, then writes pushes
// and jobs through the store in batches.
package ingest

import (
	"sort"
	"strings"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/sdk"
)

const unknown = "unknown"

// cut truncates to n characters (code points, as Python's slices and
// MySQL's VARCHAR count them).
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// product keeps the name as given unless it is blank.
func product(s string) string {
	if strings.TrimSpace(s) == "" {
		return unknown
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return unknown
	}
	return s
}

// platform applies Treeherder's defaults: a missing platform is
// unknown/unknown/unknown, while empty strings inside a given one are kept.
func platform(p sdk.Platform) model.Platform {
	if p == (sdk.Platform{}) {
		return model.Platform{OSName: unknown, Platform: unknown, Architecture: unknown}
	}
	return model.Platform{
		OSName:       cut(p.OSName, 25),
		Platform:     cut(p.Platform, 100),
		Architecture: cut(p.Architecture, 25),
	}
}

var parseStatuses = map[string]int{
	"pending":      model.LogPending,
	"parsed":       model.LogParsed,
	"failed":       model.LogFailed,
	"skipped-size": model.LogSkippedSize,
}

// NormalizeJob makes a storable job of a job datum, as Treeherder's
// _load_job does. The repository and push ids are the caller's to fill.
func NormalizeJob(repoName string, d sdk.JobDatum) model.Job {
	in := d.Job
	j := model.Job{
		GUID:            cut(in.JobGUID, 50),
		RepositoryName:  repoName,
		PushRevision:    d.Revision,
		BuildPlatform:   platform(in.BuildPlatform),
		MachinePlatform: platform(in.MachinePlatform),
		Machine:         cut(orUnknown(in.Machine), 100),
		Product:         cut(product(in.ProductName), 100),
		JobType:         model.NamedSymbol{Name: cut(orUnknown(in.Name), 140), Symbol: cut(orUnknown(in.JobSymbol), 25)},
		JobGroup:        model.NamedSymbol{Name: cut(orUnknown(in.GroupName), 255), Symbol: cut(orUnknown(in.GroupSymbol), 25)},
		Who:             cut(orUnknown(in.Who), 50),
		Reason:          cut(orUnknown(in.Reason), 125),
		State:           cut(orUnknown(in.State), 25),
		Result:          cut(orUnknown(in.Result), 25),
		Tier:            in.Tier,
		BuildSystemType: cut(in.BuildSystemType, 25),
		SubmitTime:      in.SubmitTimestamp,
		StartTime:       in.StartTimestamp,
		EndTime:         in.EndTimestamp,
		TaskID:          in.TaskclusterTaskID,
		RetryID:         in.TaskclusterRetryID,
		FailureClass:    model.FCNotClassified,
	}
	if j.Tier == 0 {
		j.Tier = 1
	}
	if j.BuildSystemType == "" {
		j.BuildSystemType = "buildbot" // Treeherder's default, which the signature hashes
	}
	for name := range in.OptionCollection {
		j.Options = append(j.Options, name)
	}
	sort.Strings(j.Options)
	j.OptionCollection = model.OptionCollectionHash(j.Options)

	var refName *string
	if in.ReferenceDataName != "" {
		refName = &in.ReferenceDataName
	}
	j.Signature = model.ReferenceDataSignature(model.SignatureInput{
		BuildSystemType:   j.BuildSystemType,
		Repository:        repoName,
		BuildPlatform:     j.BuildPlatform,
		MachinePlatform:   j.MachinePlatform,
		JobGroup:          j.JobGroup,
		JobType:           j.JobType,
		OptionCollection:  j.OptionCollection,
		ReferenceDataName: refName,
	})
	j.ReferenceName = cut(in.ReferenceDataName, 255)
	if j.ReferenceName == "" {
		j.ReferenceName = j.Signature
	}

	addLog := func(l sdk.LogReference) {
		status, ok := parseStatuses[l.ParseStatus]
		if !ok {
			status = model.LogPending
		}
		j.Logs = append(j.Logs, model.JobLog{
			Name:   cut(orUnknown(l.Name), 50),
			URL:    cut(orUnknown(l.URL), 255),
			Status: status,
		})
	}
	for _, l := range in.LogReferences {
		addLog(l)
	}
	for _, l := range in.PerfherderDataReferences {
		addLog(l)
	}
	return j
}

// NormalizePush makes a storable push of a push datum.
func NormalizePush(repoID int64, d sdk.PushDatum) model.Push {
	p := model.Push{
		RepositoryID: repoID,
		Revision:     cut(d.Revision, 40),
		Author:       cut(d.Author, 150),
		Time:         d.PushTimestamp,
		Branch:       cut(d.Branch, 255),
	}
	for _, r := range d.Revisions {
		p.Commits = append(p.Commits, model.Commit{
			Revision: cut(r.Revision, 40),
			Author:   cut(r.Author, 150),
			Comments: r.Comment,
		})
	}
	return p
}
