// Package config reads herder's HCL configuration.
package config

import "time"

// Config is a whole herder configuration file.
type Config struct {
	// Filename is where the config came from ("<built-in>" for the default).
	Filename string
	// Dir is the directory relative paths resolve against: the config file's
	// directory, or the herder executable's directory for the built-in default.
	Dir string

	// PluginDir holds plugin binaries and the lock file herder.plugins.lock.hcl.
	PluginDir string
	// DataDir holds the embedded database and local state.
	DataDir string

	Server      Server
	Storage     Storage
	Queue       *Queue // nil: in-process queues persisted in the database
	Log         Log
	Auth        Auth
	Plugins     []Plugin
	Sources     []Source
	Processors  []Processor
	Schedules   []Schedule
	RepoGroups  []RepositoryGroup
	Repos       []Repository
	AllowedHost []string // hosts downloads may reach (logs, APIs); empty = none beyond those plugins name
}

type Server struct {
	Listen          string        // default "127.0.0.1:8080"
	ShutdownTimeout time.Duration // default 15s
	PublicURL       string
	// ReadCacheTTL is how long hot API reads (push lists, statuses, job
	// lists) are served from memory; "0s" turns the cache off. Default 2s.
	ReadCacheTTL time.Duration
}

type Storage struct {
	Driver       string // "sqlite" (default) or "mysql"
	DSN          string // mysql: go-sql-driver DSN; sqlite: file path (default <data_dir>/herder.db)
	MaxOpenConns int
	MaxIdleConns int
	AutoMigrate  bool // default true
}

type Queue struct {
	URL           string        // amqp://user:pass@host:5672/vhost
	Prefetch      int           // deliveries in flight per consumer, default 100
	DeliveryLimit int           // deliveries before a failing message is dead-lettered, default 5
	Prefix        string        // queue and exchange name prefix, default "herder"
	DrainTimeout  time.Duration // how long in-flight work may finish on shutdown, default 30s
}

type Log struct {
	Level  string // trace|debug|info|warn|error, default info
	Format string // "text" (default) or "json"
}

type Auth struct {
	// Filled in by the API issue (OIDC issuer, client id, sheriff group claim).
	OIDCIssuer   string
	OIDCClientID string
	SheriffGroup string
}

// Plugin declares a plugin binary.
type Plugin struct {
	Name   string
	Path   string // absolute after loading
	SHA256 string // pinned sum; empty = take it from the lock file
}

// Source wires a source plugin instance.
type Source struct {
	Name   string
	Plugin string
	Config []byte // the plugin's own settings, as JSON
}

// Processor wires a processor plugin instance.
type Processor struct {
	Name        string
	Plugin      string
	Concurrency int
	Config      []byte // JSON
}

// Schedule runs a named scheduled job on a cron spec.
type Schedule struct {
	Name    string // update_bugscache, cycle_data, intermittents_commenter...
	Cron    string // robfig/cron spec, e.g. "@hourly" or "0 3 * * *"
	Enabled bool
	Args    map[string]string
}

type RepositoryGroup struct {
	// ID is the fixed id of a seeded group (Treeherder's fixture pk); 0 for an
	// operator's group, which the store numbers after the seeds.
	ID          int64
	Name        string
	Description string
}

type Repository struct {
	// ID is the fixed id of a seeded repository (mozilla-central = 1, try = 4,
	// autoland = 77, as Treeherder's clients expect); 0 for an operator's
	// repository, which the store numbers after the seeds.
	ID                       int64
	Name                     string
	Group                    string
	DVCSType                 string // hg | git
	URL                      string
	Codebase                 string
	Description              string
	ActiveStatus             string // active | onhold
	LifeCycleOrder           *int
	PerformanceAlertsEnabled bool
	ExpirePerformanceData    bool // default true, as in Treeherder
	IsTryRepo                bool
	TCRootURL                string
	AcceptsPullRequests      bool
	Branches                 []string // exact names, or a prefix ending in '*' ("releases/*", "*")
}
