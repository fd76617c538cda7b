#!/usr/bin/env bash
# Starts (or stops) every process of the Procfile in the background against the local stack,
# migrates the databases first, waits until each API is ready, loads the demo data and prints
# the URLs, the demo accounts and an administrator's token.
#   scripts/run.sh start|stop|status
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${CHITIEU_STACK_DIR:-$ROOT/.stack}"
RUN="$STACK/run"
export PATH="$ROOT/.venv/bin:$PATH"
cd "$ROOT"
mkdir -p "$RUN" "$STACK/logs"
# The token issuer's private key (the web service and `chitieu token` sign with it; the APIs read
# the public key from the web service's JWKS). Made on the first start, kept afterwards.
export CHITIEU_JWT_PRIVATE_KEY_FILE="${CHITIEU_JWT_PRIVATE_KEY_FILE:-$STACK/keys/jwt-ed25519.pem}"

say() { printf '[run] %s\n' "$*"; }
die() { printf '[run] ERROR: %s\n' "$*" >&2; exit 1; }

processes() { grep -E '^[a-z0-9-]+:' Procfile; }

start() {
  python -m shared.cli keys generate --if-missing "$CHITIEU_JWT_PRIVATE_KEY_FILE" \
    || die "cannot write the token issuer's key $CHITIEU_JWT_PRIVATE_KEY_FILE"
  for svc in web quota candidates notifications; do
    python -m shared.migrations upgrade "$svc" >"$STACK/logs/migrate-$svc.log" 2>&1 \
      || die "migrating the $svc database failed: see $STACK/logs/migrate-$svc.log"
  done
  say "databases migrated"
  while IFS= read -r line; do
    local name="${line%%:*}" cmd="${line#*:}" pidfile="$RUN/${line%%:*}.pid"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then continue; fi
    nohup bash -c "exec $cmd" >"$STACK/logs/$name.log" 2>&1 &
    echo $! >"$pidfile"
  done < <(processes)
  for port in 8000 8001 8002 8003; do
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
  web            http://127.0.0.1:8000   (sign in; accounts API /api/v1, JWKS /.well-known/jwks.json)
  quota          http://127.0.0.1:8001   (API /api/v1, spec /openapi.json)
  candidates     http://127.0.0.1:8002
  notifications  http://127.0.0.1:8003
  logs           $STACK/logs/
$accounts
Administrator token (60 minutes; a new one: make token):
  $token
Try:
  curl -H "Authorization: Bearer \$TOKEN" 'http://127.0.0.1:8001/api/v1/organizations/TP-THANH-HOA/progress?period=2024'
Stop everything with: make stop
MSG
}

stop() {
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
  while IFS= read -r line; do
    local name="${line%%:*}" pidfile="$RUN/${line%%:*}.pid"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then say "$name running"; else say "$name stopped"; fi
  done < <(processes)
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
