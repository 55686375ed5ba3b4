plugin "github" {}

# Webhooks: point a GitHub webhook (content type application/json, the
# secret below, events push, pull_request, workflow_job, workflow_run and,
# for other apps' checks, check_run) at https://herder.example.org/github/webhook,
# proxied to the listen address.
source "github" {
  plugin = "github"
  config {
    listen     = "127.0.0.1:8090"
    path       = "/webhook"
    secret_env = "HERDER_GITHUB_WEBHOOK_SECRET" # the variable's name, not the secret
    token_env  = "HERDER_GITHUB_TOKEN"          # compare, PR commits, run jobs
    state_dir  = "/var/lib/herder/github"
    repositories = [
      { name = "example-app", repo = "example-org/example-app", branches = ["main", "releases/*"], accepts_pull_requests = true },
      { name = "example-docs", url = "https://github.com/example-org/docs" },
    ]
  }
}

# Polling, for repositories whose webhooks herder cannot receive.
source "github-poll" {
  plugin = "github"
  config {
    state_dir = "/var/lib/herder/github-poll"
    interval  = "2m"
    track_for = "24h"
    repositories = [
      { name = "upstream-lib", repo = "upstream-org/lib", branches = ["main"], poll = true },
    ]
  }
}

repository "example-app" {
  group                 = "development"
  dvcs_type             = "git"
  url                   = "https://github.com/example-org/example-app"
  branches              = ["main", "releases/*"]
  accepts_pull_requests = true
}

repository "example-docs" {
  group     = "development"
  dvcs_type = "git"
  url       = "https://github.com/example-org/docs"
}

repository "upstream-lib" {
  group     = "development"
  dvcs_type = "git"
  url       = "https://github.com/upstream-org/lib"
  branches  = ["main"]
}
