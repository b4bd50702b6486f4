#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests and drills, from Debian's postgresql package:
#   start DIR    creates a cluster in DIR/data (owned by an unprivileged user: `postgres` when run as
#                root, else the caller), starts it on a free loopback port with a random password
#                (SCRAM) for the user `tributary`, and prints the shell exports the tests read:
#                TRIBUTARY_TEST_POSTGRES (a postgres:// URL), TRIBUTARY_TEST_POSTGRES_PASSWORD_FILE,
#                TRIBUTARY_TEST_POSTGRES_CLUSTER (DIR, for kill/restart)
#   kill DIR     SIGKILLs the postmaster and its backends at once (the fault drill's database crash)
#   restart DIR  starts it again on the same port (crash recovery replays its WAL)
#   stop DIR     stops it and removes DIR
# Durability settings are PostgreSQL's defaults (fsync, synchronous_commit on): the drill's
# "nothing acknowledged is lost" holds for them.
set -euo pipefail
cmd=${1:?start|kill|restart|stop}
dir=${2:?cluster directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/pg_ctl" ] || { echo "postgres-test-cluster: PostgreSQL is not installed (scripts/setup.sh installs postgresql)" >&2; exit 1; }
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pgctl() { as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" "$@"; }

case "$cmd" in
start)
  mkdir -p "$dir"
  chmod 755 "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 -c 'import secrets; print(secrets.token_hex(16))' > "$dir/password"
  chmod 644 "$dir/password"
  as_owner "$bin/initdb" -D "$dir/data" -U tributary --pwfile="$dir/password" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C --no-sync >/dev/null
  chmod 600 "$dir/password"
  echo "$port" > "$dir/port"
  cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 400
CONF
  pgctl -w -t 60 start >/dev/null
  echo "export TRIBUTARY_TEST_POSTGRES=postgres://tributary@127.0.0.1:$port/postgres"
  echo "export TRIBUTARY_TEST_POSTGRES_PASSWORD_FILE=$dir/password"
  echo "export TRIBUTARY_TEST_POSTGRES_CLUSTER=$dir"
  ;;
kill)
  # The postmaster and all its backends at once: the whole database server crashes.
  pid=$(head -1 "$dir/data/postmaster.pid")
  kids=$(pgrep -P "$pid" || true)
  kill -KILL "$pid" $kids 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  ;;
restart)
  pgctl -w -t 120 start >/dev/null
  ;;
stop)
  if [ -f "$dir/data/postmaster.pid" ]; then pgctl -m immediate -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|kill|restart|stop DIR" >&2; exit 2 ;;
esac
