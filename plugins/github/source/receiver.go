package source

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herder-ci/herder/plugins/github/api"
	"github.com/herder-ci/herder/plugins/github/events"
	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
)

// receiver handles webhook deliveries.
type receiver struct {
	cfg    *Config
	secret []byte
	b      *events.Builder
	sink   sdk.Sink
	seen   *deliveries
	stats  *Stats
	log    *slog.Logger
	base   context.Context
	sem    chan struct{}
	client *api.Client
}

func (rv *receiver) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(rv.cfg.Path, rv.webhook)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		out := map[string]any{"counts": rv.stats.Snapshot(), "api": rv.client.Stats(), "remembered_deliveries": rv.seen.size()}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

// reply is the JSON body of every webhook answer.
type reply struct {
	Status   string `json:"status,omitempty"`
	Error    string `json:"error,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Delivery string `json:"delivery,omitempty"`
	Events   int    `json:"events,omitempty"`
	// retryAfter, in seconds, goes in a Retry-After header.
	retryAfter int
}

// ValidSignature reports whether header (X-Hub-Signature-256,
// "sha256=<hex>") is the HMAC-SHA256 of body under secret, compared in
// constant time.
func ValidSignature(secret, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok || len(hexSig) != 2*sha256.Size {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Sign returns the X-Hub-Signature-256 value GitHub sends for body.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// webhook handles one delivery: read (bounded), verify the signature
// before trusting anything else, refuse a replayed delivery id, decode,
// make the events, hand them to the host, and answer 2xx only once the
// host accepted them; only then is the id remembered.
func (rv *receiver) webhook(w http.ResponseWriter, r *http.Request) {
	rv.stats.Received.Add(1)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, reply{Error: "webhooks are POSTed"})
		return
	}
	event, delivery := r.Header.Get("X-GitHub-Event"), r.Header.Get("X-GitHub-Delivery")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rv.cfg.MaxBodyBytes))
	if err != nil {
		rv.stats.BadRequests.Add(1)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, reply{Error: "body is larger than max_body_bytes (" + strconv.FormatInt(rv.cfg.MaxBodyBytes, 10) + ")"})
			return
		}
		writeJSON(w, http.StatusBadRequest, reply{Error: "could not read the body"})
		return
	}
	if !ValidSignature(rv.secret, body, r.Header.Get("X-Hub-Signature-256")) {
		n := rv.stats.Forged.Add(1)
		rv.log.Warn("github webhook refused: bad or missing signature", "delivery", clip(delivery), "event", clip(event),
			"remote", r.RemoteAddr, "forged_total", n)
		writeJSON(w, http.StatusUnauthorized, reply{Error: "signature does not match (X-Hub-Signature-256 must be the HMAC-SHA256 of the body under the webhook secret)"})
		return
	}
	if event == "" || !validDeliveryID(delivery) {
		rv.stats.BadRequests.Add(1)
		writeJSON(w, http.StatusBadRequest, reply{Error: "X-GitHub-Event and X-GitHub-Delivery (a GUID) are required"})
		return
	}
	switch rv.seen.begin(delivery) {
	case deliveryReplayed:
		n := rv.stats.Replayed.Add(1)
		rv.log.Warn("github webhook refused: delivery already accepted (replay)", "delivery", delivery, "event", event,
			"remote", r.RemoteAddr, "replayed_total", n)
		writeJSON(w, http.StatusConflict, reply{Error: "delivery already accepted; a replay is refused", Delivery: delivery})
		return
	case deliveryInFlight:
		rv.stats.InFlight.Add(1)
		writeJSON(w, http.StatusConflict, reply{Error: "delivery is being handled by another request", Delivery: delivery})
		return
	}
	// The claim is released however the handling ends (a panic included),
	// and the id remembered only once the 2xx is on its way: a plugin
	// killed between the host's accept and the answer must not make the
	// sender's retry a "replay" that can never succeed. Killed after the
	// answer and before the record, the id is forgotten, and a replay of it
	// would store the same events again (the store is idempotent).
	accepted := false
	defer func() {
		if err := rv.seen.end(delivery, accepted); err != nil {
			rv.log.Error("could not record the delivery id; a replay of it would be accepted", "delivery", delivery, "error", err)
		}
	}()
	status, rep := rv.claimed(event, delivery, r.Header.Get("Content-Type"), body)
	rep.Delivery = delivery
	if rep.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(rep.retryAfter))
	}
	writeJSON(w, status, rep)
	accepted = status/100 == 2 && http.NewResponseController(w).Flush() == nil
}

// claimed handles a delivery whose id this request holds.
func (rv *receiver) claimed(event, delivery, contentType string, body []byte) (int, reply) {
	ctx, cancel := context.WithTimeout(rv.base, time.Duration(rv.cfg.HandlerTimeout))
	defer cancel()
	select {
	case rv.sem <- struct{}{}:
		defer func() { <-rv.sem }()
	case <-ctx.Done():
		return http.StatusServiceUnavailable, reply{Error: "too many deliveries at once"}
	}
	return rv.handle(ctx, event, delivery, contentType, body)
}

// handle decodes a verified delivery and hands its events to the host.
func (rv *receiver) handle(ctx context.Context, event, delivery, contentType string, body []byte) (int, reply) {
	log := rv.log.With("delivery", delivery, "event", event)
	wh, err := events.Decode(event, contentType, body)
	var perr *events.PayloadError
	switch {
	case errors.Is(err, events.ErrUnsupported):
		rv.stats.Unsupported.Add(1)
		log.Debug("github webhook ignored: event type not handled")
		return http.StatusAccepted, reply{Status: "ignored", Reason: "event type " + clip(event) + " is not handled"}
	case errors.As(err, &perr):
		rv.stats.BadRequests.Add(1)
		log.Warn("github webhook refused: unusable payload", "error", err)
		return http.StatusBadRequest, reply{Error: err.Error()}
	case err != nil:
		rv.stats.BadRequests.Add(1)
		return http.StatusBadRequest, reply{Error: err.Error()}
	}
	if wh.Event == events.EventPing {
		log.Info("github webhook ping", "repository", wh.Repository.FullName)
		return http.StatusOK, reply{Status: "pong"}
	}
	evs, err := rv.b.Webhook(ctx, wh, delivery)
	if err != nil {
		return rv.failure(log, wh, err)
	}
	if err := rv.sink.Send(ctx, evs...); err != nil {
		rv.stats.SendErrors.Add(1)
		log.Warn("host did not accept the events of a webhook", "error", err)
		if errors.Is(err, sdk.ErrRejected) {
			return http.StatusUnprocessableEntity, reply{Error: "the host refuses these events: " + err.Error()}
		}
		return http.StatusServiceUnavailable, reply{Error: "the host did not accept the events; redeliver later"}
	}
	rv.stats.Accepted.Add(1)
	rv.stats.EventsSent.Add(int64(len(evs)))
	log.Debug("github webhook accepted", "repository", wh.Repository.FullName, "events", len(evs))
	return http.StatusOK, reply{Status: "accepted", Events: len(evs)}
}

// failure answers a delivery whose events could not be made.
func (rv *receiver) failure(log *slog.Logger, wh *events.Webhook, err error) (int, reply) {
	var perr *events.PayloadError
	switch {
	case errors.Is(err, events.ErrIgnored):
		rv.stats.Ignored.Add(1)
		log.Info("github webhook ignored", "repository", wh.Repository.FullName, "reason", err.Error())
		return http.StatusAccepted, reply{Status: "ignored", Reason: err.Error()}
	case errors.As(err, &perr):
		rv.stats.BadRequests.Add(1)
		log.Warn("github webhook refused: unusable payload", "error", err)
		return http.StatusBadRequest, reply{Error: err.Error()}
	case errors.Is(err, transform.ErrAmbiguousRepository):
		log.Error("github webhook: more than one herder repository matches; fix the repositories setting", "error", err)
		return http.StatusInternalServerError, reply{Error: "configuration: " + err.Error()}
	}
	if rl, ok := api.AsRateLimit(err); ok {
		rv.stats.RateLimited.Add(1)
		secs := max(int(time.Until(rl.Until).Seconds())+1, 1)
		log.Warn("github webhook not handled: GitHub rate limit", "until", rl.Until.UTC().Format(time.RFC3339))
		return http.StatusServiceUnavailable, reply{Error: "GitHub API rate limit; redeliver later", retryAfter: secs}
	}
	rv.stats.Upstream.Add(1)
	log.Warn("github webhook not handled: GitHub API call failed", "error", err)
	return http.StatusBadGateway, reply{Error: "GitHub API call failed: " + err.Error()}
}

// clip bounds an untrusted header value in logs and replies.
func clip(s string) string {
	if len(s) > 80 {
		s = s[:80]
	}
	return strings.ToValidUTF8(s, "?")
}
