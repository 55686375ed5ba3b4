#!/usr/bin/env bash
# Runs herder's benchmarks and prints their numbers; docs/benchmarks.md
# records a run. The MySQL rows need the test MariaDB (bash scripts/services.sh)
# and HERDER_TEST_MYSQL_DSN; without it they are skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export HERDER_TEST_MYSQL_DSN="${HERDER_TEST_MYSQL_DSN:-herder:herder@tcp(127.0.0.1:3306)/herder?parseTime=true&multiStatements=true}"

echo "== job upserts (jobs/s, resident memory after each total)"
go test -run '^$' -bench 'StoreJobs' -benchtime 1x -timeout 30m ./core/store/sqlstore/

echo "== every other benchmark"
go test -run '^$' -bench . -benchmem -timeout 30m $(go list ./... | grep -v '/core/store/sqlstore$')

echo "== log parser throughput and memory on a 200 MB corpus, beside zcat | wc -l"
bash scripts/bench-logparser.sh

echo "== end to end: Pulse exchange to stored, parsed jobs with 1, 2 and 4 worker processes (about 15 minutes)"
if [ "$(id -u)" = 0 ] && command -v rabbitmqctl >/dev/null && [ -n "${HERDER_TEST_AMQP_URL:-}" ]; then
  bash scripts/test-faults.sh bench
else
  echo "skipped: needs root, rabbitmqctl and HERDER_TEST_AMQP_URL (bash scripts/services.sh); or run make bench-e2e"
fi
