# herder production configuration (example).
#
# Check it with:   herder config validate examples/herder.hcl
# See the result:  herder --config examples/herder.hcl config show
#
# Secrets never live in this file: every credential comes from the
# environment through env("NAME"), which fails validation when NAME is unset,
# or env("NAME", "default"), which falls back to the default. Relative paths
# resolve against this file's directory.

# Plugin binaries, and the lock file herder.plugins.lock.hcl pinning their
# sha256 sums.
plugin_dir = "/usr/lib/herder/plugins"

# The embedded state (plugin scratch space, caches). With MySQL the database
# itself lives elsewhere.
data_dir = "/var/lib/herder"

# Every download (task definitions, logs, Bugzilla, hg pushlogs) may only
# reach these hosts. "*.example.org" matches any subdomain.
allowed_hosts = [
  "firefox-ci-tc.services.mozilla.com",
  "community-tc.services.mozilla.com",
  "*.taskcluster-artifacts.net",
  "hg.mozilla.org",
  "api.github.com",
  "bugzilla.mozilla.org",
]

server {
  # Behind a reverse proxy that terminates TLS.
  listen           = "0.0.0.0:8080"
  shutdown_timeout = "30s"
  # Hot reads (push lists, push status, job lists) are served from memory
  # this long; writes through this process clear it at once, other
  # processes' writes show within the TTL. "0s" turns the cache off.
  read_cache_ttl = "2s"
  # Where users reach the UI; used in links herder writes (bug comments).
  public_url = "https://herder.example.org"
}

storage {
  driver = "mysql"
  # go-sql-driver form: user:password@tcp(db:3306)/herder?parseTime=true
  dsn            = env("HERDER_MYSQL_DSN")
  max_open_conns = 40
  max_idle_conns = 20
  # Apply schema migrations at start-up; turn off to run `herder migrate`
  # from a deploy step instead.
  auto_migrate = true
}

# RabbitMQ carries work between process roles (serve --role web|ingest|
# worker|scheduler; docs/deploy.md). Leave the block out to keep the work in
# the database (one machine, or a few workers on MySQL).
queue {
  url            = env("HERDER_AMQP_URL") # amqps://user:password@mq:5671/herder
  prefetch       = 100   # deliveries in flight per consumer
  delivery_limit = 5     # deliveries before a failing message is dead-lettered
  prefix         = "herder" # queue names: herder.store, herder.logs.failed, ...
  drain_timeout  = "30s" # how long work in flight may finish on SIGTERM
}

log {
  level  = env("HERDER_LOG_LEVEL", "info")
  format = "json" # one JSON object per line, for the log shipper
}

# Sheriffs sign in with OIDC; members of sheriff_group may classify failures.
auth {
  oidc_issuer    = "https://auth.example.org"
  oidc_client_id = env("HERDER_OIDC_CLIENT_ID", "herder")
  sheriff_group  = "sheriffs"
}

# ---------------------------------------------------------------------------
# Plugins. path defaults to the block name inside plugin_dir; sha256 pins the
# binary here instead of in the lock file.

plugin "pulse" {}

plugin "logparser" {}

plugin "bugmatcher" {
  path = "bugmatcher" # same as the default, shown for the shape
}

# ---------------------------------------------------------------------------
# Sources turn outside events into pushes and jobs. The config block is the
# plugin's own settings, handed to it as JSON.

source "firefox-ci" {
  plugin = "pulse"
  config {
    # Mozilla Pulse (RabbitMQ) credentials come from the environment.
    pulse_url = env("HERDER_PULSE_URL")
    root_url  = "https://firefox-ci-tc.services.mozilla.com"
    queue     = "herder-tasks"
    exchanges = {
      tasks  = ["exchange/taskcluster-queue/v1/task-pending", "exchange/taskcluster-queue/v1/task-completed"]
      pushes = ["exchange/hgpushes/v1", "exchange/taskcluster-github/v1/push"]
    }
  }
}

# ---------------------------------------------------------------------------
# Processors act on stored jobs. concurrency is how many jobs one instance
# works on at once.

processor "logparser" {
  plugin      = "logparser"
  concurrency = 8
  config {
    max_log_bytes = 104857600 # skip logs larger than 100 MiB (Treeherder's limit)
    error_lines   = 100       # keep at most this many error lines per log
  }
}

processor "bugmatcher" {
  plugin      = "bugmatcher"
  concurrency = 4
  config {
    bugzilla_url = "https://bugzilla.mozilla.org"
    api_key      = env("HERDER_BUGZILLA_API_KEY", "")
  }
}

# ---------------------------------------------------------------------------
# Scheduled jobs: robfig/cron specs, five fields or @hourly/@daily/@every 6h.

schedule "update_bugscache" {
  cron = "@hourly"
}

schedule "cycle_data" {
  cron = "0 3 * * *" # daily at 03:00, when traffic is lowest
  args = { days = "120" }
}

schedule "intermittents_commenter" {
  cron    = "30 4 * * *"
  enabled = env("HERDER_BUG_COMMENTS", "false") == "true"
}

# ---------------------------------------------------------------------------
# Repositories. The well-known Mozilla repositories are built in with their
# Treeherder ids; add your own here. group may name a built-in group
# ("development", "other", ...) or one declared below.

repository_group "example-products" {
  description = "Example Org's own products"
}

repository "example-app" {
  group         = "example-products"
  dvcs_type     = "git"
  url           = "https://github.com/example-org/example-app"
  codebase      = "example-app"
  description   = "Example Org's flagship app"
  tc_root_url   = "https://community-tc.services.mozilla.com"
  active_status = "active"
  # Pushes to these branches are ingested; a trailing '*' matches a prefix.
  branches              = ["main", "releases/*"]
  accepts_pull_requests = true
}
