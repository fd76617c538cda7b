#!/usr/bin/env bash
# The whole test suite against the stack that scripts/stack.sh started (make test runs both).
# Database tests run on SQLite and on PostgreSQL (CHITIEU_TEST_DATABASES).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# The stack's ports and URLs (scripts/stack.sh start writes them), for the tests (tests/support.py).
. "$ROOT/scripts/stack-env.sh"
load_stack_env "${CHITIEU_STACK_DIR:-$ROOT/.stack}"
export CHITIEU_TEST_DATABASES="${CHITIEU_TEST_DATABASES:-sqlite,postgresql}"
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" = 5 ]; then echo "no tests were collected" >&2; fi
exit "$rc"
