package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Redacted replaces secrets in `config show` output and logs.
const Redacted = "REDACTED"

// The JSON shape of `herder config show`: the file's own attribute names, so
// the output reads like the HCL it came from.
type (
	showConfig struct {
		Filename     string           `json:"filename"`
		Dir          string           `json:"dir"`
		PluginDir    string           `json:"plugin_dir"`
		DataDir      string           `json:"data_dir"`
		AllowedHosts []string         `json:"allowed_hosts"`
		Server       showServer       `json:"server"`
		Storage      showStorage      `json:"storage"`
		Queue        *showQueue       `json:"queue"`
		Log          showLog          `json:"log"`
		Auth         showAuth         `json:"auth"`
		Plugins      []showPlugin     `json:"plugins"`
		Sources      []showSource     `json:"sources"`
		Processors   []showProcessor  `json:"processors"`
		Schedules    []showSchedule   `json:"schedules"`
		RepoGroups   []showGroup      `json:"repository_groups"`
		Repos        []showRepository `json:"repositories"`
	}
	showServer struct {
		Listen          string `json:"listen"`
		ShutdownTimeout string `json:"shutdown_timeout"`
		ReadCacheTTL    string `json:"read_cache_ttl"`
		PublicURL       string `json:"public_url"`
	}
	showStorage struct {
		Driver       string `json:"driver"`
		DSN          string `json:"dsn"`
		MaxOpenConns int    `json:"max_open_conns"`
		MaxIdleConns int    `json:"max_idle_conns"`
		AutoMigrate  bool   `json:"auto_migrate"`
	}
	showQueue struct {
		URL           string `json:"url"`
		Prefetch      int    `json:"prefetch"`
		DeliveryLimit int    `json:"delivery_limit"`
		Prefix        string `json:"prefix"`
		DrainTimeout  string `json:"drain_timeout"`
	}
	showLog struct {
		Level  string `json:"level"`
		Format string `json:"format"`
	}
	showAuth struct {
		OIDCIssuer   string `json:"oidc_issuer"`
		OIDCClientID string `json:"oidc_client_id"`
		SheriffGroup string `json:"sheriff_group"`
	}
	showPlugin struct {
		Name   string `json:"name"`
		Path   string `json:"path"`
		SHA256 string `json:"sha256"`
	}
	showSource struct {
		Name   string          `json:"name"`
		Plugin string          `json:"plugin"`
		Config json.RawMessage `json:"config"`
	}
	showProcessor struct {
		Name        string          `json:"name"`
		Plugin      string          `json:"plugin"`
		Concurrency int             `json:"concurrency"`
		Config      json.RawMessage `json:"config"`
	}
	showSchedule struct {
		Name    string            `json:"name"`
		Cron    string            `json:"cron"`
		Enabled bool              `json:"enabled"`
		Args    map[string]string `json:"args"`
	}
	showGroup struct {
		ID          int64  `json:"id,omitempty"`
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	showRepository struct {
		ID                       int64    `json:"id,omitempty"`
		Name                     string   `json:"name"`
		Group                    string   `json:"group"`
		DVCSType                 string   `json:"dvcs_type"`
		URL                      string   `json:"url"`
		Codebase                 string   `json:"codebase"`
		Description              string   `json:"description"`
		ActiveStatus             string   `json:"active_status"`
		LifeCycleOrder           *int     `json:"life_cycle_order"`
		PerformanceAlertsEnabled bool     `json:"performance_alerts_enabled"`
		ExpirePerformanceData    bool     `json:"expire_performance_data"`
		IsTryRepo                bool     `json:"is_try_repo"`
		TCRootURL                string   `json:"tc_root_url"`
		AcceptsPullRequests      bool     `json:"accepts_pull_requests"`
		Branches                 []string `json:"branches"`
	}
)

// RedactedJSON renders the effective configuration as indented JSON with
// secrets replaced by "REDACTED": the password in the storage dsn and the
// queue url, and in plugin configs any value under a secret-looking key
// (password, secret, token, dsn, credentials, api_key...) and any URL
// password.
func (c *Config) RedactedJSON() ([]byte, error) {
	out := showConfig{
		Filename:     c.Filename,
		Dir:          c.Dir,
		PluginDir:    c.PluginDir,
		DataDir:      c.DataDir,
		AllowedHosts: nonNil(c.AllowedHost),
		Server: showServer{
			Listen:          c.Server.Listen,
			ShutdownTimeout: c.Server.ShutdownTimeout.String(),
			ReadCacheTTL:    c.Server.ReadCacheTTL.String(),
			PublicURL:       c.Server.PublicURL,
		},
		Storage: showStorage{
			Driver:       c.Storage.Driver,
			DSN:          c.Storage.DSN,
			MaxOpenConns: c.Storage.MaxOpenConns,
			MaxIdleConns: c.Storage.MaxIdleConns,
			AutoMigrate:  c.Storage.AutoMigrate,
		},
		Log:        showLog(c.Log),
		Auth:       showAuth(c.Auth),
		Plugins:    []showPlugin{},
		Sources:    []showSource{},
		Processors: []showProcessor{},
		Schedules:  []showSchedule{},
		RepoGroups: []showGroup{},
		Repos:      []showRepository{},
	}
	if c.Storage.Driver == "mysql" {
		out.Storage.DSN = RedactMySQLDSN(c.Storage.DSN)
	}
	if c.Queue != nil {
		out.Queue = &showQueue{URL: RedactURL(c.Queue.URL), Prefetch: c.Queue.Prefetch,
			DeliveryLimit: c.Queue.DeliveryLimit, Prefix: c.Queue.Prefix, DrainTimeout: c.Queue.DrainTimeout.String()}
	}
	for _, p := range c.Plugins {
		out.Plugins = append(out.Plugins, showPlugin(p))
	}
	for _, s := range c.Sources {
		js, err := redactPluginConfig(s.Config)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", s.Name, err)
		}
		out.Sources = append(out.Sources, showSource{Name: s.Name, Plugin: s.Plugin, Config: js})
	}
	for _, p := range c.Processors {
		js, err := redactPluginConfig(p.Config)
		if err != nil {
			return nil, fmt.Errorf("processor %s: %w", p.Name, err)
		}
		out.Processors = append(out.Processors, showProcessor{Name: p.Name, Plugin: p.Plugin, Concurrency: p.Concurrency, Config: js})
	}
	for _, s := range c.Schedules {
		if s.Args == nil {
			s.Args = map[string]string{}
		}
		out.Schedules = append(out.Schedules, showSchedule(s))
	}
	for _, g := range c.RepoGroups {
		out.RepoGroups = append(out.RepoGroups, showGroup(g))
	}
	for _, r := range c.Repos {
		out.Repos = append(out.Repos, showRepository(r))
	}
	return json.MarshalIndent(out, "", "  ")
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// RedactURL replaces the password of a URL with "REDACTED". A string that
// does not parse as a URL is replaced whole, since it might be anything.
func RedactURL(s string) string {
	if s == "" {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return Redacted
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), Redacted)
	}
	return u.String()
}

// RedactMySQLDSN replaces the password in a go-sql-driver DSN
// (user:password@tcp(host)/db?params) with "REDACTED". The password may hold
// '@', ':' or '/', so the split follows the driver's: the last '/' ends the
// address, the last '@' before it ends the credentials, the first ':' in
// them starts the password.
func RedactMySQLDSN(dsn string) string {
	if strings.Contains(dsn, "://") {
		return RedactURL(dsn)
	}
	slash := strings.LastIndex(dsn, "/")
	if slash < 0 {
		return Redacted
	}
	at := strings.LastIndex(dsn[:slash], "@")
	if at < 0 {
		return dsn
	}
	colon := strings.Index(dsn[:at], ":")
	if colon < 0 {
		return dsn
	}
	return dsn[:colon+1] + Redacted + dsn[at:]
}

// secretKey says whether a plugin config key names a secret.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"password", "passwd", "secret", "token", "dsn", "credential", "api_key", "apikey", "private_key"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func redactPluginConfig(js []byte) (json.RawMessage, error) {
	if len(js) == 0 {
		return json.RawMessage("{}"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode plugin config: %w", err)
	}
	out, err := json.Marshal(redactValue(v))
	if err != nil {
		return nil, fmt.Errorf("encode plugin config: %w", err)
	}
	return out, nil
}

func redactValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, isString := e.(string); secretKey(k) && (!isString || s != "") {
				v[k] = Redacted
				continue
			}
			v[k] = redactValue(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = redactValue(e)
		}
		return v
	case string:
		if strings.Contains(v, "://") && strings.Contains(v, "@") {
			return RedactURL(v)
		}
		return v
	default:
		return v
	}
}
