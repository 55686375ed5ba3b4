package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

var pluginBin string

func TestMain(m *testing.M) { plugintest.RunTestsWithPlugin(m, &pluginBin) }

// TestSourceKit runs the SDK's source conformance kit against the plugin
// binary polling a pushlog: input i is push i+1; it counts as acknowledged
// once the plugin's cursor file is past it. Kill -9 mid-batch, nacks and
// restarts must lose no push, and the cursor must never pass a push the host
// did not accept.
func TestSourceKit(t *testing.T) {
	plugintest.SourceKit{
		Plugin: pluginBin,
		Inputs: 30,
		Key: func(e sdk.Event) string {
			if e.Push == nil {
				return ""
			}
			return "push/" + e.Push.Revision
		},
		Timeout: 30 * time.Second,
		Setup: func(t *testing.T) (plugintest.Upstream, []byte) {
			p := &pushlog{}
			p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
			t.Cleanup(p.srv.Close)
			p.stateDir = t.TempDir()
			cfg, _ := json.Marshal(map[string]any{
				"root_url":   p.srv.URL,
				"repository": map[string]any{"name": "autoland", "url": p.srv.URL + "/repo"},
				"state_dir":  p.stateDir, "interval": "20ms", "all_tasks": false, "max_pushes": 4, "start_after": 0,
			})
			return p, cfg
		},
	}.Run(t)
}

// pushlog is a json-pushes endpoint whose pushes the kit publishes.
type pushlog struct {
	srv      *httptest.Server
	stateDir string
	mu       sync.Mutex
	n        int // pushes 1..n exist
}

func revision(id int) string { return fmt.Sprintf("%040x", 0xbeef0000+id) }

func (p *pushlog) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/repo/json-pushes" {
		http.NotFound(w, r)
		return
	}
	p.mu.Lock()
	last := p.n
	p.mu.Unlock()
	start, end := max(last-10, 0), last
	if s := r.URL.Query().Get("startID"); s != "" {
		start, _ = strconv.Atoi(s)
	}
	if e := r.URL.Query().Get("endID"); e != "" {
		end, _ = strconv.Atoi(e)
	}
	pushes := map[string]any{}
	for id := start + 1; id <= min(end, last); id++ {
		pushes[strconv.Itoa(id)] = map[string]any{"date": 1700000000 + id, "user": "u@example.com",
			"changesets": []any{map[string]any{"node": revision(id), "author": "A <a@example.com>", "desc": "d"}}}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"lastpushid": last, "pushes": pushes})
}

// Publish makes push i+1 (start_after = 0 makes the plugin read the
// pushlog from its beginning).
func (p *pushlog) Publish(_ context.Context, i int) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i+1 != p.n+1 {
		return "", fmt.Errorf("inputs must come in order: got %d after %d", i, p.n-1)
	}
	p.n++
	return "push/" + revision(p.n), nil
}

// Unacked: pushes past the cursor the plugin wrote.
func (p *pushlog) Unacked() []string {
	p.mu.Lock()
	n := p.n
	p.mu.Unlock()
	cursor := 0
	if b, err := os.ReadFile(filepath.Join(p.stateDir, "cursor-autoland.json")); err == nil {
		var st struct {
			LastPushID int `json:"last_push_id"`
		}
		if json.Unmarshal(b, &st) == nil {
			cursor = st.LastPushID
		}
	}
	var out []string
	for id := cursor + 1; id <= n; id++ {
		out = append(out, "push/"+revision(id))
	}
	return out
}
