#!/usr/bin/env bash
# Runs the test suite against a private Postgres started here (as an unprivileged user when root)
# and stopped at the end, whatever the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PGDIR=${TEST_PG_DIR:-var/test-postgres}
# A free port unless one is asked for: the default ports may be taken on a shared machine.
PGPORT=${TEST_PG_PORT:-$("$VENV/bin/python" -c "from ycpipeline.serving import free_port; print(free_port())")}

"$VENV/bin/ycpipeline" postgres stop --data-dir "$PGDIR" --port "$PGPORT" >/dev/null 2>&1 || true
rm -rf "$PGDIR"
TEST_WAREHOUSE_URL=$("$VENV/bin/ycpipeline" postgres start --data-dir "$PGDIR" --port "$PGPORT" --database ycpipeline_test) \
  || { echo "could not start the test Postgres on port $PGPORT (set TEST_PG_PORT to another port)"; exit 1; }
export TEST_WAREHOUSE_URL
trap '"$VENV/bin/ycpipeline" postgres stop --data-dir "$PGDIR" --port "$PGPORT" >/dev/null' EXIT

"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"
# The .sql files (the wallet, the triggers, the marts' SELECTs); rules and dialect in .sqlfluff.
"$VENV/bin/sqlfluff" lint ycpipeline deploy
"$VENV/bin/pytest" -n 2 "$@"
