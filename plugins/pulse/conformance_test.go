package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/internal/pulsetest"
	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

// TestFixturesThroughBrokerToStore publishes Treeherder's recorded task,
// hg push, GitHub push and pull-request messages to topic exchanges on the
// test RabbitMQ, runs the real plugin binary against a real ingest pipeline
// and store, and checks the stored jobs and pushes are what the transformed
// fixtures say. The jobs arrive before their pushes, so they are parked
// first and stored when the pushes come.
func TestFixturesThroughBrokerToStore(t *testing.T) {
	for _, backend := range []string{"sqlite", "mysql"} {
		t.Run(backend, func(t *testing.T) { testFixturesToStore(t, backend) })
	}
}

func testFixturesToStore(t *testing.T, backend string) {
	dir := pulsetest.PulseDir(t, testenv.SharedData(t))
	r := newRig(t)
	r.declareQueue(t)
	tasks := pulsetest.ServeTaskFixtures(t, r.up, dir)
	pulsetest.ServePushFixtures(t, r.up, dir)
	st := newStore(t, backend)
	pipeline := ingest.NewPipeline(st, nil, nil)
	var accepted counter
	run := plugintest.StartSource(t, pluginBin, plugintest.SourceOptions{
		Name:   "pulse",
		Config: r.config(t, nil),
		Accept: func(ctx context.Context, events []sdk.Event) error {
			if err := pipeline.Accept(ctx, "pulse", events); err != nil {
				return err
			}
			accepted.add(events)
			return nil
		},
	})

	msgs := pulsetest.TaskMessages(t, dir)
	for _, m := range msgs {
		r.publish(t, m.Exchange, m.Routes, m.Payload)
	}
	pushes := pulsetest.PushMessages(t, dir)
	for _, p := range pushes {
		r.publish(t, p.Exchange, "#", p.Body)
	}
	want := len(msgs) + len(pushes)
	waitFor(t, 30*time.Second, fmt.Sprintf("want %d events accepted", want), func() (bool, string) {
		return accepted.distinct() >= want, fmt.Sprintf("%d accepted, run error %v", accepted.distinct(), run.RunErr())
	})

	// Every job waits for its push; store the pushes the tasks' routes name.
	ctx := context.Background()
	parked, err := st.ParkedRevisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(parked) == 0 {
		t.Fatal("no jobs parked, but none of their pushes was stored")
	}
	routes := map[string]string{} // revision -> project
	for _, m := range msgs {
		td, err := transform.ParseTaskDefinition(tasks[m.TaskID])
		if err != nil {
			t.Fatal(err)
		}
		route, err := transform.FindRoute(td.Routes)
		if err != nil {
			t.Fatal(err)
		}
		routes[route.Revision] = route.Project
	}
	for rev, project := range routes {
		storePush(t, pipeline, project, rev)
	}
	if parked, _ := st.ParkedRevisions(ctx); len(parked) != 0 {
		t.Errorf("%d revisions still have parked jobs after their pushes were stored", len(parked))
	}

	checkJobs(t, st, dir, routes)
	checkPushes(t, st, pushes)
	if err := run.Stop(); err != nil {
		t.Errorf("plugin run: %v", err)
	}
}

// checkJobs compares stored jobs with taskcluster_transformed_jobs.json,
// normalized the way the pipeline stores a datum.
func checkJobs(t *testing.T, st *sqlstore.Store, dir string, projects map[string]string) {
	t.Helper()
	var want map[string]sdk.JobDatum
	pulsetest.ReadJSON(t, filepath.Join(dir, "taskcluster_transformed_jobs.json"), &want)
	var guids []string
	for _, d := range want {
		guids = append(guids, d.Job.JobGUID)
	}
	sort.Strings(guids)
	got, err := st.JobsByGUID(context.Background(), guids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) != 61 {
		t.Fatalf("stored %d jobs, the fixture has %d (61 expected)", len(got), len(want))
	}
	byGUID := map[string]model.Job{}
	for _, j := range got {
		byGUID[j.GUID] = j
	}
	states := map[string]int{}
	for id, d := range want {
		w := ingest.NormalizeJob(projects[d.Revision], d)
		g, ok := byGUID[w.GUID]
		if !ok {
			t.Errorf("task %s: job %s not stored", id, w.GUID)
			continue
		}
		states[g.State+"/"+g.Result]++
		type view struct {
			GUID, Repo, Revision, State, Result, Who, Reason, Machine, Product string
			Build, MachinePlat                                                 model.Platform
			Type, Group                                                        model.NamedSymbol
			Tier                                                               int
			Submit, Start, End                                                 int64
			TaskID                                                             string
			RetryID                                                            int
			Option                                                             string
			Logs                                                               []string
		}
		mk := func(j model.Job, repo string) view {
			v := view{GUID: j.GUID, Repo: repo, Revision: j.PushRevision, State: j.State, Result: j.Result, Who: j.Who,
				Reason: j.Reason, Machine: j.Machine, Product: j.Product, Build: j.BuildPlatform, MachinePlat: j.MachinePlatform,
				Type: j.JobType, Group: j.JobGroup, Tier: j.Tier, Submit: j.SubmitTime, Start: j.StartTime, End: j.EndTime,
				TaskID: j.TaskID, RetryID: j.RetryID, Option: j.OptionCollection}
			for _, l := range j.Logs {
				v.Logs = append(v.Logs, l.Name+" "+l.URL)
			}
			return v
		}
		gv, wv := mk(g, g.RepositoryName), mk(w, projects[d.Revision])
		if wv.Tier == 0 {
			wv.Tier = 1
		}
		if !reflect.DeepEqual(gv, wv) {
			t.Errorf("task %s: stored job differs from the fixture:\n got %+v\nwant %+v", id, gv, wv)
		}
	}
	if states["pending/unknown"] != 47 || states["running/unknown"] != 9 || states["completed/success"] != 5 {
		t.Errorf("stored states %v, want 47 pending, 9 running, 5 completed/success", states)
	}
}

// checkPushes compares stored pushes with transformed_*.json.
func checkPushes(t *testing.T, st *sqlstore.Store, pushes []pulsetest.PushMessage) {
	t.Helper()
	ids := repoIDs(t, st)
	repoOf := map[string]string{"hg_push": "try", "gh_push": "android-components", "gh_pr": "test_treeherder"}
	for _, p := range pushes {
		stored, err := st.Pushes(context.Background(), ids[repoOf[p.Name]], 10)
		if err != nil {
			t.Fatal(err)
		}
		var want sdk.PushDatum
		b, _ := json.Marshal(p.Want)
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		var got *model.Push
		for i := range stored {
			if stored[i].Revision == want.Revision {
				got = &stored[i]
			}
		}
		if got == nil {
			t.Errorf("%s: push %s not stored in %s", p.Name, want.Revision, repoOf[p.Name])
			continue
		}
		if got.Author != want.Author || got.Time != want.PushTimestamp || len(got.Commits) != len(want.Revisions) {
			t.Errorf("%s: stored push %s by %s at %d with %d commits, want %s at %d with %d", p.Name,
				got.Revision, got.Author, got.Time, len(got.Commits), want.Author, want.PushTimestamp, len(want.Revisions))
			continue
		}
		for i, c := range got.Commits {
			w := want.Revisions[i]
			if c.Revision != w.Revision || c.Author != w.Author || c.Comments != w.Comment {
				t.Errorf("%s: commit %d is %+v, want %+v", p.Name, i, c, w)
			}
		}
	}
}
