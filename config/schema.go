package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/robfig/cron/v3"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

var rootSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "plugin_dir"},
		{Name: "data_dir"},
		{Name: "allowed_hosts"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "server"},
		{Type: "storage"},
		{Type: "queue"},
		{Type: "log"},
		{Type: "auth"},
		{Type: "plugin", LabelNames: []string{"name"}},
		{Type: "source", LabelNames: []string{"name"}},
		{Type: "processor", LabelNames: []string{"name"}},
		{Type: "schedule", LabelNames: []string{"name"}},
		{Type: "repository_group", LabelNames: []string{"name"}},
		{Type: "repository", LabelNames: []string{"name"}},
	},
}

func attrSchema(required []string, optional ...string) []hcl.AttributeSchema {
	var s []hcl.AttributeSchema
	for _, n := range required {
		s = append(s, hcl.AttributeSchema{Name: n, Required: true})
	}
	for _, n := range optional {
		s = append(s, hcl.AttributeSchema{Name: n})
	}
	return s
}

var (
	serverSchema  = &hcl.BodySchema{Attributes: attrSchema(nil, "listen", "shutdown_timeout", "public_url", "read_cache_ttl")}
	storageSchema = &hcl.BodySchema{Attributes: attrSchema(nil, "driver", "dsn", "max_open_conns", "max_idle_conns", "auto_migrate")}
	queueSchema   = &hcl.BodySchema{Attributes: attrSchema([]string{"url"}, "prefetch", "delivery_limit", "prefix", "drain_timeout")}
	logSchema     = &hcl.BodySchema{Attributes: attrSchema(nil, "level", "format")}
	authSchema    = &hcl.BodySchema{Attributes: attrSchema(nil, "oidc_issuer", "oidc_client_id", "sheriff_group")}
	pluginSchema  = &hcl.BodySchema{Attributes: attrSchema(nil, "path", "sha256")}
	sourceSchema  = &hcl.BodySchema{
		Attributes: attrSchema([]string{"plugin"}),
		Blocks:     []hcl.BlockHeaderSchema{{Type: "config"}},
	}
	processorSchema = &hcl.BodySchema{
		Attributes: attrSchema([]string{"plugin"}, "concurrency"),
		Blocks:     []hcl.BlockHeaderSchema{{Type: "config"}},
	}
	scheduleSchema = &hcl.BodySchema{Attributes: attrSchema([]string{"cron"}, "enabled", "args")}
	groupSchema    = &hcl.BodySchema{Attributes: attrSchema(nil, "id", "description")}
	repoSchema     = &hcl.BodySchema{Attributes: attrSchema(
		[]string{"group", "dvcs_type", "url"},
		"id", "codebase", "description", "active_status", "life_cycle_order",
		"performance_alerts_enabled", "expire_performance_data", "is_try_repo",
		"tc_root_url", "accepts_pull_requests", "branches",
	)}
)

// LogLevels are the accepted log levels, least to most severe.
var LogLevels = []string{"trace", "debug", "info", "warn", "error"}

const (
	defaultListen          = "127.0.0.1:8080"
	defaultShutdownTimeout = 15 * time.Second
	defaultReadCacheTTL    = 2 * time.Second
	defaultPrefetch        = 100
	defaultDeliveryLimit   = 5
	defaultQueuePrefix     = "herder"
	defaultDrainTimeout    = 30 * time.Second
	defaultConcurrency     = 4
	sqliteFilename         = "herder.db"
)

var (
	// Plugin, source, processor and schedule names become file names,
	// metric labels and log fields.
	instanceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	// Repository names appear in API paths (/api/project/NAME/); Treeherder
	// caps them at 50 characters.
	repoName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$`)
	sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// The queue prefix starts every RabbitMQ queue and exchange name; the
	// longest workload suffix keeps the names well under AMQP's 255 bytes.
	queuePrefix = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
)

// reference is a name used by one block that another block must declare.
type reference struct {
	name string
	rng  hcl.Range
}

func where(r hcl.Range) string { return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line) }

// content decodes a block's body; a nil block decodes as empty so that
// defaults apply when the block is left out.
func (d *decoder) content(b *hcl.Block, schema *hcl.BodySchema) (hcl.Attributes, hcl.Blocks) {
	if b == nil {
		return hcl.Attributes{}, nil
	}
	c, diags := b.Body.Content(schema)
	d.add(diags)
	return c.Attributes, c.Blocks
}

// single returns the only block of a type, diagnosing repeats.
func (d *decoder) single(blocks hcl.Blocks, typ string) *hcl.Block {
	if len(blocks) == 0 {
		return nil
	}
	for _, b := range blocks[1:] {
		d.errorf(b.DefRange, "Duplicate "+typ+" block",
			"Only one %s block is allowed; the first is at %s.", typ, where(blocks[0].DefRange))
	}
	return blocks[0]
}

// named checks a labelled block's name against its pattern and for repeats.
func (d *decoder) named(b *hcl.Block, seen map[string]hcl.Range, re *regexp.Regexp, rule string) (string, bool) {
	name := b.Labels[0]
	rng := b.DefRange
	if len(b.LabelRanges) > 0 {
		rng = b.LabelRanges[0]
	}
	if re != nil && !re.MatchString(name) {
		d.errorf(rng, "Invalid "+b.Type+" name", "The name %q is not valid: %s.", name, rule)
		return name, false
	}
	if first, dup := seen[name]; dup {
		d.errorf(rng, "Duplicate "+b.Type+" block",
			"A %s named %q is already declared at %s.", b.Type, name, where(first))
		return name, false
	}
	seen[name] = rng
	return name, true
}

func (d *decoder) decodeFile(body hcl.Body, o options) *Config {
	c, diags := body.Content(rootSchema)
	d.add(diags)
	cfg := &Config{Filename: o.filename, Dir: o.pluginBase}

	cfg.PluginDir = resolve(o.pluginBase, d.str(c.Attributes, "plugin_dir", "plugins"))
	cfg.DataDir = resolve(o.dataBase, d.str(c.Attributes, "data_dir", "data"))
	cfg.AllowedHost = d.allowedHosts(c.Attributes)

	blocks := c.Blocks.ByType()
	cfg.Server = d.server(d.single(blocks["server"], "server"))
	cfg.Storage = d.storage(d.single(blocks["storage"], "storage"), cfg.DataDir, o.dataBase)
	cfg.Queue = d.queue(d.single(blocks["queue"], "queue"))
	cfg.Log = d.log(d.single(blocks["log"], "log"))
	cfg.Auth = d.auth(d.single(blocks["auth"], "auth"))

	seenPlugins := map[string]hcl.Range{}
	for _, b := range blocks["plugin"] {
		if p, ok := d.plugin(b, seenPlugins, cfg.PluginDir); ok {
			cfg.Plugins = append(cfg.Plugins, p)
		}
	}
	var pluginRefs []reference
	seenSources := map[string]hcl.Range{}
	for _, b := range blocks["source"] {
		if s, ref, ok := d.source(b, seenSources); ok {
			cfg.Sources = append(cfg.Sources, s)
			pluginRefs = append(pluginRefs, ref)
		}
	}
	seenProcessors := map[string]hcl.Range{}
	for _, b := range blocks["processor"] {
		if p, ref, ok := d.processor(b, seenProcessors); ok {
			cfg.Processors = append(cfg.Processors, p)
			pluginRefs = append(pluginRefs, ref)
		}
	}
	for _, ref := range pluginRefs {
		if _, ok := seenPlugins[ref.name]; !ok {
			d.errorf(ref.rng, "Unknown plugin",
				"No plugin block named %q is declared; add plugin %q { ... } or fix the name.", ref.name, ref.name)
		}
	}

	seenSchedules := map[string]hcl.Range{}
	for _, b := range blocks["schedule"] {
		if s, ok := d.schedule(b, seenSchedules); ok {
			cfg.Schedules = append(cfg.Schedules, s)
		}
	}

	seenGroups := map[string]hcl.Range{}
	groupIDs := map[int64]hcl.Range{}
	for _, b := range blocks["repository_group"] {
		if g, ok := d.repoGroup(b, seenGroups, groupIDs); ok {
			cfg.RepoGroups = append(cfg.RepoGroups, g)
		}
	}
	var groupRefs []reference
	seenRepos := map[string]hcl.Range{}
	repoIDs := map[int64]hcl.Range{}
	for _, b := range blocks["repository"] {
		if r, ref, ok := d.repo(b, seenRepos, repoIDs); ok {
			cfg.Repos = append(cfg.Repos, r)
			groupRefs = append(groupRefs, ref)
		}
	}
	var builtin map[string]bool
	if !o.seed && len(groupRefs) > 0 {
		builtin = seedGroupNames()
	}
	for _, ref := range groupRefs {
		if _, ok := seenGroups[ref.name]; !ok && !builtin[ref.name] {
			d.errorf(ref.rng, "Unknown repository group",
				"No repository_group named %q is declared in this file or built in.", ref.name)
		}
	}
	return cfg
}

func (d *decoder) allowedHosts(attrs hcl.Attributes) []string {
	hosts, attr := d.strList(attrs, "allowed_hosts")
	for i, h := range hosts {
		if h == "" || strings.ContainsAny(h, "/ \t@") {
			d.errorf(elementRange(attr, i), "Invalid allowed host",
				"allowed_hosts entries are host names or host:port (for example \"hg.mozilla.org\" or \"*.taskcluster.net\"), not URLs; got %q.", h)
		}
	}
	return hosts
}

// elementRange narrows a diagnostic to one element of a list literal.
func elementRange(attr *hcl.Attribute, i int) hcl.Range {
	if tuple, ok := attr.Expr.(*hclsyntax.TupleConsExpr); ok && i < len(tuple.Exprs) {
		return tuple.Exprs[i].Range()
	}
	return attr.Expr.Range()
}

func (d *decoder) server(b *hcl.Block) Server {
	attrs, _ := d.content(b, serverSchema)
	s := Server{
		Listen:          d.str(attrs, "listen", defaultListen),
		ShutdownTimeout: d.duration(attrs, "shutdown_timeout", defaultShutdownTimeout),
		PublicURL:       d.str(attrs, "public_url", ""),
		ReadCacheTTL:    d.duration(attrs, "read_cache_ttl", defaultReadCacheTTL),
	}
	if a := attrs["listen"]; d.good(attrs, "listen") {
		if _, port, err := net.SplitHostPort(s.Listen); err != nil || !validPort(port) {
			d.attrError(a, "Invalid listen address", "listen must be host:port, for example \"127.0.0.1:8080\" or \":8080\".")
		}
	}
	if a, ok := attrs["public_url"]; ok && s.PublicURL != "" && !httpURL(s.PublicURL) {
		d.attrError(a, "Invalid public_url", "public_url must be an absolute http or https URL.")
	}
	return s
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (d *decoder) storage(b *hcl.Block, dataDir, base string) Storage {
	attrs, _ := d.content(b, storageSchema)
	s := Storage{
		Driver:       d.oneOf(attrs, "driver", "sqlite", "sqlite", "mysql"),
		DSN:          d.str(attrs, "dsn", ""),
		MaxOpenConns: d.intOr(attrs, "max_open_conns", 0, 0, 10000),
		MaxIdleConns: d.intOr(attrs, "max_idle_conns", 0, 0, 10000),
		AutoMigrate:  d.boolean(attrs, "auto_migrate", true),
	}
	switch s.Driver {
	case "mysql":
		switch {
		case !d.good(attrs, "dsn") && attrs["dsn"] != nil:
			// Already diagnosed.
		case s.DSN == "":
			subject := hcl.Range{}
			if a, ok := attrs["driver"]; ok {
				subject = a.Expr.Range()
			} else if b != nil {
				subject = b.DefRange
			}
			d.errorf(subject, "Missing dsn", "The mysql storage driver needs a dsn, for example dsn = env(\"HERDER_MYSQL_DSN\").")
		case !strings.Contains(s.DSN, "/"):
			// The value is a secret: say what is wrong with its shape only.
			d.attrError(attrs["dsn"], "Invalid dsn",
				"A MySQL dsn has the form user:password@tcp(host:3306)/dbname?parseTime=true; this one has no \"/dbname\" part.")
		}
	case "sqlite":
		switch {
		case s.DSN == "":
			s.DSN = filepath.Join(dataDir, sqliteFilename)
		case s.DSN == ":memory:" || strings.HasPrefix(s.DSN, "file:"):
			// A URI or in-memory database: not a path to resolve.
		default:
			s.DSN = resolve(base, s.DSN)
		}
	}
	if s.MaxIdleConns > s.MaxOpenConns && s.MaxOpenConns > 0 {
		d.attrError(attrs["max_idle_conns"], "Invalid max_idle_conns", "max_idle_conns must not exceed max_open_conns.")
	}
	return s
}

func (d *decoder) queue(b *hcl.Block) *Queue {
	if b == nil {
		return nil
	}
	attrs, _ := d.content(b, queueSchema)
	q := &Queue{
		URL:           d.str(attrs, "url", ""),
		Prefetch:      d.intOr(attrs, "prefetch", defaultPrefetch, 1, 65535),
		DeliveryLimit: d.intOr(attrs, "delivery_limit", defaultDeliveryLimit, 1, 1000),
		Prefix:        d.str(attrs, "prefix", defaultQueuePrefix),
		DrainTimeout:  d.duration(attrs, "drain_timeout", defaultDrainTimeout),
	}
	if d.good(attrs, "prefix") && !queuePrefix.MatchString(q.Prefix) {
		d.attrError(attrs["prefix"], "Invalid queue prefix",
			"prefix starts every queue and exchange name: use letters, digits, '_', '-' and '.', at most 64 characters, starting with a letter or digit.")
		q.Prefix = defaultQueuePrefix
	}
	if d.good(attrs, "drain_timeout") && q.DrainTimeout == 0 {
		// The broker package reads zero as "use the default"; say so rather than surprise.
		d.attrError(attrs["drain_timeout"], "Invalid duration", "drain_timeout must be positive, such as \"30s\".")
		q.DrainTimeout = defaultDrainTimeout
	}
	if a, ok := attrs["url"]; ok && d.failed[a] {
		// Already diagnosed.
	} else if ok && q.URL != "" {
		// The URL holds credentials: never quote it.
		u, err := url.Parse(q.URL)
		switch {
		case err != nil:
			d.attrError(a, "Invalid queue url", "The queue url is not a valid URL; expected amqp://user:password@host:5672/vhost.")
		case u.Scheme != "amqp" && u.Scheme != "amqps":
			d.attrError(a, "Invalid queue url", "The queue url must use the amqp or amqps scheme.")
		case u.Host == "":
			d.attrError(a, "Invalid queue url", "The queue url has no host; expected amqp://user:password@host:5672/vhost.")
		}
	} else if ok {
		d.attrError(a, "Invalid queue url", "The queue url must not be empty; leave the queue block out to use the database-backed queue.")
	}
	return q
}

func (d *decoder) log(b *hcl.Block) Log {
	attrs, _ := d.content(b, logSchema)
	return Log{
		Level:  d.oneOf(attrs, "level", "info", LogLevels...),
		Format: d.oneOf(attrs, "format", "text", "text", "json"),
	}
}

func (d *decoder) auth(b *hcl.Block) Auth {
	attrs, _ := d.content(b, authSchema)
	a := Auth{
		OIDCIssuer:   d.str(attrs, "oidc_issuer", ""),
		OIDCClientID: d.str(attrs, "oidc_client_id", ""),
		SheriffGroup: d.str(attrs, "sheriff_group", ""),
	}
	if attr, ok := attrs["oidc_issuer"]; ok && a.OIDCIssuer != "" && !httpURL(a.OIDCIssuer) {
		d.attrError(attr, "Invalid oidc_issuer", "oidc_issuer must be the issuer's absolute https URL.")
	}
	return a
}

func (d *decoder) plugin(b *hcl.Block, seen map[string]hcl.Range, pluginDir string) (Plugin, bool) {
	name, ok := d.named(b, seen, instanceName, "use letters, digits, '_', '-' and '.', at most 64 characters")
	attrs, _ := d.content(b, pluginSchema)
	p := Plugin{
		Name:   name,
		Path:   resolve(pluginDir, d.str(attrs, "path", name)),
		SHA256: d.str(attrs, "sha256", ""),
	}
	if a, present := attrs["path"]; present && p.Path == "." {
		d.attrError(a, "Invalid plugin path", "path must name the plugin's executable.")
	}
	if a, present := attrs["sha256"]; present && p.SHA256 != "" && !sha256Re.MatchString(p.SHA256) {
		d.attrError(a, "Invalid sha256", "sha256 must be 64 lowercase hexadecimal digits (the output of sha256sum).")
	}
	return p, ok
}

// pluginRef reads a source's or processor's plugin attribute.
func (d *decoder) pluginRef(attrs hcl.Attributes) (string, reference) {
	name := d.str(attrs, "plugin", "")
	ref := reference{name: name}
	if a, ok := attrs["plugin"]; ok {
		ref.rng = a.Expr.Range()
	}
	return name, ref
}

func (d *decoder) source(b *hcl.Block, seen map[string]hcl.Range) (Source, reference, bool) {
	name, ok := d.named(b, seen, instanceName, "use letters, digits, '_', '-' and '.', at most 64 characters")
	attrs, blocks := d.content(b, sourceSchema)
	plugin, ref := d.pluginRef(attrs)
	s := Source{Name: name, Plugin: plugin, Config: d.pluginConfig(blocks)}
	return s, ref, ok && plugin != ""
}

func (d *decoder) processor(b *hcl.Block, seen map[string]hcl.Range) (Processor, reference, bool) {
	name, ok := d.named(b, seen, instanceName, "use letters, digits, '_', '-' and '.', at most 64 characters")
	attrs, blocks := d.content(b, processorSchema)
	plugin, ref := d.pluginRef(attrs)
	p := Processor{
		Name:        name,
		Plugin:      plugin,
		Concurrency: d.intOr(attrs, "concurrency", defaultConcurrency, 1, 1024),
		Config:      d.pluginConfig(blocks),
	}
	return p, ref, ok && plugin != ""
}

// pluginConfig turns the free-form config block into the JSON object the
// plugin receives; no config block gives "{}".
func (d *decoder) pluginConfig(blocks hcl.Blocks) []byte {
	b := d.single(blocks, "config")
	if b == nil {
		return []byte("{}")
	}
	attrs, diags := b.Body.JustAttributes()
	d.add(diags)
	vals := make(map[string]cty.Value, len(attrs))
	failed := false
	for name, attr := range attrs {
		v, diags := attr.Expr.Value(d.ctx)
		d.addEval(diags)
		if diags.HasErrors() {
			failed = true
			continue
		}
		if !v.IsWhollyKnown() {
			d.attrError(attr, "Unknown value", "The value of %q cannot be known when the configuration is loaded.", name)
			failed = true
			continue
		}
		vals[name] = v
	}
	if failed {
		return nil
	}
	obj := cty.ObjectVal(vals)
	js, err := ctyjson.Marshal(obj, obj.Type())
	if err != nil {
		d.errorf(b.DefRange, "Invalid plugin config", "The config block cannot be turned into JSON: %s.", err)
		return nil
	}
	return js
}

func (d *decoder) schedule(b *hcl.Block, seen map[string]hcl.Range) (Schedule, bool) {
	name, ok := d.named(b, seen, instanceName, "use letters, digits, '_', '-' and '.', at most 64 characters")
	attrs, _ := d.content(b, scheduleSchema)
	s := Schedule{
		Name:    name,
		Cron:    d.str(attrs, "cron", ""),
		Enabled: d.boolean(attrs, "enabled", true),
		Args:    d.strMap(attrs, "args"),
	}
	if a := attrs["cron"]; d.good(attrs, "cron") {
		if _, err := cron.ParseStandard(s.Cron); err != nil {
			d.attrError(a, "Invalid cron spec",
				"cron must be five fields (minute hour day-of-month month day-of-week) or a descriptor such as \"@hourly\" or \"@every 6h\": %s.", err)
			ok = false
		}
	}
	return s, ok && s.Cron != ""
}

func (d *decoder) id(attrs hcl.Attributes, seen map[int64]hcl.Range, typ string) int64 {
	id, ok := d.integer(attrs, "id", 1, 1<<53)
	if !ok {
		return 0
	}
	rng := attrs["id"].Expr.Range()
	if first, dup := seen[id]; dup {
		d.errorf(rng, "Duplicate "+typ+" id", "id %d is already used at %s.", id, where(first))
		return 0
	}
	seen[id] = rng
	return id
}

func (d *decoder) repoGroup(b *hcl.Block, seen map[string]hcl.Range, ids map[int64]hcl.Range) (RepositoryGroup, bool) {
	name, ok := d.named(b, seen, nil, "")
	if ok && (strings.TrimSpace(name) == "" || len(name) > 100 || strings.ContainsFunc(name, isControl)) {
		d.errorf(b.LabelRanges[0], "Invalid repository_group name", "A group name must be 1 to 100 printable characters.")
		ok = false
	}
	attrs, _ := d.content(b, groupSchema)
	return RepositoryGroup{
		ID:          d.id(attrs, ids, "repository_group"),
		Name:        name,
		Description: d.str(attrs, "description", ""),
	}, ok
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func (d *decoder) repo(b *hcl.Block, seen map[string]hcl.Range, ids map[int64]hcl.Range) (Repository, reference, bool) {
	name, ok := d.named(b, seen, repoName, "use letters, digits, '_', '-' and '.', at most 50 characters")
	attrs, _ := d.content(b, repoSchema)
	r := Repository{
		ID:                       d.id(attrs, ids, "repository"),
		Name:                     name,
		Group:                    d.str(attrs, "group", ""),
		DVCSType:                 d.oneOf(attrs, "dvcs_type", "", "hg", "git"),
		URL:                      d.str(attrs, "url", ""),
		Codebase:                 d.str(attrs, "codebase", ""),
		Description:              d.str(attrs, "description", ""),
		ActiveStatus:             d.oneOf(attrs, "active_status", "active", "active", "onhold"),
		PerformanceAlertsEnabled: d.boolean(attrs, "performance_alerts_enabled", false),
		ExpirePerformanceData:    d.boolean(attrs, "expire_performance_data", true),
		IsTryRepo:                d.boolean(attrs, "is_try_repo", false),
		TCRootURL:                d.str(attrs, "tc_root_url", ""),
		AcceptsPullRequests:      d.boolean(attrs, "accepts_pull_requests", false),
	}
	if n, present := d.integer(attrs, "life_cycle_order", 0, 1<<31-1); present {
		order := int(n)
		r.LifeCycleOrder = &order
	}
	ref := reference{name: r.Group}
	if a, present := attrs["group"]; present {
		ref.rng = a.Expr.Range()
	}
	if a, present := attrs["url"]; present && r.URL != "" && !httpURL(r.URL) {
		d.attrError(a, "Invalid repository url", "url must be the repository's absolute http or https URL, as pushes report it.")
	}
	if a, present := attrs["tc_root_url"]; present && r.TCRootURL != "" && !httpURL(r.TCRootURL) {
		d.attrError(a, "Invalid tc_root_url", "tc_root_url must be the Taskcluster deployment's absolute https URL.")
	}
	r.Branches = d.branches(attrs)
	return r, ref, ok && r.Group != "" && r.DVCSType != "" && r.URL != ""
}

// branches checks branch rules: exact names, or a prefix ending in one '*'
// (Treeherder matches "releases/*" with startswith, so '*' anywhere else
// would never match what the operator meant).
func (d *decoder) branches(attrs hcl.Attributes) []string {
	list, attr := d.strList(attrs, "branches")
	seen := map[string]bool{}
	for i, br := range list {
		switch {
		case strings.TrimSpace(br) == "":
			d.errorf(elementRange(attr, i), "Invalid branch", "A branch must not be empty.")
		case strings.Contains(strings.TrimSuffix(br, "*"), "*"):
			d.errorf(elementRange(attr, i), "Invalid branch wildcard",
				"Only a trailing '*' is allowed in a branch (\"releases/*\" or \"*\"); %q has one elsewhere.", br)
		case seen[br]:
			d.errorf(elementRange(attr, i), "Duplicate branch", "The branch %q is listed twice.", br)
		}
		seen[br] = true
	}
	return list
}
