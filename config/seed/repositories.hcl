# herder's built-in list of well-known Mozilla repositories.
#
# The store seeds these on first start, in this order. Every block carries an
# explicit id because Treeherder's clients and herder's own logic refer to some
# repositories by number (mozilla-central = 1, try = 4, comm-central = 35,
# autoland = 77); operators' own repositories leave id out and get the next free
# one. Attributes that are left out take the schema defaults, which match
# Treeherder's model defaults (expire_performance_data = true, the other flags
# false, active_status = "active").

repository_group "development" {
  id          = 1
  description = "Collection of repositories where code initially lands in the development process"
}

repository_group "release-stabilization" {
  id          = 2
  description = "Collection of repositories further along the release process"
}

repository_group "project repositories" {
  id          = 6
  description = "Collection of repositories for project branches"
}

repository_group "other" {
  id          = 7
  description = "Other repositories not falling under the above categories"
}

repository_group "comm-repositories" {
  id          = 8
  description = "Repositories for Seamonkey/Thunderbird development"
}

repository_group "ci" {
  id          = 9
  description = "Administration of Firefox CI"
}

repository_group "servo" {
  id          = 10
  description = "Branches of github.com/servo/servo"
}

repository_group "mobile" {
  id          = 11
  description = "Repositories for https://github.com/mozilla-mobile"
}

repository_group "enterprise-firefox" {
  id          = 13
  description = "Projects for Enterprise Firefox"
}

repository "mozilla-central" {
  id                      = 1
  group                   = "development"
  dvcs_type               = "hg"
  url                     = "https://hg.mozilla.org/mozilla-central"
  codebase                = "gecko"
  life_cycle_order        = 10
  expire_performance_data = false
  tc_root_url             = "https://firefox-ci-tc.services.mozilla.com"
}

repository "try" {
  id          = 4
  group       = "development"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/try"
  codebase    = "gecko"
  is_try_repo = true
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "mozilla-beta" {
  id                         = 6
  group                      = "release-stabilization"
  dvcs_type                  = "hg"
  url                        = "https://hg.mozilla.org/releases/mozilla-beta"
  codebase                   = "gecko"
  life_cycle_order           = 100
  performance_alerts_enabled = true
  expire_performance_data    = false
  tc_root_url                = "https://firefox-ci-tc.services.mozilla.com"
}

repository "mozilla-release" {
  id                         = 7
  group                      = "release-stabilization"
  dvcs_type                  = "hg"
  url                        = "https://hg.mozilla.org/releases/mozilla-release"
  codebase                   = "gecko"
  life_cycle_order           = 1000
  performance_alerts_enabled = true
  expire_performance_data    = false
  tc_root_url                = "https://firefox-ci-tc.services.mozilla.com"
}

repository "ash" {
  id          = 21
  group       = "project repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/projects/ash"
  codebase    = "gecko"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "birch" {
  id          = 22
  group       = "project repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/projects/birch"
  codebase    = "gecko"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "cedar" {
  id          = 23
  group       = "project repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/projects/cedar"
  codebase    = "gecko"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "cypress" {
  id          = 24
  group       = "project repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/projects/cypress"
  codebase    = "gecko"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "elm" {
  id          = 26
  group       = "project repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/projects/elm"
  codebase    = "gecko"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "holly" {
  id          = 29
  group       = "project repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/projects/holly"
  codebase    = "gecko"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "jamun" {
  id          = 30
  group       = "project repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/projects/jamun"
  codebase    = "gecko"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "larch" {
  id          = 31
  group       = "project repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/projects/larch"
  codebase    = "gecko"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "maple" {
  id          = 32
  group       = "project repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/projects/maple"
  codebase    = "gecko"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "oak" {
  id          = 33
  group       = "project repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/projects/oak"
  codebase    = "gecko"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "pine" {
  id          = 34
  group       = "project repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/projects/pine"
  codebase    = "gecko"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "comm-central" {
  id          = 35
  group       = "comm-repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/comm-central"
  codebase    = "comm"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "try-comm-central" {
  id          = 36
  group       = "comm-repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/try-comm-central"
  codebase    = "comm"
  is_try_repo = true
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "comm-beta" {
  id          = 38
  group       = "comm-repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/releases/comm-beta"
  codebase    = "comm"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "servo-master" {
  id                      = 75
  group                   = "servo"
  dvcs_type               = "git"
  url                     = "https://github.com/servo/servo"
  codebase                = "servo"
  description             = "The Servo Parallel Browser Engine − master"
  expire_performance_data = false
  tc_root_url             = "https://community-tc.services.mozilla.com"
  branches                = ["master"]
}

repository "autoland" {
  id                         = 77
  group                      = "development"
  dvcs_type                  = "hg"
  url                        = "https://hg.mozilla.org/integration/autoland"
  codebase                   = "gecko"
  description                = "The destination for automatically landed Firefox commits."
  performance_alerts_enabled = true
  expire_performance_data    = false
  tc_root_url                = "https://firefox-ci-tc.services.mozilla.com"
}

repository "nss" {
  id          = 79
  group       = "other"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/projects/nss"
  codebase    = "nss"
  description = "Network Security Services."
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "nss-try" {
  id          = 80
  group       = "other"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/projects/nss-try"
  codebase    = "nss"
  description = "Network Security Services."
  is_try_repo = true
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "webrender" {
  id          = 86
  group       = "other"
  dvcs_type   = "git"
  url         = "https://github.com/servo/webrender"
  codebase    = "servo"
  description = "GPU renderer for Servo"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
  branches    = ["master"]
}

repository "servo-try" {
  id                      = 99
  group                   = "servo"
  dvcs_type               = "git"
  url                     = "https://github.com/servo/servo"
  codebase                = "servo"
  description             = "The Servo Parallel Browser Engine − try (multiple branches)"
  expire_performance_data = false
  tc_root_url             = "https://community-tc.services.mozilla.com"
  branches                = ["try", "try-taskcluster", "try-linux", "try-mac", "try-windows", "try-windows-rdp", "try-wpt", "try-wpt-2020", "try-wpt-mac", "try-wpt-android", "try-android", "try-magicleap", "try-arm"]
}

repository "servo-auto" {
  id                      = 100
  group                   = "servo"
  dvcs_type               = "git"
  url                     = "https://github.com/servo/servo"
  codebase                = "servo"
  description             = "The Servo Parallel Browser Engine − auto: testing PRs after review and before merging to master."
  expire_performance_data = false
  tc_root_url             = "https://community-tc.services.mozilla.com"
  branches                = ["auto"]
}

repository "taskgraph" {
  id          = 103
  group       = "ci"
  dvcs_type   = "git"
  url         = "https://github.com/taskcluster/taskgraph"
  codebase    = "taskgraph"
  description = "Tools for defining graphs for taskclutser tasks"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
  branches    = ["main"]
}

repository "reference-browser" {
  id          = 107
  group       = "mobile"
  dvcs_type   = "git"
  url         = "https://github.com/mozilla-mobile/reference-browser"
  codebase    = "reference-browser"
  description = "A full-featured browser reference implementation using Mozilla Android Components"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
  branches    = ["master"]
}

repository "mozilla-vpn-client" {
  id          = 118
  group       = "other"
  dvcs_type   = "git"
  url         = "https://github.com/mozilla-mobile/mozilla-vpn-client"
  codebase    = "mozilla-vpn-client"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
  branches    = ["main"]
}

repository "mozilla-vpn-client-release" {
  id          = 122
  group       = "other"
  dvcs_type   = "git"
  url         = "https://github.com/mozilla-mobile/mozilla-vpn-client"
  codebase    = "mozilla-vpn-client"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
  branches    = ["releases/2.8"]
}

repository "toolchains" {
  id          = 126
  group       = "project repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/projects/toolchains"
  codebase    = "gecko"
  description = "project branch for clang-trunk builds"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "firefox-translations-training" {
  id          = 129
  group       = "other"
  dvcs_type   = "git"
  url         = "https://github.com/mozilla/firefox-translations-training"
  codebase    = "firefox-translations-training"
  description = "firefox translations training"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
  branches    = ["main"]
}

repository "staging-firefox-translations-training" {
  id          = 130
  group       = "other"
  dvcs_type   = "git"
  url         = "https://github.com/mozilla-releng/staging-firefox-translations-training"
  codebase    = "staging-firefox-translations-training"
  description = "staging repository for firefox translations training release engineering work"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
  branches    = ["main"]
}

repository "firefox-ios" {
  id                         = 131
  group                      = "mobile"
  dvcs_type                  = "git"
  url                        = "https://github.com/mozilla-mobile/firefox-ios"
  codebase                   = "firefox-ios"
  performance_alerts_enabled = true
  expire_performance_data    = false
  tc_root_url                = "https://firefox-ci-tc.services.mozilla.com"
  branches                   = ["main", "release/*"]
}

repository "mozilla-esr115" {
  id               = 132
  group            = "release-stabilization"
  dvcs_type        = "hg"
  url              = "https://hg.mozilla.org/releases/mozilla-esr115"
  codebase         = "gecko"
  life_cycle_order = 9997
  tc_root_url      = "https://firefox-ci-tc.services.mozilla.com"
}

repository "comm-esr115" {
  id          = 133
  group       = "comm-repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/releases/comm-esr115"
  codebase    = "comm"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "application-services" {
  id          = 134
  group       = "mobile"
  dvcs_type   = "git"
  url         = "https://github.com/mozilla/application-services"
  codebase    = "application-services"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
  branches    = ["main"]
}

repository "comm-release" {
  id          = 135
  group       = "comm-repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/releases/comm-release"
  codebase    = "comm"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "staging-firefox-ios" {
  id                         = 138
  group                      = "mobile"
  dvcs_type                  = "git"
  url                        = "https://github.com/mozilla-mobile/staging-firefox-ios"
  codebase                   = "firefox-ios"
  performance_alerts_enabled = false
  expire_performance_data    = false
  tc_root_url                = "https://firefox-ci-tc.services.mozilla.com"
  branches                   = ["main"]
}

repository "mozilla-esr140" {
  id               = 139
  group            = "release-stabilization"
  dvcs_type        = "hg"
  url              = "https://hg.mozilla.org/releases/mozilla-esr140"
  codebase         = "gecko"
  life_cycle_order = 9995
  tc_root_url      = "https://firefox-ci-tc.services.mozilla.com"
}

repository "comm-esr140" {
  id          = 140
  group       = "comm-repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/releases/comm-esr140"
  codebase    = "comm"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}

repository "worker-images" {
  id          = 141
  group       = "ci"
  dvcs_type   = "git"
  url         = "https://github.com/mozilla-platform-ops/worker-images"
  codebase    = "worker-images"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
  branches    = ["main"]
}

repository "enterprise-main" {
  id          = 142
  group       = "enterprise-firefox"
  dvcs_type   = "git"
  url         = "https://github.com/mozilla/enterprise-firefox"
  codebase    = "enterprise-firefox"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
  branches    = ["enterprise-main"]
}

repository "enterprise-firefox-pr" {
  id                    = 143
  group                 = "enterprise-firefox"
  dvcs_type             = "git"
  url                   = "https://github.com/mozilla/enterprise-firefox"
  codebase              = "enterprise-firefox"
  accepts_pull_requests = true
  tc_root_url           = "https://firefox-ci-tc.services.mozilla.com"
}

repository "enterprise-release" {
  id          = 144
  group       = "enterprise-firefox"
  dvcs_type   = "git"
  url         = "https://github.com/mozilla/enterprise-firefox"
  codebase    = "enterprise-firefox"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
  branches    = ["enterprise-release"]
}

repository "enterprise-beta" {
  id          = 145
  group       = "enterprise-firefox"
  dvcs_type   = "git"
  url         = "https://github.com/mozilla/enterprise-firefox"
  codebase    = "enterprise-firefox"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
  branches    = ["enterprise-beta"]
}

repository "enterprise-firefox-try" {
  id          = 146
  group       = "enterprise-firefox"
  dvcs_type   = "git"
  url         = "https://github.com/mozilla/enterprise-firefox-try"
  codebase    = "enterprise-firefox"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
  branches    = ["*"]
}

repository "staging-firefox" {
  id          = 147
  group       = "other"
  dvcs_type   = "git"
  url         = "https://github.com/mozilla-releng/staging-firefox"
  codebase    = "gecko"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
  branches    = ["*"]
}

repository "firefox-dev" {
  id          = 148
  group       = "development"
  dvcs_type   = "git"
  url         = "https://github.com/mozilla/firefox-dev"
  codebase    = "gecko"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
  branches    = ["user/*"]
}

repository "mozilla-esr153" {
  id               = 149
  group            = "release-stabilization"
  dvcs_type        = "hg"
  url              = "https://hg.mozilla.org/releases/mozilla-esr153"
  codebase         = "gecko"
  life_cycle_order = 9994
  tc_root_url      = "https://firefox-ci-tc.services.mozilla.com"
}

repository "comm-esr153" {
  id          = 150
  group       = "comm-repositories"
  dvcs_type   = "hg"
  url         = "https://hg.mozilla.org/releases/comm-esr153"
  codebase    = "comm"
  tc_root_url = "https://firefox-ci-tc.services.mozilla.com"
}
