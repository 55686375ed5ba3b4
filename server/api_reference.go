package server

import (
	"net/http"

	"github.com/uptrace/bunrouter"
)

// cachedReference answers a reference endpoint from the response cache:
// its rows are added rarely and never change.
func (s *Server) cachedReference(next bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	if !s.cache.enabled() {
		return next
	}
	ttl := max(s.cache.ttl, referenceCacheTTL)
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		return s.cache.serve(w, req, cacheKey(req.Request, false), ttl, next)
	}
}

type optionNameJSON struct {
	Name string `json:"name"`
}

type optionCollectionJSON struct {
	OptionCollectionHash string           `json:"option_collection_hash"`
	Options              []optionNameJSON `json:"options"`
}

func (a *readAPI) optionCollectionHash(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	list, err := a.store.OptionCollections(req.Context())
	if err != nil {
		return err
	}
	out := make([]optionCollectionJSON, 0, len(list))
	for _, oc := range list {
		o := optionCollectionJSON{OptionCollectionHash: oc.Hash, Options: make([]optionNameJSON, 0, len(oc.Options))}
		for _, n := range oc.Options {
			o.Options = append(o.Options, optionNameJSON{n})
		}
		out = append(out, o)
	}
	return sendCached(w, req.Request, out)
}

type machinePlatformJSON struct {
	ID       int64  `json:"id"`
	Platform string `json:"platform"`
}

func (a *readAPI) machinePlatforms(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	list, err := a.store.MachinePlatforms(req.Context())
	if err != nil {
		return err
	}
	out := make([]machinePlatformJSON, 0, len(list))
	for _, mp := range list {
		out = append(out, machinePlatformJSON{mp.ID, mp.Platform.Platform})
	}
	return sendCached(w, req.Request, out)
}

type taskclusterMetadataJSON struct {
	Job     int64  `json:"job"`
	TaskID  string `json:"task_id"`
	RetryID int    `json:"retry_id"`
}

func (a *readAPI) taskclusterMetadata(w http.ResponseWriter, req bunrouter.Request, p *params) error {
	ids, err := p.ints("job_ids")
	if err != nil {
		return err
	}
	if len(ids) > 2000 {
		return badf("At most 2000 job_ids per request.")
	}
	list, err := a.store.TaskclusterMetadata(req.Context(), ids)
	if err != nil {
		return err
	}
	out := make([]taskclusterMetadataJSON, 0, len(list))
	for _, m := range list {
		out = append(out, taskclusterMetadataJSON{m.JobID, m.TaskID, m.RetryID})
	}
	return sendJSON(w, http.StatusOK, out)
}
