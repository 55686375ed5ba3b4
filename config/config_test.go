package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// unsetenv removes a variable for one test and restores it afterwards.
func unsetenv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "") // registers the restore
	os.Unsetenv(name)
}

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	cfg, diags := Parse([]byte(src), "/etc/herder/test.hcl")
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = WriteDiagnostics(&b, map[string]*hcl.File{"/etc/herder/test.hcl": {Bytes: []byte(src)}}, diags)
		t.Fatalf("unexpected diagnostics:\n%s", b.String())
	}
	return cfg
}

func TestDefaultParses(t *testing.T) {
	cfg, diags := Default()
	if diags.HasErrors() {
		t.Fatalf("built-in config: %s", diags.Error())
	}
	if len(diags) != 0 {
		t.Errorf("built-in config has warnings: %s", diags.Error())
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, _ = filepath.EvalSymlinks(exe)
	cwd, _ := os.Getwd()
	if want := filepath.Join(filepath.Dir(exe), "plugins"); cfg.PluginDir != want {
		t.Errorf("PluginDir = %q, want %q (beside the executable)", cfg.PluginDir, want)
	}
	if want := filepath.Join(cwd, "data"); cfg.DataDir != want {
		t.Errorf("DataDir = %q, want %q (under the working directory)", cfg.DataDir, want)
	}
	if cfg.Filename != BuiltinFilename {
		t.Errorf("Filename = %q", cfg.Filename)
	}
	if cfg.Storage.Driver != "sqlite" || cfg.Storage.DSN != filepath.Join(cwd, "data", "herder.db") || !cfg.Storage.AutoMigrate {
		t.Errorf("Storage = %+v", cfg.Storage)
	}
	if cfg.Queue != nil {
		t.Errorf("built-in config has a queue: %+v", cfg.Queue)
	}
	if cfg.Server.Listen != "127.0.0.1:8080" || cfg.Server.ShutdownTimeout != 15*time.Second {
		t.Errorf("Server = %+v", cfg.Server)
	}
	if cfg.Log != (Log{Level: "info", Format: "text"}) {
		t.Errorf("Log = %+v", cfg.Log)
	}
}

func TestQueueBlock(t *testing.T) {
	cfg := mustParse(t, `
queue {
  url            = "amqp://herder:herder@mq:5672/herder"
  prefetch       = 20
  delivery_limit = 3
  prefix         = "ci.herder"
  drain_timeout  = "1m"
}
`)
	want := Queue{URL: "amqp://herder:herder@mq:5672/herder", Prefetch: 20, DeliveryLimit: 3, Prefix: "ci.herder", DrainTimeout: time.Minute}
	if cfg.Queue == nil || *cfg.Queue != want {
		t.Errorf("Queue = %+v, want %+v", cfg.Queue, want)
	}
}

func TestEmptyFileGetsDefaults(t *testing.T) {
	cfg := mustParse(t, "")
	if cfg.PluginDir != "/etc/herder/plugins" || cfg.DataDir != "/etc/herder/data" {
		t.Errorf("dirs = %q, %q; want them beside the file", cfg.PluginDir, cfg.DataDir)
	}
	if cfg.Storage.DSN != "/etc/herder/data/herder.db" {
		t.Errorf("sqlite dsn = %q", cfg.Storage.DSN)
	}
	if cfg.Dir != "/etc/herder" {
		t.Errorf("Dir = %q", cfg.Dir)
	}
}

func TestRelativePaths(t *testing.T) {
	cfg := mustParse(t, `
plugin_dir = "bin/plugins"
data_dir   = "/srv/herder"
storage {
  dsn = "state/h.db"
}
plugin "a" {}
plugin "b" { path = "/opt/b" }
plugin "c" { path = "sub/c" }
`)
	if cfg.PluginDir != "/etc/herder/bin/plugins" || cfg.DataDir != "/srv/herder" {
		t.Errorf("dirs = %q, %q", cfg.PluginDir, cfg.DataDir)
	}
	if cfg.Storage.DSN != "/etc/herder/state/h.db" {
		t.Errorf("sqlite dsn = %q", cfg.Storage.DSN)
	}
	var paths []string
	for _, p := range cfg.Plugins {
		paths = append(paths, p.Path)
	}
	want := []string{"/etc/herder/bin/plugins/a", "/opt/b", "/etc/herder/bin/plugins/sub/c"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("plugin paths = %q, want %q", paths, want)
	}
}

func exampleEnv(t *testing.T) {
	t.Setenv("HERDER_MYSQL_DSN", "herder:hunter2@tcp(db:3306)/herder?parseTime=true")
	t.Setenv("HERDER_AMQP_URL", "amqps://herder:hunter2@mq:5671/herder")
	t.Setenv("HERDER_PULSE_URL", "amqps://pulseuser:hunter2@pulse.mozilla.org:5671")
	unsetenv(t, "HERDER_LOG_LEVEL")
	unsetenv(t, "HERDER_BUGZILLA_API_KEY")
	unsetenv(t, "HERDER_BUG_COMMENTS")
	unsetenv(t, "HERDER_OIDC_CLIENT_ID")
}

func TestExampleParses(t *testing.T) {
	exampleEnv(t)
	cfg, diags := Load("../examples/herder.hcl")
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = WriteDiagnostics(&b, nil, diags)
		t.Fatalf("example:\n%s", b.String())
	}
	if cfg.Storage.Driver != "mysql" || cfg.Storage.DSN != os.Getenv("HERDER_MYSQL_DSN") {
		t.Errorf("Storage = %+v", cfg.Storage)
	}
	if cfg.Queue == nil || cfg.Queue.URL != os.Getenv("HERDER_AMQP_URL") || cfg.Queue.Prefetch != 100 ||
		cfg.Queue.DeliveryLimit != 5 || cfg.Queue.Prefix != "herder" || cfg.Queue.DrainTimeout != 30*time.Second {
		t.Errorf("Queue = %+v", cfg.Queue)
	}
	names := func(n int, name func(int) string) []string {
		var s []string
		for i := 0; i < n; i++ {
			s = append(s, name(i))
		}
		return s
	}
	if got := names(len(cfg.Sources), func(i int) string { return cfg.Sources[i].Plugin }); !reflect.DeepEqual(got, []string{"pulse"}) {
		t.Errorf("source plugins = %q", got)
	}
	if got := names(len(cfg.Processors), func(i int) string { return cfg.Processors[i].Name }); !reflect.DeepEqual(got, []string{"logparser", "bugmatcher"}) {
		t.Errorf("processors = %q", got)
	}
	wantCron := map[string]string{"update_bugscache": "@hourly", "cycle_data": "0 3 * * *", "intermittents_commenter": "30 4 * * *"}
	if len(cfg.Schedules) != len(wantCron) {
		t.Errorf("schedules = %+v", cfg.Schedules)
	}
	for _, s := range cfg.Schedules {
		if wantCron[s.Name] != s.Cron {
			t.Errorf("schedule %s cron = %q, want %q", s.Name, s.Cron, wantCron[s.Name])
		}
	}
	var pulse map[string]any
	if err := json.Unmarshal(cfg.Sources[0].Config, &pulse); err != nil {
		t.Fatalf("pulse config: %v", err)
	}
	if pulse["pulse_url"] != os.Getenv("HERDER_PULSE_URL") {
		t.Errorf("pulse config = %v", pulse)
	}
	if len(cfg.Repos) != 1 || cfg.Repos[0].DVCSType != "git" || !reflect.DeepEqual(cfg.Repos[0].Branches, []string{"main", "releases/*"}) {
		t.Errorf("repos = %+v", cfg.Repos)
	}
	if cfg.Log.Level != "info" {
		t.Errorf("log level = %q (env default not applied)", cfg.Log.Level)
	}
}

func TestExampleNeedsEnv(t *testing.T) {
	exampleEnv(t)
	unsetenv(t, "HERDER_MYSQL_DSN")
	_, diags := Load("../examples/herder.hcl")
	if !diags.HasErrors() {
		t.Fatal("example validated without HERDER_MYSQL_DSN")
	}
	for _, d := range diags {
		if !strings.Contains(d.Detail, "HERDER_MYSQL_DSN") {
			t.Errorf("unexpected diagnostic besides the missing variable: %s: %s", d.Summary, d.Detail)
		}
	}
}

func TestEnvFunction(t *testing.T) {
	unsetenv(t, "HERDER_TEST_UNSET")
	t.Setenv("HERDER_TEST_SET", "from-env")
	t.Setenv("HERDER_TEST_EMPTY", "")
	cfg := mustParse(t, `
server {
  public_url = env("HERDER_TEST_UNSET", "https://fallback.example")
}
auth {
  oidc_client_id = env("HERDER_TEST_SET", "unused-default")
  sheriff_group  = env("HERDER_TEST_EMPTY", "unused-default")
  oidc_issuer    = "https://${env("HERDER_TEST_UNSET", "issuer")}.example"
}
`)
	if cfg.Server.PublicURL != "https://fallback.example" {
		t.Errorf("default not used: %q", cfg.Server.PublicURL)
	}
	if cfg.Auth.OIDCClientID != "from-env" {
		t.Errorf("env not used: %q", cfg.Auth.OIDCClientID)
	}
	if cfg.Auth.SheriffGroup != "" {
		t.Errorf("a set-but-empty variable must win over the default: %q", cfg.Auth.SheriffGroup)
	}
	if cfg.Auth.OIDCIssuer != "https://issuer.example" {
		t.Errorf("env in a template: %q", cfg.Auth.OIDCIssuer)
	}
}

func TestPluginConfigJSON(t *testing.T) {
	t.Setenv("HERDER_TEST_TOKEN", "tok")
	cfg := mustParse(t, `
plugin "p" {}
source "s" {
  plugin = "p"
  config {
    name    = "x"
    count   = 3
    ratio   = 0.5
    on      = true
    nothing = null
    list    = [1, "two", false]
    nested  = {
      inner = { deep = ["a", "b"], n = 10 }
      token = env("HERDER_TEST_TOKEN")
    }
  }
}
processor "q" {
  plugin = "p"
}
`)
	var got, want any
	if err := json.Unmarshal(cfg.Sources[0].Config, &got); err != nil {
		t.Fatalf("source config is not JSON: %v: %s", err, cfg.Sources[0].Config)
	}
	_ = json.Unmarshal([]byte(`{"name":"x","count":3,"ratio":0.5,"on":true,"nothing":null,
		"list":[1,"two",false],"nested":{"inner":{"deep":["a","b"],"n":10},"token":"tok"}}`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config JSON = %s", cfg.Sources[0].Config)
	}
	if string(cfg.Processors[0].Config) != "{}" {
		t.Errorf("missing config block gives %q, want {}", cfg.Processors[0].Config)
	}
	if cfg.Processors[0].Concurrency != 4 {
		t.Errorf("default concurrency = %d", cfg.Processors[0].Concurrency)
	}
}

func TestRepositoryDefaults(t *testing.T) {
	cfg := mustParse(t, `
repository "mine" {
  group     = "other" # built-in group
  dvcs_type = "git"
  url       = "https://git.example.org/mine"
}
`)
	r := cfg.Repos[0]
	if r.ActiveStatus != "active" || !r.ExpirePerformanceData || r.IsTryRepo || r.PerformanceAlertsEnabled ||
		r.AcceptsPullRequests || r.LifeCycleOrder != nil || r.ID != 0 || r.Branches != nil {
		t.Errorf("defaults = %+v", r)
	}
}

func TestSeedRepositories(t *testing.T) {
	groups, repos, err := SeedRepositories()
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 50 {
		t.Errorf("%d seed repositories, want the 50 active ones", len(repos))
	}
	byName := map[string]Repository{}
	var last int64
	for _, r := range repos {
		byName[r.Name] = r
		if r.ID <= last {
			t.Errorf("%s has id %d after id %d: seeds must be in id order", r.Name, r.ID, last)
		}
		last = r.ID
		if r.ActiveStatus != "active" {
			t.Errorf("%s is %s", r.Name, r.ActiveStatus)
		}
	}
	for name, id := range map[string]int64{"mozilla-central": 1, "try": 4, "comm-central": 35, "autoland": 77} {
		if byName[name].ID != id {
			t.Errorf("%s id = %d, want %d", name, byName[name].ID, id)
		}
	}
	if !byName["try"].IsTryRepo || byName["mozilla-central"].IsTryRepo {
		t.Error("is_try_repo not carried over")
	}
	if lco := byName["mozilla-central"].LifeCycleOrder; lco == nil || *lco != 10 {
		t.Errorf("mozilla-central life_cycle_order = %v", lco)
	}
	if got := byName["firefox-ios"].Branches; !reflect.DeepEqual(got, []string{"main", "release/*"}) {
		t.Errorf("firefox-ios branches = %q", got)
	}
	groupIDs := map[string]int64{}
	for _, g := range groups {
		groupIDs[g.Name] = g.ID
		if g.Description == "" {
			t.Errorf("group %s has no description", g.Name)
		}
	}
	if groupIDs["development"] != 1 {
		t.Errorf("development group id = %d", groupIDs["development"])
	}
	for _, r := range repos {
		if groupIDs[r.Group] == 0 {
			t.Errorf("%s uses group %q that is not seeded", r.Name, r.Group)
		}
	}
	// The caller owns the result.
	repos[0].Branches = append(repos[0].Branches, "mutated")
	_, again, _ := SeedRepositories()
	if len(again[0].Branches) != 0 {
		t.Error("SeedRepositories returned shared slices")
	}
}

// TestSeedMatchesFixture checks the built-in list against Treeherder's
// fixtures, from which it was generated.
func TestSeedMatchesFixture(t *testing.T) {
	dir := sharedFixtures(t)
	type fixture struct {
		PK     int64          `json:"pk"`
		Fields map[string]any `json:"fields"`
	}
	read := func(name string) []fixture {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var f []fixture
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return f
	}
	groupNames := map[int64]string{}
	for _, g := range read("repository_group.json") {
		groupNames[g.PK] = g.Fields["name"].(string)
	}
	branches := map[int64][]string{}
	for _, b := range read("repository_branch.json") {
		id := int64(b.Fields["repository"].(float64))
		branches[id] = append(branches[id], b.Fields["branch"].(string))
	}
	_, repos, err := SeedRepositories()
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for _, f := range read("repository.json") {
		if f.Fields["active_status"] != "active" {
			continue
		}
		if i >= len(repos) {
			t.Fatalf("seed has %d repositories, fixture more", len(repos))
		}
		r := repos[i]
		i++
		str := func(k string) string { s, _ := f.Fields[k].(string); return s }
		flag := func(k string, def bool) bool {
			if b, ok := f.Fields[k].(bool); ok {
				return b
			}
			return def
		}
		want := Repository{
			ID: f.PK, Name: str("name"), Group: groupNames[int64(f.Fields["repository_group"].(float64))],
			DVCSType: str("dvcs_type"), URL: str("url"), Codebase: str("codebase"), Description: str("description"),
			ActiveStatus: "active", TCRootURL: str("tc_root_url"),
			PerformanceAlertsEnabled: flag("performance_alerts_enabled", false),
			ExpirePerformanceData:    flag("expire_performance_data", true),
			IsTryRepo:                flag("is_try_repo", false),
			AcceptsPullRequests:      flag("accepts_pull_requests", false),
			Branches:                 branches[f.PK],
		}
		if n, ok := f.Fields["life_cycle_order"].(float64); ok {
			v := int(n)
			want.LifeCycleOrder = &v
		}
		if !reflect.DeepEqual(r, want) {
			t.Errorf("seed %d:\n got %+v\nwant %+v", f.PK, r, want)
		}
	}
	if i != len(repos) {
		t.Errorf("seed has %d repositories, fixture %d active ones", len(repos), i)
	}
}

func sharedFixtures(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("module root not found")
		}
		dir = parent
	}
	fixtures := filepath.Join(dir, "..", "shared", "testdata", "treeherder", "fixtures")
	if _, err := os.Stat(filepath.Join(fixtures, "repository.json")); err != nil {
		t.Skipf("Treeherder fixtures not available at %s", fixtures)
	}
	return fixtures
}

func TestSetOverrides(t *testing.T) {
	cfg := mustParse(t, "")
	dir := t.TempDir()
	if err := cfg.SetDataDir(dir); err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != dir || cfg.Storage.DSN != filepath.Join(dir, "herder.db") {
		t.Errorf("after SetDataDir: %q, %q", cfg.DataDir, cfg.Storage.DSN)
	}
	explicit := mustParse(t, `storage { dsn = "/var/db/h.db" }`)
	_ = explicit.SetDataDir(dir)
	if explicit.Storage.DSN != "/var/db/h.db" {
		t.Errorf("an explicit dsn moved with the data dir: %q", explicit.Storage.DSN)
	}
	if err := cfg.SetLogLevel("debug"); err != nil || cfg.Log.Level != "debug" {
		t.Errorf("SetLogLevel(debug) = %v, level %q", err, cfg.Log.Level)
	}
	if err := cfg.SetLogLevel("loud"); err == nil {
		t.Error("SetLogLevel accepted an unknown level")
	}
}
