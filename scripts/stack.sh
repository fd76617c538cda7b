#!/usr/bin/env bash
# The local stack without Docker: a real Apache Kafka broker (KRaft, single node, jars from
# Maven Central, run with the machine's Java), redis-server and PostgreSQL from Debian's packages.
#
#   scripts/stack.sh install   install what is missing (apt packages, Kafka jars, Python venv)
#   scripts/stack.sh start     install, then start all three and wait until each answers
#   scripts/stack.sh start --brokers 3   the same with a three-broker Kafka cluster (or CHITIEU_KAFKA_BROKERS=3)
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
# Brokers of the Kafka cluster: `--brokers N` after the command, else CHITIEU_KAFKA_BROKERS, else
# what this stack ran before, else 1. With N > 1, node i (1..N) is a combined broker+controller
# listening on KAFKA_PORT+i-1 and KAFKA_CONTROLLER_PORT+i-1, its data in $STACK/kafka-i.
BROKERS="${CHITIEU_KAFKA_BROKERS:-$(saved_port CHITIEU_KAFKA_BROKERS)}"
if [ "${2:-}" = --brokers ]; then BROKERS="${3:-}"; fi
BROKERS="${BROKERS:-1}"
[[ $BROKERS =~ ^[1-9]$ ]] || { printf '[stack] ERROR: --brokers / CHITIEU_KAFKA_BROKERS must be 1 to 9, not %s\n' "$BROKERS" >&2; exit 2; }
# A cluster's controller ports follow its broker ports (KAFKA_PORT+N...) unless asked for, or
# chosen before for this cluster.
if ((BROKERS > 1)) && [ -z "${CHITIEU_KAFKA_CONTROLLER_PORT:-}" ] \
    && { [ "$(saved_port CHITIEU_KAFKA_BROKERS)" != "$BROKERS" ] \
         || ((KAFKA_CONTROLLER_PORT < KAFKA_PORT + BROKERS && KAFKA_CONTROLLER_PORT + BROKERS > KAFKA_PORT)); }; then
  KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + BROKERS))
fi
# The broker's Java heap (each broker's, in a cluster).
KAFKA_HEAP="${CHITIEU_KAFKA_HEAP:-512m}"
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
next_free_port() { # next_free_port PORT [AVOID] [COUNT]: the first of COUNT free ports in a row
  local p=$1 count=${3:-1} i
  while :; do
    for ((i = 0; i < count; i++)); do
      if port_open $((p + i)) || [ $((p + i)) = "${2:-}" ]; then p=$((p + i + 1)); continue 2; fi
    done
    echo "$p"; return
  done
}
move_if_taken() { # move_if_taken NAME VAR EXPLICIT OURS [AVOID] [COUNT]
  local name=$1 var=$2 explicit=$3 ours=$4 avoid=${5:-} count=${6:-1} port new
  port="${!var}"
  if [ -n "$explicit" ] || [ "$ours" = yes ]; then return 0; fi
  new="$(next_free_port "$port" "$avoid" "$count")"
  if [ "$new" != "$port" ]; then
    say "port $port is held by another program (a system $name service?): this stack's $name uses $new"
    printf -v "$var" '%s' "$new"
  fi
}
# Alive: not gone, and not a zombie (a broker killed outright stays one until its parent reaps it).
pid_alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }
running_pidfile() { [ -f "$1" ] && pid_alive "$(cat "$1")"; }

choose_ports() {
  local ours
  running_pidfile "$STACK/redis.pid" && ours=yes || ours=no
  move_if_taken Redis REDIS_PORT "${CHITIEU_REDIS_PORT:-}" "$ours"
  # Our PostgreSQL, when it runs, says its port in postmaster.pid (4th line).
  if [ -f "$PG_DIR/data/postmaster.pid" ] && [ -z "${CHITIEU_PG_PORT:-}" ]; then
    PG_PORT="$(sed -n 4p "$PG_DIR/data/postmaster.pid")"; ours=yes
  else ours=no; fi
  move_if_taken PostgreSQL PG_PORT "${CHITIEU_PG_PORT:-}" "$ours"
  kafka_running_any && ours=yes || ours=no
  move_if_taken Kafka KAFKA_PORT "${CHITIEU_KAFKA_PORT:-}" "$ours" "" "$BROKERS"
  if ((BROKERS > 1)) && [ -z "${CHITIEU_KAFKA_CONTROLLER_PORT:-}" ] && [ "$ours" = no ]; then
    KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + BROKERS))
  fi
  move_if_taken Kafka KAFKA_CONTROLLER_PORT "${CHITIEU_KAFKA_CONTROLLER_PORT:-}" "$ours" "$KAFKA_PORT" "$BROKERS"
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
CHITIEU_KAFKA_BROKERS=$BROKERS
CHITIEU_REDIS_PORT=$REDIS_PORT
CHITIEU_PG_PORT=$PG_PORT
CHITIEU_KAFKA_BOOTSTRAP=$(kafka_bootstrap)
CHITIEU_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
CHITIEU_PG_URL=postgresql+psycopg://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT
EOF
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# Only Kafka's lines of the env file, the rest kept (start-kafka leaves Redis and PostgreSQL alone).
write_kafka_env() {
  mkdir -p "$STACK"
  { if [ -f "$ENV_FILE" ]; then grep -v '^CHITIEU_KAFKA_' "$ENV_FILE"
    else echo "# The ports of this stack's Kafka, written by scripts/stack.sh start-kafka."; fi
    echo "CHITIEU_KAFKA_PORT=$KAFKA_PORT"
    echo "CHITIEU_KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT"
    echo "CHITIEU_KAFKA_BROKERS=$BROKERS"
    echo "CHITIEU_KAFKA_BOOTSTRAP=$(kafka_bootstrap)"
  } >"$ENV_FILE.tmp"
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
  # The browser tests (tests/web/test_browser.py) drive Debian's Chromium with Playwright.
  command -v chromium >/dev/null || missing+=(chromium)
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
# One node (BROKERS=1) keeps the layout it always had: $STACK/kafka, kafka.pid, logs/kafka.log.
# A cluster's node i has $STACK/kafka-i, kafka-i.pid, logs/kafka-i.log.
kafka_nodes() { seq 1 "$BROKERS"; }
node_name() { if ((BROKERS == 1)); then echo kafka; else echo "kafka-$1"; fi; }
node_port() { echo $((KAFKA_PORT + $1 - 1)); }
node_controller_port() { echo $((KAFKA_CONTROLLER_PORT + $1 - 1)); }
kafka_bootstrap() {
  local i list=()
  for i in $(kafka_nodes); do list+=("127.0.0.1:$(node_port "$i")"); done
  (IFS=,; echo "${list[*]}")
}
kafka_running_any() {
  local f
  for f in "$STACK"/kafka.pid "$STACK"/kafka-[0-9].pid; do running_pidfile "$f" && return 0; done
  return 1
}
# The other layout's brokers running in this stack directory (1 broker then 3, or the reverse).
other_layout_running() {
  local f
  if ((BROKERS == 1)); then
    for f in "$STACK"/kafka-[0-9].pid; do running_pidfile "$f" && return 0; done
  else
    running_pidfile "$STACK/kafka.pid" && return 0
  fi
  return 1
}

kafka_props() { # kafka_props NODE
  local i=$1 name dir voters="" j rf min_isr
  name="$(node_name "$i")"; dir="$STACK/$name"
  for j in $(kafka_nodes); do voters="${voters:+$voters,}$j@127.0.0.1:$(node_controller_port "$j")"; done
  # Every partition on up to three brokers; with three, an acknowledged write (acks=all) is on at
  # least two of them, so it survives the death of any one broker, and writes go on while one is away.
  rf=$((BROKERS < 3 ? BROKERS : 3))
  min_isr=$((rf >= 3 ? 2 : 1))
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(node_port "$i"),CONTROLLER://127.0.0.1:$(node_controller_port "$i")
advertised.listeners=PLAINTEXT://127.0.0.1:$(node_port "$i")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=3
default.replication.factor=$rf
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$min_isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$min_isr
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=2097152
auto.create.topics.enable=true
PROPS
  cat >"$dir/log4j2.yaml" <<YAML
Configuration:
  Appenders:
    File:
      name: file
      fileName: "$STACK/logs/$name.log"
      PatternLayout: { pattern: "[%d] %p %m (%c)%n" }
  Loggers:
    Root: { level: INFO, AppenderRef: [{ ref: file }] }
YAML
}

kafka_java() { java -cp "$KAFKA_LIB/*" "$@"; }

node_answers() { # node_answers NODE
  port_open "$(node_port "$1")" && grep -q "Kafka Server started" "$STACK/logs/$(node_name "$1").log"
}
kafka_answers() {
  local i
  for i in $(kafka_nodes); do node_answers "$i" || return 1; done
}

# Every node of a cluster is formatted with the same cluster id: the one a formatted node holds,
# else a new one.
kafka_cluster_id() {
  local i meta id
  for i in $(kafka_nodes); do
    meta="$STACK/$(node_name "$i")/data/meta.properties"
    if [ -f "$meta" ]; then sed -n 's/^cluster.id=//p' "$meta"; return; fi
  done
  # What StorageTool random-uuid prints (16 random bytes, URL-safe base64), without a JVM start.
  id=-
  while [[ $id == -* ]]; do id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"; done
  echo "$id"
}

format_node() { # format_node NODE CLUSTER_ID: write its configuration, format its storage once
  local i=$1 name dir
  name="$(node_name "$i")"; dir="$STACK/$name"
  mkdir -p "$dir/data" "$STACK/logs"
  kafka_props "$i"
  [ -f "$dir/data/meta.properties" ] && return 0
  kafka_java kafka.tools.StorageTool format -t "$2" -c "$dir/server.properties" >"$STACK/logs/$name-format.log" 2>&1
}

start_node() { # start_node NODE: launch one formatted node in the background
  local i=$1 name dir
  name="$(node_name "$i")"; dir="$STACK/$name"
  : >"$STACK/logs/$name.log"
  # A broker keeps several files open per partition; with the default limit of 1024 it shut down
  # ("Too many open files") once the test namespaces' topics passed a few thousand partitions.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true
  nohup java -Xms256m "-Xmx$KAFKA_HEAP" -Dlog4j2.configurationFile="$dir/log4j2.yaml" -cp "$KAFKA_LIB/*" \
    kafka.Kafka "$dir/server.properties" >"$STACK/logs/$name.out" 2>&1 &
  echo $! >"$STACK/$name.pid"
}

# Starts every node that does not run, all at once (a cluster's nodes need a quorum of each other
# to finish starting; formatting in parallel saves a JVM start each), then waits until each
# answers. Also what brings a cluster's dead node back.
start_kafka() {
  local i p name cluster_id down=() formats=()
  other_layout_running && die "Kafka of this stack runs with another number of brokers: scripts/stack.sh stop-kafka first"
  for i in $(kafka_nodes); do
    name="$(node_name "$i")"
    if running_pidfile "$STACK/$name.pid"; then say "$name already running"; continue; fi
    for p in "$(node_port "$i")" "$(node_controller_port "$i")"; do
      port_open "$p" && die "port $p is already taken by another process; free it or set CHITIEU_KAFKA_PORT / CHITIEU_KAFKA_CONTROLLER_PORT"
    done
    down+=("$i")
  done
  cluster_id="$(kafka_cluster_id)"
  for i in "${down[@]}"; do format_node "$i" "$cluster_id" & formats+=($!); done
  for i in "${!formats[@]}"; do
    wait "${formats[$i]}" || die "formatting Kafka storage failed: see $STACK/logs/$(node_name "${down[$i]}")-format.log"
  done
  for i in "${down[@]}"; do start_node "$i"; done
  for i in $(kafka_nodes); do
    # A broker still recovering its log runs but does not answer yet: wait for it as for a new one.
    wait_for "Kafka on 127.0.0.1:$(node_port "$i")" "$WAIT_SECONDS" node_answers "$i" \
      || die "Kafka did not come up within ${WAIT_SECONDS}s: see $STACK/logs/$(node_name "$i").log and .out"
  done
}

stop_kafka() {
  local f
  for f in "$STACK"/kafka.pid "$STACK"/kafka-[0-9].pid; do
    [ -f "$f" ] && stop_pidfile "$(basename "$f" .pid)" "$f"
  done
  return 0
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
  if pid_alive "$pid"; then
    kill "$pid"
    for _ in $(seq 1 60); do pid_alive "$pid" || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    say "$1 stopped"
  fi
  rm -f "$pidfile"
}

# Fail fast, before any install, when a port we need is held by something that is not ours.
check_ports() {
  local p i
  if ! { [ -f "$STACK/redis.pid" ] && kill -0 "$(cat "$STACK/redis.pid")" 2>/dev/null; }; then
    port_open "$REDIS_PORT" && die "port $REDIS_PORT (Redis) is already taken by another process; free it or set CHITIEU_REDIS_PORT"
  fi
  if ! kafka_running_any; then
    for i in $(kafka_nodes); do
      for p in "$(node_port "$i")" "$(node_controller_port "$i")"; do
        port_open "$p" && die "port $p (Kafka) is already taken by another process; free it or set CHITIEU_KAFKA_PORT / CHITIEU_KAFKA_CONTROLLER_PORT"
      done
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
  stop_kafka
  stop_pidfile Redis "$STACK/redis.pid"
  if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    as_postgres "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null && say "PostgreSQL stopped"
  fi
}

cmd_status() {
  local i
  for i in $(kafka_nodes); do
    node_answers "$i" && say "Kafka answers on $(node_port "$i")" || say "Kafka on $(node_port "$i") is down"
  done
  redis_answers && say "Redis answers on $REDIS_PORT" || say "Redis is down"
  pg_answers && say "PostgreSQL answers on $PG_PORT" || say "PostgreSQL is down"
}

# Restart only the brokers (tests use this to prove consumers survive a broker restart).
cmd_restart_kafka() { stop_kafka; start_kafka; write_kafka_env; }

case "${1:-}" in
  install) cmd_install ;;
  env) choose_ports; write_env; cat "$ENV_FILE" ;;
  databases) create_databases ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  restart-kafka) cmd_restart_kafka ;;
  start-kafka) install_kafka; mkdir -p "$STACK/logs"; start_kafka; write_kafka_env ;;
  stop-kafka) stop_kafka ;;
  *) echo "usage: $0 install|start|stop|status|env|databases|restart-kafka|start-kafka|stop-kafka [--brokers N]" >&2; exit 2 ;;
esac
