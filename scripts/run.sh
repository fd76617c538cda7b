#!/usr/bin/env bash
# Starts (or stops) every process of the Procfile under supervisord against the local stack,
# migrates the databases first, waits until each API is ready, loads the demo data and prints
# the URLs, the demo accounts and an administrator's token.
#   scripts/run.sh start|stop|status|logs
# supervisord (scripts/supervise.py writes its configuration from the Procfile) restarts a
# process that dies; each process logs to $STACK/logs/<name>.log and `logs` follows them all.
# The databases are PostgreSQL's (chitieu_web, chitieu_quota, ...) on the stack's server.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${CHITIEU_STACK_DIR:-$ROOT/.stack}"
RUN="$STACK/run"
export PATH="$ROOT/.venv/bin:$PATH"
cd "$ROOT"
mkdir -p "$RUN" "$STACK/logs"
# The stack's ports and what follows from them (scripts/stack.sh writes $STACK/env); a setting
# already in the environment wins, and without the file the stack's default ports apply.
. "$ROOT/scripts/stack-env.sh"
load_stack_env "$STACK"
PG_URL="${CHITIEU_PG_URL:-postgresql+psycopg://chitieu:chitieu@127.0.0.1:${CHITIEU_PG_PORT:-5432}}"
export CHITIEU_KAFKA_BOOTSTRAP="${CHITIEU_KAFKA_BOOTSTRAP:-127.0.0.1:${CHITIEU_KAFKA_PORT:-9092}}"
export CHITIEU_REDIS_URL="${CHITIEU_REDIS_URL:-redis://127.0.0.1:${CHITIEU_REDIS_PORT:-6379}/0}"
API_PORTS=()
for pair in web:8000 quota:8001 candidates:8002 notifications:8003; do
  svc="${pair%%:*}" SVC="$(tr a-z A-Z <<<"${pair%%:*}")"
  db="CHITIEU_${SVC}_DATABASE_URL" bind="CHITIEU_${SVC}_BIND" url="CHITIEU_${SVC}_URL"
  export "$db=${!db:-$PG_URL/chitieu_$svc}"
  export "$bind=${!bind:-127.0.0.1:${pair##*:}}"
  host="${!bind%:*}"; [ "$host" = 0.0.0.0 ] && host=127.0.0.1
  export "$url=${!url:-http://$host:${!bind##*:}}"
  API_PORTS+=("${!bind##*:}")
done
export CHITIEU_JWKS="${CHITIEU_JWKS:-$CHITIEU_WEB_URL/.well-known/jwks.json}"
# A worker whose loop stalls this long exits, and supervisord starts it again.
export CHITIEU_WORKER_STALL_S="${CHITIEU_WORKER_STALL_S:-300}"
CONF="$RUN/supervisord.conf"
# The token issuer's private key (the web service and `chitieu token` sign with it; the APIs read
# the public key from the web service's JWKS). Made on the first start, kept afterwards.
export CHITIEU_JWT_PRIVATE_KEY_FILE="${CHITIEU_JWT_PRIVATE_KEY_FILE:-$STACK/keys/jwt-ed25519.pem}"

say() { printf '[run] %s\n' "$*"; }
die() { printf '[run] ERROR: %s\n' "$*" >&2; exit 1; }

processes() { grep -E '^[a-z0-9-]+:' Procfile; }
supervisor_running() { [ -f "$RUN/supervisord.pid" ] && kill -0 "$(cat "$RUN/supervisord.pid")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  python -m shared.cli keys generate --if-missing "$CHITIEU_JWT_PRIVATE_KEY_FILE" \
    || die "cannot write the token issuer's key $CHITIEU_JWT_PRIVATE_KEY_FILE"
  CHITIEU_PG_PORT="${PG_URL##*:}" bash scripts/stack.sh databases >/dev/null \
    || die "cannot create the service databases on PostgreSQL at ${PG_URL##*@}: is the stack up (make stack)?"
  for svc in web quota candidates notifications; do
    python -m shared.migrations upgrade "$svc" >"$STACK/logs/migrate-$svc.log" 2>&1 \
      || die "migrating the $svc database failed: see $STACK/logs/migrate-$svc.log"
  done
  say "databases migrated"
  python -m scripts.supervise "$STACK" >"$CONF.tmp" && mv "$CONF.tmp" "$CONF"
  if supervisor_running; then
    supervisorctl -c "$CONF" update >/dev/null && supervisorctl -c "$CONF" start all >/dev/null || true
    say "supervisord was running: the Procfile's processes are up"
  else
    for port in "${API_PORTS[@]}"; do
      port_open "$port" && die "port $port is already taken by another program; free it or set CHITIEU_*_BIND"
    done
    supervisord -c "$CONF" || die "supervisord did not start: see $STACK/logs/supervisord.log"
    say "supervisord started the Procfile's processes (restarted if they die; make logs follows them)"
  fi
  for port in "${API_PORTS[@]}"; do
    local deadline=$((SECONDS + 60))
    until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
      if ((SECONDS >= deadline)); then
        curl -sS "http://127.0.0.1:$port/readyz" || true
        die "the service on port $port is not ready after 60s: see $STACK/logs/*-api.log"
      fi
      sleep 0.5
    done
  done
  say "all services ready"
  python -m scripts.demo || die "loading the demo data failed"
  local token
  token="$(python -m shared.cli token --sub admin --org '*' --role admin)"
  local accounts
  accounts="$(python -m services.web.demo)"
  cat <<MSG

chitieu is running.
  web            $CHITIEU_WEB_URL   (sign in; accounts API /api/v1, JWKS /.well-known/jwks.json)
  quota          $CHITIEU_QUOTA_URL   (API /api/v1, spec /openapi.json)
  candidates     $CHITIEU_CANDIDATES_URL
  notifications  $CHITIEU_NOTIFICATIONS_URL
  databases      PostgreSQL ${PG_URL##*@}/chitieu_{web,quota,candidates,notifications}
  logs           $STACK/logs/ (make logs follows them; make status shows each process)
$accounts
Administrator token (60 minutes; a new one: make token):
  $token
Try:
  curl -H "Authorization: Bearer \$TOKEN" '$CHITIEU_QUOTA_URL/api/v1/organizations/TP-THANH-HOA/progress?period=2024'
Stop everything with: make stop
MSG
}

stop() {
  if supervisor_running; then
    local pid; pid="$(cat "$RUN/supervisord.pid")"
    supervisorctl -c "$CONF" shutdown >/dev/null || kill -TERM "$pid"
    for _ in $(seq 1 160); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    say "supervisord and its processes stopped"
  fi
  # Processes an older run.sh started with nohup, one pid file each.
  for pidfile in "$RUN"/*.pid; do
    [ -f "$pidfile" ] || continue
    local pid; pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL "$pid" 2>/dev/null || true
      say "$(basename "$pidfile" .pid) stopped"
    fi
    rm -f "$pidfile"
  done
}

status() {
  if supervisor_running; then
    supervisorctl -c "$CONF" status || true  # exits 3 when a process is not running
  else
    say "supervisord is not running: nothing of the Procfile runs (make run starts it)"
  fi
}

# Every process's log, followed, one stream, each line prefixed with its process (Ctrl-C ends).
logs() {
  local names=() name
  while IFS= read -r line; do names+=("${line%%:*}"); done < <(processes)
  for name in "${names[@]}"; do
    tail -n 20 -F "$STACK/logs/$name.log" 2>/dev/null | sed -u "s/^/$(printf '%-22s' "$name") | /" &
  done
  wait
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  logs) logs ;;
  # Any command with the settings make run's processes get (the Makefile's bench, token, backup).
  exec) shift; exec "$@" ;;
  *) echo "usage: $0 start|stop|status|logs|exec COMMAND..." >&2; exit 2 ;;
esac
