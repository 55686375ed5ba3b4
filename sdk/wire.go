package sdk

import (
	"fmt"

	herderv1 "github.com/herder-ci/herder/sdk/proto/herder/v1"
)

// This file converts events to and from the wire protocol. Plugin authors do
// not need it; hosts and test harnesses (sdk/pluginrpc) do. A test fills
// every field of the SDK types by reflection and round-trips them, so a field
// added to the types without a wire counterpart fails the build's tests.

// EventToProto converts an event to its wire form.
func EventToProto(e Event) *herderv1.Event {
	pe := &herderv1.Event{Id: e.ID, Raw: e.Raw}
	switch {
	case e.Push != nil:
		pe.Payload = &herderv1.Event_Push{Push: pushToProto(e.Push)}
	case e.Job != nil:
		pe.Payload = &herderv1.Event_Job{Job: jobDatumToProto(e.Job)}
	}
	return pe
}

// EventFromProto converts an event from its wire form. It fails on an event
// that carries neither a push nor a job.
func EventFromProto(pe *herderv1.Event) (Event, error) {
	if pe == nil {
		return Event{}, fmt.Errorf("decode event: nil")
	}
	e := Event{ID: pe.GetId(), Raw: pe.GetRaw()}
	switch p := pe.GetPayload().(type) {
	case *herderv1.Event_Push:
		if p.Push == nil {
			return Event{}, fmt.Errorf("decode event %q: empty push", e.ID)
		}
		e.Push = pushFromProto(p.Push)
	case *herderv1.Event_Job:
		if p.Job == nil {
			return Event{}, fmt.Errorf("decode event %q: empty job", e.ID)
		}
		e.Job = jobDatumFromProto(p.Job)
	default:
		return Event{}, fmt.Errorf("decode event %q: has neither a push nor a job", e.ID)
	}
	return e, nil
}

func pushToProto(p *PushDatum) *herderv1.PushDatum {
	out := &herderv1.PushDatum{
		Project:       p.Project,
		Revision:      p.Revision,
		Author:        p.Author,
		PushTimestamp: p.PushTimestamp,
		Branch:        p.Branch,
	}
	if len(p.Revisions) > 0 {
		out.Revisions = make([]*herderv1.Revision, len(p.Revisions))
		for i, r := range p.Revisions {
			out.Revisions[i] = &herderv1.Revision{Author: r.Author, Comment: r.Comment, Revision: r.Revision}
		}
	}
	return out
}

func pushFromProto(p *herderv1.PushDatum) *PushDatum {
	out := &PushDatum{
		Project:       p.GetProject(),
		Revision:      p.GetRevision(),
		Author:        p.GetAuthor(),
		PushTimestamp: p.GetPushTimestamp(),
		Branch:        p.GetBranch(),
		// Treeherder's transformed pushes always carry a list, even empty.
		Revisions: make([]Revision, len(p.GetRevisions())),
	}
	for i, r := range p.GetRevisions() {
		out.Revisions[i] = Revision{Author: r.GetAuthor(), Comment: r.GetComment(), Revision: r.GetRevision()}
	}
	return out
}

func jobDatumToProto(d *JobDatum) *herderv1.JobDatum {
	j := &d.Job
	pj := &herderv1.Job{
		JobGuid:                  j.JobGUID,
		Name:                     j.Name,
		JobSymbol:                j.JobSymbol,
		GroupName:                j.GroupName,
		GroupSymbol:              j.GroupSymbol,
		ProductName:              j.ProductName,
		Reason:                   j.Reason,
		Who:                      j.Who,
		State:                    j.State,
		Result:                   j.Result,
		Tier:                     int64(j.Tier),
		BuildSystemType:          j.BuildSystemType,
		ReferenceDataName:        j.ReferenceDataName,
		Machine:                  j.Machine,
		BuildPlatform:            platformToProto(j.BuildPlatform),
		MachinePlatform:          platformToProto(j.MachinePlatform),
		OptionCollection:         j.OptionCollection,
		SubmitTimestamp:          j.SubmitTimestamp,
		StartTimestamp:           j.StartTimestamp,
		EndTimestamp:             j.EndTimestamp,
		LogReferences:            logRefsToProto(j.LogReferences),
		PerfherderDataReferences: logRefsToProto(j.PerfherderDataReferences),
		TaskclusterTaskId:        j.TaskclusterTaskID,
		TaskclusterRetryId:       int64(j.TaskclusterRetryID),
	}
	return &herderv1.JobDatum{
		Project:    d.Project,
		Revision:   d.Revision,
		Superseded: d.Superseded,
		Job:        pj,
	}
}

func jobDatumFromProto(d *herderv1.JobDatum) *JobDatum {
	pj := d.GetJob()
	out := &JobDatum{
		Project:    d.GetProject(),
		Revision:   d.GetRevision(),
		Superseded: d.GetSuperseded(),
	}
	if pj == nil {
		return out
	}
	out.Job = Job{
		JobGUID:                  pj.GetJobGuid(),
		Name:                     pj.GetName(),
		JobSymbol:                pj.GetJobSymbol(),
		GroupName:                pj.GetGroupName(),
		GroupSymbol:              pj.GetGroupSymbol(),
		ProductName:              pj.GetProductName(),
		Reason:                   pj.GetReason(),
		Who:                      pj.GetWho(),
		State:                    pj.GetState(),
		Result:                   pj.GetResult(),
		Tier:                     int(pj.GetTier()),
		BuildSystemType:          pj.GetBuildSystemType(),
		ReferenceDataName:        pj.GetReferenceDataName(),
		Machine:                  pj.GetMachine(),
		BuildPlatform:            platformFromProto(pj.GetBuildPlatform()),
		MachinePlatform:          platformFromProto(pj.GetMachinePlatform()),
		OptionCollection:         pj.GetOptionCollection(),
		SubmitTimestamp:          pj.GetSubmitTimestamp(),
		StartTimestamp:           pj.GetStartTimestamp(),
		EndTimestamp:             pj.GetEndTimestamp(),
		LogReferences:            logRefsFromProto(pj.GetLogReferences()),
		PerfherderDataReferences: logRefsFromProto(pj.GetPerfherderDataReferences()),
		TaskclusterTaskID:        pj.GetTaskclusterTaskId(),
		TaskclusterRetryID:       int(pj.GetTaskclusterRetryId()),
	}
	return out
}

func platformToProto(p Platform) *herderv1.Platform {
	if p == (Platform{}) {
		return nil
	}
	return &herderv1.Platform{Platform: p.Platform, OsName: p.OSName, Architecture: p.Architecture}
}

func platformFromProto(p *herderv1.Platform) Platform {
	return Platform{Platform: p.GetPlatform(), OSName: p.GetOsName(), Architecture: p.GetArchitecture()}
}

func logRefsToProto(refs []LogReference) []*herderv1.LogReference {
	if len(refs) == 0 {
		return nil
	}
	out := make([]*herderv1.LogReference, len(refs))
	for i, r := range refs {
		out[i] = &herderv1.LogReference{Name: r.Name, Url: r.URL, ParseStatus: r.ParseStatus}
	}
	return out
}

func logRefsFromProto(refs []*herderv1.LogReference) []LogReference {
	if len(refs) == 0 {
		return nil
	}
	out := make([]LogReference, len(refs))
	for i, r := range refs {
		out[i] = LogReference{Name: r.GetName(), URL: r.GetUrl(), ParseStatus: r.GetParseStatus()}
	}
	return out
}

// ProcessorInfoToProto converts a processor's self-description to its wire form.
func ProcessorInfoToProto(i ProcessorInfo) *herderv1.ProcessorInfo {
	return &herderv1.ProcessorInfo{
		Name:             i.Name,
		Consumes:         i.Consumes,
		Produces:         i.Produces,
		Concurrency:      int32(i.Concurrency),
		AlgorithmVersion: i.AlgorithmVersion,
	}
}

// ProcessorInfoFromProto converts a processor's self-description from its wire form.
func ProcessorInfoFromProto(p *herderv1.ProcessorInfo) ProcessorInfo {
	return ProcessorInfo{
		Name:             p.GetName(),
		Consumes:         p.GetConsumes(),
		Produces:         p.GetProduces(),
		Concurrency:      int(p.GetConcurrency()),
		AlgorithmVersion: p.GetAlgorithmVersion(),
	}
}
