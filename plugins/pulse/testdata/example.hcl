# The pulse and taskcluster sources, as docs/pulse-notes.md shows them.
# TestExampleConfig loads this file and checks both plugins accept it.

plugin "pulse" {}
plugin "taskcluster" {}

source "firefox-ci" {
  plugin = "pulse"
  config {
    # One entry per broker, as Treeherder's PULSE_SOURCES.
    sources = [
      {
        root_url  = "https://firefox-ci-tc.services.mozilla.com"
        pulse_url = env("HERDER_PULSE_URL") # amqps://user:password@pulse.mozilla.org:5671
        hgmo      = true                    # exchange/hgpushes/v1
        github    = true                    # exchange/taskcluster-github/v1/{push,pull-request}
      },
      {
        root_url  = "https://community-tc.services.mozilla.com"
        pulse_url = env("HERDER_PULSE_URL")
        vhost     = "communitytc"
      },
    ]
    queue_name        = "herder"                   # queue/<user>/herder, queue/<user>/herder-1
    dead_letter_queue = "queue/herder/herder-dead" # default queue/<user>/<queue_name>-dead-letter
    prefetch          = 200
    batch_size        = 100
    batch_wait        = "200ms"
    # Push routing (url and branch rules); jobs naming other repositories
    # are dead-lettered when this list is given.
    repositories = [
      { name = "autoland", url = "https://hg.mozilla.org/integration/autoland" },
      { name = "try", url = "https://hg.mozilla.org/try" },
      { name = "fenix", url = "https://github.com/mozilla-mobile/fenix", branches = ["main", "releases_*"] },
    ]
    allowed_hosts = ["hg.mozilla.org", "api.github.com"]
    github_token  = env("HERDER_GITHUB_TOKEN", "")
  }
}

# Without Pulse credentials: poll one repository's pushlog and its tasks.
source "autoland-poll" {
  plugin = "taskcluster"
  config {
    root_url   = "https://firefox-ci-tc.services.mozilla.com"
    repository = { name = "autoland", url = "https://hg.mozilla.org/integration/autoland" }
    state_dir  = "/var/lib/herder/taskcluster"
    interval   = "2m"
    track_for  = "24h"
  }
}
