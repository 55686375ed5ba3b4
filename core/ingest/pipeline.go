package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/sdk"
)

// Store is what the pipeline needs of storage.
type Store interface {
	Repositories(ctx context.Context) ([]model.Repository, error)
	StorePushes(ctx context.Context, pushes []model.Push) error
	PushIDs(ctx context.Context, repositoryID int64, revisions []string) (map[string]int64, error)
	StoreJobs(ctx context.Context, jobs []model.Job) error
	MarkSuperseded(ctx context.Context, guids []string) error
	StoreRawEvents(ctx context.Context, events []model.RawEvent) error
	ParkJobs(ctx context.Context, jobs []model.ParkedJob) error
	ParkedRevisions(ctx context.Context) ([]model.RepoRevision, error)
	ParkedJobs(ctx context.Context, repositoryID int64, revision string) ([]model.ParkedJob, error)
	DeleteParked(ctx context.Context, ids []int64) error
}

// Pipeline stores what sources deliver. Its Accept is the durable sink the
// plugin host hands to source plugins: when it returns nil, every event is in
// the database and the source may acknowledge upstream.
type Pipeline struct {
	store Store
	log   hclog.Logger
	now   func() time.Time

	mu       sync.RWMutex
	repos    map[string]model.Repository
	loadedAt time.Time

	events   *prometheus.CounterVec
	rejected *prometheus.CounterVec
	parked   prometheus.Counter
	unparked prometheus.Counter
}

// NewPipeline makes a pipeline over a store. Metrics go to reg when non-nil.
func NewPipeline(s Store, log hclog.Logger, reg prometheus.Registerer) *Pipeline {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	p := &Pipeline{
		store: s,
		log:   log.Named("ingest"),
		now:   time.Now,
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herder_ingest_events_total", Help: "Events stored, by source and kind.",
		}, []string{"source", "kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herder_ingest_rejected_total", Help: "Events refused, by source and reason.",
		}, []string{"source", "reason"}),
		parked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herder_ingest_jobs_parked_total", Help: "Jobs that arrived before their push and were parked.",
		}),
		unparked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herder_ingest_jobs_unparked_total", Help: "Parked jobs stored once their push arrived.",
		}),
	}
	if reg != nil {
		reg.MustRegister(p.events, p.rejected, p.parked, p.unparked)
	}
	return p
}

// repository finds an active repository by name, reloading the list once on
// a miss so repositories added while running are found.
func (p *Pipeline) repository(ctx context.Context, name string) (model.Repository, bool, error) {
	p.mu.RLock()
	r, ok := p.repos[name]
	// A miss reloads the list at most every 10 s, so a stream of events for an
	// unknown repository does not reload it for each one.
	fresh := p.repos != nil && p.now().Sub(p.loadedAt) < 10*time.Second
	p.mu.RUnlock()
	if ok || fresh {
		return r, ok && r.ActiveStatus == "active", nil
	}
	if err := p.ReloadRepositories(ctx); err != nil {
		return model.Repository{}, false, err
	}
	p.mu.RLock()
	r, ok = p.repos[name]
	p.mu.RUnlock()
	return r, ok && r.ActiveStatus == "active", nil
}

// ReloadRepositories refreshes the pipeline's view of the repositories.
func (p *Pipeline) ReloadRepositories(ctx context.Context) error {
	list, err := p.store.Repositories(ctx)
	if err != nil {
		return fmt.Errorf("load repositories: %w", err)
	}
	m := make(map[string]model.Repository, len(list))
	for _, r := range list {
		m[r.Name] = r
	}
	p.mu.Lock()
	p.repos, p.loadedAt = m, p.now()
	p.mu.Unlock()
	return nil
}

// Accept stores a batch of events from a source: raw events into the
// journal, then pushes, then jobs. Events naming an unknown or inactive
// repository are refused and counted, as Treeherder drops them. Jobs whose
// push is not stored yet are parked in the database and stored when the push
// arrives (Treeherder retries them with backoff instead): either way Accept
// returns nil only once everything is durable, so the source may ack.
func (p *Pipeline) Accept(ctx context.Context, source string, events []sdk.Event) error {
	var raws []model.RawEvent
	var pushes []model.Push
	var jobData []sdk.JobDatum
	received := p.now().UnixMicro()
	for _, e := range events {
		if err := e.Validate(); err != nil {
			p.reject(source, "invalid", err)
			continue
		}
		kind := "job"
		if e.Push != nil {
			kind = "push"
		}
		if len(e.Raw) > 0 {
			raws = append(raws, model.RawEvent{Source: source, EventID: e.ID, Kind: kind, Received: received, Payload: e.Raw})
		}
		if e.Push != nil {
			repo, ok, err := p.repository(ctx, e.Push.Project)
			if err != nil {
				return err
			}
			if !ok {
				p.reject(source, "unknown_repository", fmt.Errorf("push %s: unknown or inactive repository %q", e.Push.Revision, e.Push.Project))
				continue
			}
			pushes = append(pushes, NormalizePush(repo.ID, *e.Push))
			continue
		}
		jobData = append(jobData, *e.Job)
	}
	if len(raws) > 0 {
		if err := p.store.StoreRawEvents(ctx, raws); err != nil {
			return err
		}
	}
	if len(pushes) > 0 {
		if err := p.store.StorePushes(ctx, pushes); err != nil {
			return err
		}
		p.events.WithLabelValues(source, "push").Add(float64(len(pushes)))
	}
	if len(jobData) > 0 {
		if err := p.storeJobs(ctx, source, jobData); err != nil {
			return err
		}
	}
	for _, push := range pushes {
		if err := p.unpark(ctx, model.RepoRevision{RepositoryID: push.RepositoryID, Revision: push.Revision}); err != nil {
			return err
		}
	}
	return nil
}

// unpark stores the jobs that waited for one push, if it is stored now.
func (p *Pipeline) unpark(ctx context.Context, rr model.RepoRevision) error {
	parked, err := p.store.ParkedJobs(ctx, rr.RepositoryID, rr.Revision)
	if err != nil || len(parked) == 0 {
		return err
	}
	ids, err := p.store.PushIDs(ctx, rr.RepositoryID, []string{rr.Revision})
	if err != nil || len(ids) == 0 {
		return err
	}
	data := make([]sdk.JobDatum, 0, len(parked))
	done := make([]int64, 0, len(parked))
	for _, pj := range parked {
		var d sdk.JobDatum
		if err := json.Unmarshal(pj.Payload, &d); err != nil {
			// Written by us from a valid datum; unreadable means corruption.
			p.log.Error("dropping unreadable parked job", "guid", pj.GUID, "error", err)
		} else {
			data = append(data, d)
		}
		done = append(done, pj.ID)
	}
	if err := p.storeJobs(ctx, parked[0].Source, data); err != nil {
		return err
	}
	if err := p.store.DeleteParked(ctx, done); err != nil {
		return err
	}
	p.unparked.Add(float64(len(data)))
	return nil
}

// Sweep stores parked jobs whose push has arrived by another way (a push
// stored by another process, or by a source that bypassed this pipeline).
// The server runs it periodically; it returns how many pushes it unparked.
func (p *Pipeline) Sweep(ctx context.Context) (int, error) {
	revs, err := p.store.ParkedRevisions(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, rr := range revs {
		ids, err := p.store.PushIDs(ctx, rr.RepositoryID, []string{rr.Revision})
		if err != nil {
			return n, err
		}
		if len(ids) == 0 {
			continue
		}
		if err := p.unpark(ctx, rr); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// StoreJobData stores job data outside any source (fixture loading, the demo).
func (p *Pipeline) StoreJobData(ctx context.Context, source string, data []sdk.JobDatum) error {
	return p.storeJobs(ctx, source, data)
}

func (p *Pipeline) storeJobs(ctx context.Context, source string, data []sdk.JobDatum) error {
	type key struct {
		repo int64
		rev  string
	}
	// Normalising (hashing, mostly) is spread over two goroutines for large
	// batches; the database is idle meanwhile.
	norm := make([]model.Job, len(data))
	known := make([]bool, len(data))
	normalize := func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			d := &data[i]
			repo, ok, err := p.repository(ctx, d.Project)
			if err != nil {
				return err
			}
			if !ok {
				p.reject(source, "unknown_repository", fmt.Errorf("job %s: unknown or inactive repository %q", d.Job.JobGUID, d.Project))
				continue
			}
			norm[i] = NormalizeJob(repo.Name, *d)
			norm[i].RepositoryID = repo.ID
			known[i] = true
		}
		return nil
	}
	mid := 0
	if len(data) >= 200 {
		mid = len(data) / 2
	}
	errc := make(chan error, 1)
	go func() { errc <- normalize(0, mid) }()
	err := normalize(mid, len(data))
	if err2 := <-errc; err == nil {
		err = err2
	}
	if err != nil {
		return err
	}
	jobs := norm[:0]
	need := map[int64]map[string]bool{}
	var superseded []string
	var origin []int // index in data of each job
	for i, d := range data {
		if !known[i] {
			continue
		}
		j := norm[i]
		jobs = append(jobs, j)
		origin = append(origin, i)
		if need[j.RepositoryID] == nil {
			need[j.RepositoryID] = map[string]bool{}
		}
		need[j.RepositoryID][d.Revision] = true
		superseded = append(superseded, d.Superseded...)
	}
	ids := map[key]int64{}
	for repoID, revs := range need {
		list := make([]string, 0, len(revs))
		for r := range revs {
			list = append(list, r)
		}
		found, err := p.store.PushIDs(ctx, repoID, list)
		if err != nil {
			return err
		}
		for r, id := range found {
			ids[key{repoID, r}] = id
		}
	}
	ready := jobs[:0]
	var parked []model.ParkedJob
	for i, j := range jobs {
		id, ok := ids[key{j.RepositoryID, j.PushRevision}]
		if !ok {
			payload, err := json.Marshal(data[origin[i]])
			if err != nil {
				return fmt.Errorf("park job %s: %w", j.GUID, err)
			}
			parked = append(parked, model.ParkedJob{RepositoryID: j.RepositoryID, Revision: j.PushRevision,
				GUID: j.GUID, Source: source, Payload: payload})
			continue
		}
		j.PushID = id
		ready = append(ready, j)
	}
	if len(parked) > 0 {
		if err := p.store.ParkJobs(ctx, parked); err != nil {
			return err
		}
		p.parked.Add(float64(len(parked)))
		p.log.Debug("jobs parked until their push arrives", "count", len(parked), "revision", parked[0].Revision)
	}
	if err := p.store.StoreJobs(ctx, ready); err != nil {
		return err
	}
	p.events.WithLabelValues(source, "job").Add(float64(len(ready)))
	if len(superseded) > 0 {
		if err := p.store.MarkSuperseded(ctx, superseded); err != nil {
			return err
		}
	}
	return nil
}

func (p *Pipeline) reject(source, reason string, err error) {
	p.rejected.WithLabelValues(source, reason).Inc()
	p.log.Warn("event refused", "source", source, "reason", reason, "error", err)
}
