package listener

import (
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/plugins/pulse/transform"
)

func TestParseConfigDefaults(t *testing.T) {
	s, err := parseConfig([]byte(`{"sources": [{"pulse_url": "amqps://alice:secret@pulse.mozilla.org:5671", "hgmo": true, "github": true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Prefetch != 100 || s.BatchSize != 50 || time.Duration(s.BatchWait) != 100*time.Millisecond || s.Workers != 8 || !*s.Durable {
		t.Errorf("defaults: prefetch %d, batch %d, wait %v, workers %d, durable %v", s.Prefetch, s.BatchSize, time.Duration(s.BatchWait), s.Workers, *s.Durable)
	}
	src := s.sources[0]
	if src.RootURL != DefaultRootURL || src.queue != "queue/alice/herder" || src.uri.Vhost != "/" {
		t.Errorf("source: root %s, queue %s, vhost %q", src.RootURL, src.queue, src.uri.Vhost)
	}
	if s.User != "alice" || s.DeadLetterQueue != "queue/alice/herder-dead-letter" {
		t.Errorf("user %q, dead-letter queue %q", s.User, s.DeadLetterQueue)
	}
	var names []string
	for _, b := range src.bindings {
		names = append(names, b.Exchange+" "+strings.Join(b.RoutingKeys, ","))
	}
	want := []string{
		transform.ExchangeTaskDefined + " #", transform.ExchangeTaskPending + " #", transform.ExchangeTaskRunning + " #",
		transform.ExchangeTaskCompleted + " #", transform.ExchangeTaskFailed + " #", transform.ExchangeTaskException + " #",
		transform.ExchangeHgPushesV1 + " #", transform.ExchangeGitHubPush + " #", transform.ExchangeGitHubPullRequest + " #",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("bindings:\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	hosts := strings.Join(s.allowedHosts(), " ")
	if hosts != "firefox-ci-tc.services.mozilla.com hg.mozilla.org api.github.com" {
		t.Errorf("allowed hosts %s", hosts)
	}
}

func TestParseConfigSeveralSources(t *testing.T) {
	s, err := parseConfig([]byte(`{
		"user": "herder",
		"queue_name": "tasks",
		"sources": [
			{"root_url": "https://firefox-ci-tc.services.mozilla.com/", "pulse_url": "amqp://u:p@mq:5672/"},
			{"root_url": "https://community-tc.services.mozilla.com", "pulse_url": "amqp://u:p@mq:5672/", "vhost": "communitytc", "tasks": false, "github": true},
			{"root_url": "https://community-tc.services.mozilla.com", "pulse_url": "amqp://u:p@mq:5672/", "queue_name": "third"}
		],
		"prefetch": 10, "batch_wait": 0.25, "allowed_hosts": ["*.taskcluster-artifacts.net"],
		"exchanges": []}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{s.sources[0].queue, s.sources[1].queue, s.sources[2].queue}; got[0] != "queue/herder/tasks" || got[1] != "queue/herder/tasks-1" || got[2] != "queue/herder/third" {
		t.Errorf("queues %v", got)
	}
	if s.sources[0].RootURL != "https://firefox-ci-tc.services.mozilla.com" || s.sources[1].uri.Vhost != "communitytc" {
		t.Errorf("root %s, vhost %s", s.sources[0].RootURL, s.sources[1].uri.Vhost)
	}
	if len(s.sources[1].bindings) != 2 || s.BatchSize != 5 || time.Duration(s.BatchWait) != 250*time.Millisecond {
		t.Errorf("bindings %v, batch %d, wait %v", s.sources[1].bindings, s.BatchSize, time.Duration(s.BatchWait))
	}
	if hosts := strings.Join(s.allowedHosts(), " "); hosts != "*.taskcluster-artifacts.net firefox-ci-tc.services.mozilla.com community-tc.services.mozilla.com" {
		t.Errorf("allowed hosts %s", hosts)
	}
}

func TestParseConfigBindings(t *testing.T) {
	s, err := parseConfig([]byte(`{"sources": [{"pulse_url": "amqp://u:p@mq/v"}], "exchanges": [
		"exchange/hgpushes/v2",
		{"exchange": "exchange/taskcluster-queue/v1/task-completed", "routing_keys": ["route.tc-treeherder.#", "#.primary.#"]},
		{"exchange": "exchange/taskcluster-queue/v1/task-failed", "routing_key": "primary.#"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b := s.sources[0].bindings
	if len(b) != 3 || b[0].RoutingKeys[0] != "#" || len(b[1].RoutingKeys) != 2 || b[2].RoutingKeys[0] != "primary.#" {
		t.Errorf("bindings %+v", b)
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := map[string]string{
		`{}`: "at least one source",
		`{"sources": [{"pulse_url": "http://alice:hunter2@x"}]}`:                                                                     "not an amqp",
		`{"sources": [{"pulse_url": "amqp://x"}]}`:                                                                                   "", // guest user from the URL default
		`{"sources": [{"pulse_url": "amqp://u:p@x", "root_url": "ftp://x"}]}`:                                                        "root_url",
		`{"sources": [{"pulse_url": "amqp://u:p@x"}], "prefetch": 70000}`:                                                            "prefetch",
		`{"sources": [{"pulse_url": "amqp://u:p@x"}], "batch_size": 500}`:                                                            "batch_size",
		`{"sources": [{"pulse_url": "amqp://u:p@x"}], "batch_wait": "soon"}`:                                                         "duration",
		`{"sources": [{"pulse_url": "amqp://u:p@x"}], "surprise": 1}`:                                                                "unknown field",
		`{"sources": [{"pulse_url": "amqp://u:p@x", "tasks": false}]}`:                                                               "nothing to bind",
		`{"sources": [{"pulse_url": "amqp://u:p@x"}, {"pulse_url": "amqp://u:p@x", "queue_name": "herder"}]}`:                        "used twice",
		`{"sources": [{"pulse_url": "amqp://u:p@x"}], "repositories": [{"name": "a"}]}`:                                              "url are required",
		`{"sources": [{"pulse_url": "amqp://u:p@x"}], "repositories": [{"name": "a", "url": "https://x", "active_status": "gone"}]}`: "active_status",
		`{"sources": [{"pulse_url": "amqp://u:p@x"}], "exchanges": [{"routing_keys": ["#"]}]}`:                                       "no exchange name",
		`{"sources": [{"pulse_url": "amqp://u:p@x"}], "exchanges": [{"exchange": "e", "bogus": 1}]}`:                                 "unknown field",
		`not json`: "pulse config",
	}
	for in, want := range cases {
		_, err := parseConfig([]byte(in))
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", in, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: got %v, want an error about %q", in, err, want)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("%s: the error repeats the password: %v", in, err)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"sources": [{"pulse_url": "amqp://u:p@x", "hgmo": true}], "exchanges": ["a", {"exchange": "b"}], "batch_wait": 1}`))
	f.Add([]byte(`{"sources": [{"pulse_url": "amqps://u:p@x:1/v", "vhost": "w"}], "repositories": [{"name": "a", "url": "https://x", "branches": ["*"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseConfig(data)
		if err != nil {
			return
		}
		if len(s.sources) == 0 || s.BatchSize < 1 || s.BatchSize > s.Prefetch || s.DeadLetterQueue == "" {
			t.Fatalf("accepted a config it cannot run: %+v", s.Config)
		}
		for _, src := range s.sources {
			if len(src.bindings) == 0 || src.queue == "" {
				t.Fatalf("source without bindings or queue: %+v", src)
			}
		}
		_ = s.allowedHosts()
		_ = s.repositories()
	})
}
