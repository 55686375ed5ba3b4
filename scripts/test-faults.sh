#!/usr/bin/env bash
# The scale-out fault suite (internal/faults, build tag `faults`): web+scheduler, ingest and two
# workers as separate processes on MariaDB and RabbitMQ, 100,000 Pulse messages, while it kill -9s
# a worker, a plugin and the ingest process, restarts RabbitMQ and kills/restarts MariaDB. Then it
# checks every job is stored once with its final state, every log parsed once, no queue holds work
# and the dead letters are exactly the malformed messages it sent.
#
# Usage: scripts/test-faults.sh [RUNS]     (default 1; CI and the "three runs in a row" check use 3)
#        scripts/test-faults.sh bench      the end-to-end benchmark on the same rig, without faults:
#                                          msgs/s for 1, 2 and 4 workers and a 100,000-message backlog
#                                          drain, with CPU per process (HERDER_BENCH_MESSAGES, default
#                                          100000 per run; about 15 minutes on 2 cores)
#
# Needs root (it kills and restarts the shared MariaDB the way scripts/services.sh starts it, and runs
# rabbitmqctl), the services up (bash scripts/services.sh), and ../shared is not needed. Other tests
# using MariaDB or RabbitMQ at the same time will see the outages: run it alone.
#
# Environment (all optional):
#   HERDER_FAULTS_MESSAGES  task messages to publish (default 100000)
#   HERDER_FAULTS_SEED      scenario and fault-timing seed (default: the clock; printed, to repeat a run)
#   HERDER_FAULTS_BUDGET    time limit of one run (default 9m)
#   HERDER_FAULTS_ONLY      comma-separated faults, in this order, instead of all five shuffled:
#                           worker, plugin, ingest, rabbitmq, mariadb (a name may repeat)
#   HERDER_FAULTS_LOGDIR    keep every process's output under this directory
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export HERDER_TEST_MYSQL_DSN="${HERDER_TEST_MYSQL_DSN:-herder:herder@tcp(127.0.0.1:3306)/herder?parseTime=true&multiStatements=true}"
export HERDER_TEST_AMQP_URL="${HERDER_TEST_AMQP_URL:-amqp://herder:herder@127.0.0.1:5672/herder}"
# A missing service or root must fail here, not skip.
export HERDER_REQUIRE_SERVICES="${HERDER_REQUIRE_SERVICES:-1}"

if [ "${1:-}" = bench ]; then
  exec go test -tags faults -run '^$' -bench E2E -benchtime 1x -timeout 90m ./internal/faults
fi

runs=${1:-1}
[ "$(id -u)" = 0 ] || { echo "test-faults: must run as root (it restarts MariaDB and RabbitMQ)" >&2; exit 1; }
command -v rabbitmqctl >/dev/null || { echo "test-faults: rabbitmqctl not found: run bash scripts/services.sh" >&2; exit 1; }

# Build the test binary once; each run then starts at once.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go test -tags faults -c -o "$bin/faults.test" ./internal/faults

failed=0
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  # -test.timeout: the suite's own budget (HERDER_FAULTS_BUDGET) fails it well before.
  if (cd internal/faults && "$bin/faults.test" -test.run '^TestFaults$' -test.v -test.count=1 -test.timeout 20m) \
      >"$bin/run-$i.log" 2>&1; then
    result=PASS
  else
    result=FAIL
    failed=$((failed + 1))
  fi
  if [ $result = PASS ]; then
    grep -E '^\s+faults_test.go:[0-9]+: ' "$bin/run-$i.log" | sed 's/^\s*faults_test.go:[0-9]*: /  /' || true
  else
    # Everything but the fake upstream's noise: the run's log lines, the failure with the state it
    # found, and the tail of each process's output.
    grep -v 'TLS handshake error' "$bin/run-$i.log"
  fi
  echo "test-faults: run $i of $runs: $result in $(( $(date +%s) - start ))s"
done
[ $failed = 0 ] || { echo "test-faults: $failed of $runs runs failed"; exit 1; }
