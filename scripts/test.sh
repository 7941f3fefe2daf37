#!/usr/bin/env bash
# Runs the test suite against a private Postgres started here (as an unprivileged user when root)
# and stopped at the end, whatever the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PGDIR=${TEST_PG_DIR:-var/test-postgres}
PGPORT=${TEST_PG_PORT:-55439}

rm -rf "$PGDIR"
"$VENV/bin/ycpipeline" postgres stop --data-dir "$PGDIR" --port "$PGPORT" >/dev/null 2>&1 || true
TEST_WAREHOUSE_URL=$("$VENV/bin/ycpipeline" postgres start --data-dir "$PGDIR" --port "$PGPORT" --database ycpipeline_test)
export TEST_WAREHOUSE_URL
trap '"$VENV/bin/ycpipeline" postgres stop --data-dir "$PGDIR" --port "$PGPORT"' EXIT

"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"
"$VENV/bin/pytest" -n 2 "$@"
