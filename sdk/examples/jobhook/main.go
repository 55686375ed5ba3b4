// Command jobhook is an example herder source plugin: a CI system POSTs one
// JSON record per job state change to /jobs, and jobhook answers 202 only
// after herder has durably stored the job (503 otherwise, so the CI system
// retries). See docs/plugin-authoring.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/herder-ci/herder/sdk"
)

type config struct {
	Listen  string `json:"listen"`  // address to receive webhooks on, e.g. "127.0.0.1:8091"
	Project string `json:"project"` // herder repository the jobs belong to
}

// record is what the CI system posts.
type record struct {
	ID       string `json:"id"` // unique per job run; becomes the job guid
	Revision string `json:"revision"`
	Name     string `json:"name"`
	Symbol   string `json:"symbol"`
	Platform string `json:"platform"`
	State    string `json:"state"`  // pending, running or completed
	Result   string `json:"result"` // success, testfailed, busted, ... when completed
	LogURL   string `json:"log_url"`
	Started  int64  `json:"started"`
	Finished int64  `json:"finished"`
}

type jobhook struct{}

func (jobhook) Run(ctx context.Context, raw []byte, sink sdk.Sink) error {
	var c config
	if err := json.Unmarshal(raw, &c); err != nil || c.Listen == "" || c.Project == "" {
		return fmt.Errorf("config needs listen and project: %s (%v)", raw, err)
	}
	srv := &http.Server{Addr: c.Listen, Handler: handler(c.Project, sink), ReadHeaderTimeout: 10 * time.Second}
	stopped := make(chan struct{})
	go func() { // on stop, let requests in flight get their answer
		defer close(stopped)
		<-ctx.Done()
		stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(stop)
	}()
	sdk.Logger().Info("receiving job webhooks", "listen", c.Listen)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-stopped
	return nil
}

func handler(project string, sink sdk.Sink) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /jobs", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		var rec record
		if err == nil {
			err = json.Unmarshal(body, &rec)
		}
		if err != nil || rec.ID == "" || rec.Revision == "" || rec.State == "" {
			http.Error(w, "want a JSON job record with id, revision and state", http.StatusBadRequest)
			return
		}
		p := sdk.Platform{Platform: rec.Platform, OSName: "-", Architecture: "-"}
		var refs []sdk.LogReference
		if rec.LogURL != "" {
			refs = []sdk.LogReference{{Name: sdk.LogLiveBacking, URL: rec.LogURL}}
		}
		ev := sdk.Event{ID: rec.ID + "/" + rec.State, Raw: body, Job: &sdk.JobDatum{
			Project: project, Revision: rec.Revision,
			Job: sdk.Job{JobGUID: rec.ID, Name: rec.Name, JobSymbol: rec.Symbol, State: rec.State, Result: rec.Result,
				Tier: 1, BuildPlatform: p, MachinePlatform: p, StartTimestamp: rec.Started, EndTimestamp: rec.Finished,
				LogReferences: refs},
		}}
		switch err := sink.Send(r.Context(), ev); {
		case errors.Is(err, sdk.ErrRejected):
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		case err != nil:
			http.Error(w, "not stored, retry later", http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	})
	return mux
}

func main() { sdk.ServeSource(jobhook{}, sdk.WithVersion("0.1.0")) }
