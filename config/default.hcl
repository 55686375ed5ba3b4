# herder's built-in configuration, used when no --config is given (and by
# `make run`). It needs nothing outside this machine: an SQLite database under
# ./data, queues kept in that database, the API on localhost only.
#
# Plugin binaries are looked up in "plugins" beside the herder executable.
# Copy examples/herder.hcl for a production setup (MySQL, RabbitMQ, Pulse).

data_dir = "data"

server {
  listen           = "127.0.0.1:8080"
  shutdown_timeout = "15s"
}

storage {
  driver       = "sqlite" # file: <data_dir>/herder.db
  auto_migrate = true
}

log {
  level  = "info"
  format = "text"
}

# Expire old jobs and pushes the way Treeherder's cycle_data does.
schedule "cycle_data" {
  cron = "@daily"
  args = { days = "120" }
}

# The log parser (plugins/logparser, built by `make build` to
# bin/plugins/logparser). Without the binary herder still serves; the
# plugin is reported as failed and logs stay pending until it is installed.
plugin "logparser" {}

processor "logparser" {
  plugin = "logparser"
  config {
    # Where logs may be downloaded from: the demo logs `herder serve`
    # serves itself (`herder demo`), and Firefox CI's.
    allowed_hosts = ["127.0.0.1:8080", "localhost:8080", "firefox-ci-tc.services.mozilla.com", "*.taskcluster-artifacts.net"]
  }
}
