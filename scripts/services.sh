#!/usr/bin/env bash
# Install and start the services herder's tests use, on Debian 12 without systemd, as root:
#   MariaDB  on 127.0.0.1:3306  (database `herder`, user herder/herder with ALL on `herder%`.*)
#   RabbitMQ on 127.0.0.1:5672  (user herder/herder, administrator, vhosts `/` and `herder`;
#            management API on 127.0.0.1:15672)
#   chromium at /usr/bin/chromium (no daemon; installed for browser tests)
#
# Usage: scripts/services.sh [all|mariadb|rabbitmq|chromium|stop]   (default: all)
#
# Idempotent: packages are installed only when missing, daemons started only when not running,
# the SQL grants are re-applied every time (cheap). When everything is up it takes well under a
# second. Based on the measured recipe in shared/reference/services-and-speed.md, Part 1.
# It exports nothing; it prints the environment lines the tests read.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

readonly MYSQL_DSN='herder:herder@tcp(127.0.0.1:3306)/herder?parseTime=true&multiStatements=true'
readonly AMQP_URL='amqp://herder:herder@127.0.0.1:5672/herder'

readonly MY_RUN=/run/mysqld
readonly MY_PIDFILE=$MY_RUN/mysqld.pid
readonly MY_SOCKET=$MY_RUN/mysqld.sock
readonly MY_DATADIR=/var/lib/mysql
readonly MY_ERRLOG=/var/log/mysql/herder-test.err

readonly RMQ_NODE=rabbit@localhost
readonly RMQ_PIDFILE=/var/lib/rabbitmq/mnesia/$RMQ_NODE.pid
readonly RMQ_LOG=/var/log/rabbitmq/$RMQ_NODE.log
readonly RMQ_STARTLOG=/var/log/rabbitmq/herder-start.log
# base64(salt4 + sha256(salt4 + "herder")) with salt 4e7d1b2c, RabbitMQ's rabbit_password_hashing_sha256.
# Recompute: { printf '\x4e\x7d\x1b\x2c'; { printf '\x4e\x7d\x1b\x2c'; printf herder; } |
#              openssl dgst -sha256 -binary; } | openssl base64 -A
readonly RMQ_PASSWORD_HASH='Tn0bLB7dJ0mnKdycDjyMXFQ5dJc5ZckIP/dd1D+p8tC7OX/p'

ms() { echo $(( $(date +%s%N) / 1000000 )); }
log() { echo "services: $*" >&2; }
die() { echo "services: ERROR: $*" >&2; exit 1; }

# port_open HOST PORT: true when a TCP connect succeeds (bash's /dev/tcp, no extra tools).
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# pid_alive FILE: true when FILE names a live process.
pid_alive() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# write_if_changed PATH: replace PATH with stdin only when the content differs.
write_if_changed() {
  local tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; chmod 644 "$1"; fi
}

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts daemons)"

# ---------------------------------------------------------------------------------------------
# install: one apt-get update, one apt-get install for everything missing
# ---------------------------------------------------------------------------------------------
install_missing() {
  local pkgs=() want
  for want in "$@"; do
    case $want in
      mariadb)
        command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || pkgs+=(mariadb-server)
        command -v mariadb >/dev/null 2>&1 || pkgs+=(mariadb-client) ;;
      rabbitmq) command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/sbin/rabbitmq-server ] || pkgs+=(rabbitmq-server) ;;
      chromium) [ -x /usr/bin/chromium ] || pkgs+=(chromium) ;;
    esac
  done
  [ ${#pkgs[@]} -gt 0 ] || return 0

  log "installing ${pkgs[*]}"
  # Keep maintainer scripts from starting daemons (there is no systemd; we start them ourselves).
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0
  apt-get update -qq || rc=$?
  if [ $rc = 0 ]; then
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" </dev/null >/tmp/herder-services-apt.log 2>&1 || rc=$?
  fi
  if [ $made_policy = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ $rc != 0 ]; then
    tail -n 30 /tmp/herder-services-apt.log >&2 2>/dev/null || true
    die "apt-get failed (exit $rc) installing: ${pkgs[*]}"
  fi
}

# ---------------------------------------------------------------------------------------------
# MariaDB
# ---------------------------------------------------------------------------------------------
mariadb_ping() { mariadb-admin --protocol=socket --socket="$MY_SOCKET" -uroot ping >/dev/null 2>&1; }

start_mariadb() {
  install -d -o mysql -g mysql "$MY_RUN" /var/log/mysql
  if ! mariadb_ping; then
    if [ ! -d "$MY_DATADIR/mysql" ]; then
      log "initialising $MY_DATADIR"
      mariadb-install-db --user=mysql --datadir="$MY_DATADIR" --skip-test-db >/dev/null
    fi
    log "starting MariaDB"
    : >"$MY_ERRLOG"; chown mysql:mysql "$MY_ERRLOG"
    # Test-only settings (benchmarks do bulk inserts): a bigger buffer pool, a log flush once a
    # second instead of at every commit (durability traded for speed: fine for throwaway test
    # data, never for production), large packets for multi-row INSERTs, and no spinning on
    # InnoDB latches: on two cores shared with herder, RabbitMQ and the plugins, a spinning
    # thread only burns the CPU its lock holder needs (an eighth of MariaDB's CPU in the
    # end-to-end benchmark; docs/deploy.md), and MariaDB's thread pool, so tens of herder
    # connections share a thread per core instead of a thread each that the kernel switches
    # between (drain 2,312 -> 2,708 msgs/s). innodb_log_file_size stays at the default so the
    # datadir the package created keeps working.
    setsid /usr/sbin/mariadbd --user=mysql --datadir="$MY_DATADIR" \
      --bind-address=127.0.0.1 --port=3306 --skip-name-resolve \
      --socket="$MY_SOCKET" --pid-file="$MY_PIDFILE" --log-error="$MY_ERRLOG" \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
      --innodb-buffer-pool-size=512M --innodb-flush-log-at-trx-commit=2 \
      --max-allowed-packet=64M --innodb-spin-wait-delay=0 --thread-handling=pool-of-threads \
      </dev/null >/dev/null 2>&1 &
    local pid=$! i
    for i in $(seq 1 600); do
      mariadb_ping && break
      if ! kill -0 "$pid" 2>/dev/null; then
        tail -n 40 "$MY_ERRLOG" >&2 || true
        die "mariadbd exited during start-up; error log $MY_ERRLOG (tail above)"
      fi
      sleep 0.1
    done
    if ! mariadb_ping; then
      tail -n 40 "$MY_ERRLOG" >&2 || true
      die "MariaDB did not answer within 60 s; error log $MY_ERRLOG (tail above)"
    fi
  fi
  # root@localhost uses unix_socket auth on Debian: no password over the socket.
  # With --skip-name-resolve TCP clients from 127.0.0.1 match 'herder'@'127.0.0.1';
  # 'herder'@'localhost' covers socket clients. Tests create databases named herder_test_*.
  mariadb --protocol=socket --socket="$MY_SOCKET" -uroot <<'SQL' || die "MariaDB: creating database/users failed"
CREATE DATABASE IF NOT EXISTS herder CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER IF NOT EXISTS 'herder'@'127.0.0.1' IDENTIFIED BY 'herder';
CREATE USER IF NOT EXISTS 'herder'@'localhost' IDENTIFIED BY 'herder';
GRANT ALL PRIVILEGES ON `herder%`.* TO 'herder'@'127.0.0.1';
GRANT ALL PRIVILEGES ON `herder%`.* TO 'herder'@'localhost';
SQL
  mariadb -h127.0.0.1 -P3306 -uherder -pherder herder -Nse 'SELECT 1' >/dev/null \
    || die "MariaDB is up but herder@127.0.0.1 cannot log in over TCP"
}

# ---------------------------------------------------------------------------------------------
# RabbitMQ (user and vhosts come from a definitions file imported at boot: no rabbitmqctl
# round-trips, each of which costs ~0.4 s of Erlang VM start-up)
# ---------------------------------------------------------------------------------------------
rabbit_config() {
  write_if_changed /etc/rabbitmq/rabbitmq-env.conf <<'CONF'
# written by herder scripts/services.sh
NODENAME=rabbit@localhost
NODE_IP_ADDRESS=127.0.0.1
export ERL_EPMD_ADDRESS=127.0.0.1
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
CONF
  write_if_changed /etc/rabbitmq/rabbitmq.conf <<'CONF'
# written by herder scripts/services.sh
listeners.tcp.default = 127.0.0.1:5672
management.tcp.ip = 127.0.0.1
management.tcp.port = 15672
load_definitions = /etc/rabbitmq/definitions.json
CONF
  write_if_changed /etc/rabbitmq/definitions.json <<JSON
{"users":[{"name":"herder","password_hash":"$RMQ_PASSWORD_HASH",
  "hashing_algorithm":"rabbit_password_hashing_sha256","tags":["administrator"]}],
 "vhosts":[{"name":"/"},{"name":"herder"}],
 "permissions":[{"user":"herder","vhost":"herder","configure":".*","write":".*","read":".*"},
                {"user":"herder","vhost":"/","configure":".*","write":".*","read":".*"}]}
JSON
  chown rabbitmq:rabbitmq /etc/rabbitmq/definitions.json
  install -d -o rabbitmq -g rabbitmq /var/log/rabbitmq /var/lib/rabbitmq
}

# rabbit_user_ok: the herder user can log in (management API). Without curl, trust the port.
rabbit_user_ok() {
  command -v curl >/dev/null 2>&1 || return 0
  curl -fsS -o /dev/null --max-time 5 -u herder:herder http://127.0.0.1:15672/api/whoami 2>/dev/null
}

rabbit_fail() {
  tail -n 40 "$RMQ_STARTLOG" >&2 2>/dev/null || true
  tail -n 40 "$RMQ_LOG" >&2 2>/dev/null || true
  die "$1; logs $RMQ_STARTLOG and $RMQ_LOG (tails above)"
}

start_rabbitmq() {
  rabbit_config
  if pid_alive "$RMQ_PIDFILE" && port_open 127.0.0.1 5672; then
    # Already running. A node started without our definitions lacks the user: import them.
    if ! rabbit_user_ok; then
      log "RabbitMQ is running without the herder user: importing definitions"
      rabbitmqctl -q import_definitions /etc/rabbitmq/definitions.json >/dev/null \
        || die "rabbitmqctl import_definitions failed"
    fi
    return 0
  fi
  grep -qs rabbitmq_management /etc/rabbitmq/enabled_plugins \
    || rabbitmq-plugins -q enable --offline rabbitmq_management >/dev/null
  log "starting RabbitMQ"
  setsid rabbitmq-server -detached </dev/null >>"$RMQ_STARTLOG" 2>&1 \
    || rabbit_fail "rabbitmq-server -detached failed"
  # Poll the ports rather than `rabbitmqctl wait/await_startup` (saves ~0.7 s of CLI start-up);
  # listeners open only after boot, including the definitions import, has finished.
  local i seen_pid=0
  for i in $(seq 1 1200); do
    if port_open 127.0.0.1 5672 && port_open 127.0.0.1 15672; then break; fi
    if pid_alive "$RMQ_PIDFILE"; then
      seen_pid=1
    elif [ $seen_pid = 1 ]; then
      rabbit_fail "RabbitMQ exited during start-up"
    fi
    sleep 0.1
  done
  port_open 127.0.0.1 5672 || rabbit_fail "RabbitMQ did not open 127.0.0.1:5672 within 120 s"
  port_open 127.0.0.1 15672 || rabbit_fail "RabbitMQ management did not open 127.0.0.1:15672 within 120 s"
  for i in $(seq 1 100); do rabbit_user_ok && break; sleep 0.1; done
  rabbit_user_ok || rabbit_fail "RabbitMQ is up but user herder cannot log in to the management API"
}

# ---------------------------------------------------------------------------------------------
# stop (by PID)
# ---------------------------------------------------------------------------------------------
# term_pid NAME PIDFILE: SIGTERM the process named in PIDFILE; print its pid (nothing if not running).
term_pid() {
  local pid
  if ! pid_alive "$2"; then log "$1 not running"; return 0; fi
  pid=$(cat "$2")
  log "stopping $1 (pid $pid)"
  kill -TERM "$pid" && echo "$pid"
}

# wait_gone NAME PID: wait up to 60 s for PID to exit.
wait_gone() {
  local i
  [ -n "$2" ] || return 0
  for i in $(seq 1 600); do kill -0 "$2" 2>/dev/null || return 0; sleep 0.1; done
  die "$1 (pid $2) did not exit within 60 s of SIGTERM"
}

stop_all() {
  # Both at once: MariaDB takes ~1 s, RabbitMQ's graceful shutdown ~8 s (5 s of it the
  # management plugin stopping its statistics collector).
  local my_pid rmq_pid d
  my_pid=$(term_pid MariaDB "$MY_PIDFILE")
  rmq_pid=$(term_pid RabbitMQ "$RMQ_PIDFILE")
  wait_gone MariaDB "$my_pid"
  wait_gone RabbitMQ "$rmq_pid"
  # RabbitMQ leaves epmd (Erlang port mapper) running; stop the one owned by the rabbitmq user.
  for d in /proc/[0-9]*; do
    [ "$(cat "$d/comm" 2>/dev/null)" = epmd ] || continue
    [ "$(stat -c %U "$d" 2>/dev/null)" = rabbitmq ] || continue
    log "stopping epmd (pid ${d#/proc/})"
    if kill -TERM "${d#/proc/}" 2>/dev/null; then wait_gone epmd "${d#/proc/}"; fi
  done
}

# ---------------------------------------------------------------------------------------------
main() {
  local what=${1:-all} T0 T1 T2 T3
  T0=$(ms)
  case $what in
    all) install_missing mariadb rabbitmq chromium ;;
    mariadb|rabbitmq|chromium) install_missing "$what" ;;
    stop) stop_all; log "stopped in $(( $(ms) - T0 ))ms"; return 0 ;;
    -h|--help|help) sed -n '2,13p' "$0"; return 0 ;;
    *) die "unknown argument '$what' (want all|mariadb|rabbitmq|chromium|stop)" ;;
  esac
  T1=$(ms)
  case $what in all|mariadb) start_mariadb ;; esac
  T2=$(ms)
  case $what in all|rabbitmq) start_rabbitmq ;; esac
  T3=$(ms)
  case $what in all|chromium) [ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing after install" ;; esac

  echo "services ready ($what): install=$((T1-T0))ms mariadb=$((T2-T1))ms rabbitmq=$((T3-T2))ms total=$((T3-T0))ms"
  case $what in all|mariadb) echo "HERDER_TEST_MYSQL_DSN=$MYSQL_DSN" ;; esac
  case $what in all|rabbitmq) echo "HERDER_TEST_AMQP_URL=$AMQP_URL" ;; esac
}

main "$@"
