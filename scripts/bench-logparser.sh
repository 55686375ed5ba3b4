#!/usr/bin/env bash
# Measures the log parser (plugins/logparser/parse) on a corpus of about
# 200 MB built from the shared Treeherder sample logs, side by side with
# `zcat | wc -l` on the same gzip data in the same run, and prints a Markdown
# table (MB/s of uncompressed log, peak RSS per run). docs/logparser-notes.md
# records a run.
#
# Usage: scripts/bench-logparser.sh [-size MB] [-runs N] [-md FILE] [-logs DIR] [-keep -dir DIR]
# Needs ../shared/testdata/treeherder/logs beside the module root (or -logs),
# zcat and wc. The corpus goes to a temporary folder that is removed afterwards
# (about 420 MB of disk while it runs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="$(mktemp -d)/logbench"
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./plugins/logparser/cmd/logbench
"$bin" "$@"
echo
echo "== go test -bench (same package, in-memory corpus of the 16 sample logs)"
go test -run '^$' -bench . -benchtime 5x ./plugins/logparser/parse/
