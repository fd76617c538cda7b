#!/usr/bin/env bash
# The local stack without Docker: a real Apache Kafka broker (KRaft, single node, jars from
# Maven Central, run with the machine's Java), redis-server and PostgreSQL from Debian's packages.
#
#   scripts/stack.sh install   install what is missing (apt packages, Kafka jars, Python venv)
#   scripts/stack.sh start     install, then start all three and wait until each answers
#   scripts/stack.sh stop      stop what start started
#   scripts/stack.sh status    say what answers
#   scripts/stack.sh env       print the effective ports and URLs (the env file below)
#
# Everything lives under .stack/ in the project (ignored by git). Ports come from CHITIEU_*_PORT
# when set (a taken one is an error); otherwise the defaults, and a default port that another
# program holds (Debian's own redis-server and postgresql services start on 6379 and 5432 when
# their packages are installed on a systemd host) moves this stack's server to the next free
# port. The ports in use and the URLs that follow from them are written to $STACK/env, the one
# place scripts/run.sh, scripts/test.sh, the Makefile and the tests read them from.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${CHITIEU_STACK_DIR:-$ROOT/.stack}"
ENV_FILE="$STACK/env"
# A port this stack chose before (kept while its server's data or process is there), else the default.
saved_port() { [ -f "$ENV_FILE" ] || return 0; sed -n "s/^$1=//p" "$ENV_FILE" | tail -1; }
KAFKA_PORT="${CHITIEU_KAFKA_PORT:-$(saved_port CHITIEU_KAFKA_PORT)}"; KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${CHITIEU_KAFKA_CONTROLLER_PORT:-$(saved_port CHITIEU_KAFKA_CONTROLLER_PORT)}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
REDIS_PORT="${CHITIEU_REDIS_PORT:-$(saved_port CHITIEU_REDIS_PORT)}"; REDIS_PORT="${REDIS_PORT:-6379}"
PG_PORT="${CHITIEU_PG_PORT:-$(saved_port CHITIEU_PG_PORT)}"; PG_PORT="${PG_PORT:-5432}"
PG_USER="${CHITIEU_PG_USER:-chitieu}"
PG_PASSWORD="${CHITIEU_PG_PASSWORD:-chitieu}"
PG_DATABASES="${CHITIEU_PG_DATABASES:-chitieu_web chitieu_quota chitieu_candidates chitieu_notifications chitieu_test}"
# Kafka recovering a large log after an unclean stop took over 90 s on a 2-core machine.
WAIT_SECONDS="${CHITIEU_STACK_WAIT_SECONDS:-240}"
# PostgreSQL runs as the postgres user, who must reach its data directory: when we are root, keep
# it under postgres's home (the project may sit in a directory only root can enter).
if [ "$(id -u)" = 0 ]; then
  PG_DIR="${CHITIEU_PG_DIR:-/var/lib/postgresql/chitieu-$(printf '%s' "$STACK" | md5sum | cut -c1-10)}"
else
  PG_DIR="${CHITIEU_PG_DIR:-$STACK/pg}"
fi
# The broker's jars are shared by every stack directory (tests start extra brokers elsewhere).
KAFKA_LIB="${CHITIEU_KAFKA_LIB:-$ROOT/.stack/kafka-lib}"

say() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Not root: Debian packages are installed with sudo.
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# What must be there before anything else can be installed: say so plainly, install nothing.
check_prerequisites() {
  local missing=()
  command -v curl >/dev/null || missing+=(curl)
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    if ! command -v python3 >/dev/null; then
      missing+=(python3 python3-venv)
    else
      python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "Python 3.11 or newer is needed (python3 is $(python3 -V 2>&1)): use Debian 12 or newer"
      python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
    fi
  fi
  [ -z "$SUDO" ] || command -v sudo >/dev/null || missing+=(sudo)
  if ((${#missing[@]})); then
    die "missing: ${missing[*]}. make run needs make, curl, python3-venv and, for a user other than root, sudo, before it can install the rest. As root: apt-get install -y make ${missing[*]}"
  fi
}

# A default port held by another program moves the server this stack is about to start to the
# next free port; a port asked for (CHITIEU_*_PORT) or held by this stack's own server stays.
next_free_port() { # next_free_port PORT [AVOID]
  local p=$1
  while port_open "$p" || [ "$p" = "${2:-}" ]; do p=$((p + 1)); done
  echo "$p"
}
move_if_taken() { # move_if_taken NAME VAR EXPLICIT OURS [AVOID]
  local name=$1 var=$2 explicit=$3 ours=$4 avoid=${5:-} port new
  port="${!var}"
  if [ -n "$explicit" ] || [ "$ours" = yes ]; then return 0; fi
  new="$(next_free_port "$port" "$avoid")"
  if [ "$new" != "$port" ]; then
    say "port $port is held by another program (a system $name service?): this stack's $name uses $new"
    printf -v "$var" '%s' "$new"
  fi
}
running_pidfile() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

choose_ports() {
  local ours
  running_pidfile "$STACK/redis.pid" && ours=yes || ours=no
  move_if_taken Redis REDIS_PORT "${CHITIEU_REDIS_PORT:-}" "$ours"
  # Our PostgreSQL, when it runs, says its port in postmaster.pid (4th line).
  if [ -f "$PG_DIR/data/postmaster.pid" ] && [ -z "${CHITIEU_PG_PORT:-}" ]; then
    PG_PORT="$(sed -n 4p "$PG_DIR/data/postmaster.pid")"; ours=yes
  else ours=no; fi
  move_if_taken PostgreSQL PG_PORT "${CHITIEU_PG_PORT:-}" "$ours"
  running_pidfile "$STACK/kafka.pid" && ours=yes || ours=no
  move_if_taken Kafka KAFKA_PORT "${CHITIEU_KAFKA_PORT:-}" "$ours"
  move_if_taken Kafka KAFKA_CONTROLLER_PORT "${CHITIEU_KAFKA_CONTROLLER_PORT:-}" "$ours" "$KAFKA_PORT"
}

# The one place the effective ports and the settings that depend on them are written.
write_env() {
  mkdir -p "$STACK"
  cat >"$ENV_FILE.tmp" <<EOF
# The ports of this local stack and the settings that follow from them, written by
# scripts/stack.sh start. scripts/run.sh, scripts/test.sh, the Makefile and the tests read it.
# Change a port with CHITIEU_*_PORT and run scripts/stack.sh start again, never here.
CHITIEU_KAFKA_PORT=$KAFKA_PORT
CHITIEU_KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT
CHITIEU_REDIS_PORT=$REDIS_PORT
CHITIEU_PG_PORT=$PG_PORT
CHITIEU_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
CHITIEU_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
CHITIEU_PG_URL=postgresql+psycopg://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT
EOF
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

wait_for() { # wait_for NAME SECONDS COMMAND...
  local name=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then return 1; fi
    sleep 0.5
  done
  say "$name answers"
}

# --- install ---------------------------------------------------------------------------------
install_debian_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  if ((${#missing[@]})); then
    say "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq || die "apt-get update failed${SUDO:+ (does this user have sudo rights?)}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
      || die "could not install ${missing[*]}${SUDO:+ (does this user have sudo rights?)}"
  fi
}

install_kafka() {
  local lib="$KAFKA_LIB"
  if [ -f "$lib/.complete" ] && cmp -s "$ROOT/deploy/kafka/pom.xml" "$lib/.complete"; then return; fi
  say "fetching Apache Kafka from Maven Central (deploy/kafka/pom.xml)"
  rm -rf "$lib" && mkdir -p "$lib"
  mvn -q -B -f "$ROOT/deploy/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$lib" || die "could not fetch Kafka jars with Maven"
  cp "$ROOT/deploy/kafka/pom.xml" "$lib/.complete"
}

install_python() {
  local venv="$ROOT/.venv"
  if [ ! -x "$venv/bin/python" ]; then
    say "creating the Python virtualenv .venv"
    python3 -m venv "$venv"
  fi
  local stamp="$venv/.installed"
  if [ -f "$stamp" ] && cmp -s "$ROOT/pyproject.toml" "$stamp"; then return; fi
  say "installing Python dependencies (pyproject.toml)"
  "$venv/bin/pip" install -q --upgrade pip >/dev/null
  "$venv/bin/pip" install -q -e "$ROOT[test,local]" || die "pip install failed"
  cp "$ROOT/pyproject.toml" "$stamp"
}

cmd_install() {
  check_prerequisites
  install_debian_packages
  install_kafka
  install_python
}

# --- Kafka -----------------------------------------------------------------------------------
kafka_props() {
  local dir="$STACK/kafka"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=2097152
auto.create.topics.enable=true
EOF
  cat >"$dir/log4j2.yaml" <<EOF
Configuration:
  Appenders:
    File:
      name: file
      fileName: "$STACK/logs/kafka.log"
      PatternLayout: { pattern: "[%d] %p %m (%c)%n" }
  Loggers:
    Root: { level: INFO, AppenderRef: [{ ref: file }] }
EOF
}

kafka_java() { java -cp "$KAFKA_LIB/*" "$@"; }

kafka_answers() { port_open "$KAFKA_PORT" && grep -q "Kafka Server started" "$STACK/logs/kafka.log"; }

start_kafka() {
  local dir="$STACK/kafka" pidfile="$STACK/kafka.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    # A broker still recovering its log runs but does not answer yet: wait for it as for a new one.
    say "Kafka already running"
    wait_for "Kafka on 127.0.0.1:$KAFKA_PORT" "$WAIT_SECONDS" kafka_answers \
      || die "Kafka runs but does not answer within ${WAIT_SECONDS}s: see $STACK/logs/kafka.log and kafka.out"
    return
  fi
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$p" && die "port $p is already taken by another process; free it or set CHITIEU_KAFKA_PORT / CHITIEU_KAFKA_CONTROLLER_PORT"
  done
  mkdir -p "$dir/data" "$STACK/logs"
  kafka_props
  if [ ! -f "$dir/data/meta.properties" ]; then
    kafka_java kafka.tools.StorageTool format -t "$(kafka_java kafka.tools.StorageTool random-uuid)" \
      -c "$dir/server.properties" >"$STACK/logs/kafka-format.log" 2>&1 \
      || die "formatting Kafka storage failed: see $STACK/logs/kafka-format.log"
  fi
  : >"$STACK/logs/kafka.log"
  # A broker keeps several files open per partition; with the default limit of 1024 it shut down
  # ("Too many open files") once the test namespaces' topics passed a few thousand partitions.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true
  nohup java -Xms256m -Xmx512m -Dlog4j2.configurationFile="$dir/log4j2.yaml" -cp "$KAFKA_LIB/*" \
    kafka.Kafka "$dir/server.properties" >"$STACK/logs/kafka.out" 2>&1 &
  echo $! >"$pidfile"
  wait_for "Kafka on 127.0.0.1:$KAFKA_PORT" "$WAIT_SECONDS" kafka_answers \
    || die "Kafka did not come up within ${WAIT_SECONDS}s: see $STACK/logs/kafka.log and kafka.out"
}

# --- Redis -----------------------------------------------------------------------------------
redis_answers() { redis-cli -p "$REDIS_PORT" ping | grep -q PONG; }

start_redis() {
  local pidfile="$STACK/redis.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then say "Redis already running"; return; fi
  port_open "$REDIS_PORT" && die "port $REDIS_PORT is already taken by another process; free it or set CHITIEU_REDIS_PORT"
  mkdir -p "$STACK/redis" "$STACK/logs"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$STACK/redis" --daemonize yes \
    --pidfile "$pidfile" --logfile "$STACK/logs/redis.log" --appendonly yes --save ""
  wait_for "Redis on 127.0.0.1:$REDIS_PORT" "$WAIT_SECONDS" redis_answers \
    || die "Redis did not come up: see $STACK/logs/redis.log"
}

# --- PostgreSQL ------------------------------------------------------------------------------
# Our own cluster under .stack/pg, run as the postgres user (the server refuses root).
pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1; }
pg_answers() { pg_isready -h 127.0.0.1 -p "$PG_PORT" -q; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
  local data="$PG_DIR/data" bin
  bin="$(pg_bin)"
  if [ -f "$data/postmaster.pid" ] && pg_answers; then say "PostgreSQL already running"; create_databases; return; fi
  port_open "$PG_PORT" && die "port $PG_PORT is already taken by another process; free it or set CHITIEU_PG_PORT"
  mkdir -p "$PG_DIR" "$STACK/logs"
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
  if [ ! -f "$data/PG_VERSION" ]; then
    as_postgres "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null \
      || die "initdb failed"
  fi
  as_postgres "$bin/pg_ctl" -D "$data" -l "$PG_DIR/postgres.log" -w -t "$WAIT_SECONDS" \
    -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
    || die "PostgreSQL did not come up: see $PG_DIR/postgres.log"
  wait_for "PostgreSQL on 127.0.0.1:$PG_PORT" "$WAIT_SECONDS" pg_answers || die "PostgreSQL does not answer"
  create_databases
}

create_databases() { # the role and every database, made once
  local psql=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qtA -v ON_ERROR_STOP=1)
  "${psql[@]}" -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='$PG_USER') THEN CREATE ROLE $PG_USER LOGIN SUPERUSER PASSWORD '$PG_PASSWORD'; END IF; END\$\$;" >/dev/null
  for db in $PG_DATABASES; do
    "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
      || "${psql[@]}" -c "CREATE DATABASE $db OWNER $PG_USER" >/dev/null
  done
}

stop_pidfile() { # stop_pidfile NAME PIDFILE
  local pidfile=$2 pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    say "$1 stopped"
  fi
  rm -f "$pidfile"
}

# Fail fast, before any install, when a port we need is held by something that is not ours.
check_ports() {
  local p
  if ! { [ -f "$STACK/redis.pid" ] && kill -0 "$(cat "$STACK/redis.pid")" 2>/dev/null; }; then
    port_open "$REDIS_PORT" && die "port $REDIS_PORT (Redis) is already taken by another process; free it or set CHITIEU_REDIS_PORT"
  fi
  if ! { [ -f "$STACK/kafka.pid" ] && kill -0 "$(cat "$STACK/kafka.pid")" 2>/dev/null; }; then
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
      port_open "$p" && die "port $p (Kafka) is already taken by another process; free it or set CHITIEU_KAFKA_PORT / CHITIEU_KAFKA_CONTROLLER_PORT"
    done
  fi
  if [ ! -f "$PG_DIR/data/postmaster.pid" ]; then
    port_open "$PG_PORT" && die "port $PG_PORT (PostgreSQL) is already taken by another process; free it or set CHITIEU_PG_PORT"
  fi
  return 0
}

cmd_start() {
  choose_ports
  check_ports
  cmd_install
  mkdir -p "$STACK/logs"
  start_redis
  start_postgres
  start_kafka
  write_env
}

cmd_stop() {
  stop_pidfile Kafka "$STACK/kafka.pid"
  stop_pidfile Redis "$STACK/redis.pid"
  if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    as_postgres "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null && say "PostgreSQL stopped"
  fi
}

cmd_status() {
  kafka_answers && say "Kafka answers on $KAFKA_PORT" || say "Kafka is down"
  redis_answers && say "Redis answers on $REDIS_PORT" || say "Redis is down"
  pg_answers && say "PostgreSQL answers on $PG_PORT" || say "PostgreSQL is down"
}

# Restart only the broker (tests use this to prove consumers survive a broker restart).
cmd_restart_kafka() { stop_pidfile Kafka "$STACK/kafka.pid"; start_kafka; }

case "${1:-}" in
  install) cmd_install ;;
  env) choose_ports; write_env; cat "$ENV_FILE" ;;
  databases) create_databases ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  restart-kafka) cmd_restart_kafka ;;
  start-kafka) install_kafka; mkdir -p "$STACK/logs"; start_kafka ;;
  stop-kafka) stop_pidfile Kafka "$STACK/kafka.pid" ;;
  *) echo "usage: $0 install|start|stop|status|env|databases|restart-kafka|start-kafka|stop-kafka" >&2; exit 2 ;;
esac
