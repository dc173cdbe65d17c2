#!/usr/bin/env bash
# Runs the whole suite on SQLite, then on PostgreSQL when TEST_DATABASE_URL is set or a server
# answers on 127.0.0.1:5432. Fails if either run fails.
set -u
cd "$(dirname "$0")/.."
BIN=.venv/bin
status=0

mkdir -p var
echo "== migrations are in step with the models"
DEBUG=0 $BIN/python manage.py makemigrations --check --dry-run >/dev/null || {
  echo "Models changed without a migration: run manage.py makemigrations"; status=1; }

echo "== tests on SQLite"
DATABASE_URL="sqlite:///var/test-cxcore.sqlite3" $BIN/pytest -q "$@" || status=1

pg_url="${TEST_DATABASE_URL:-}"
if [ -z "$pg_url" ] && $BIN/python - <<'PY' 2>/dev/null
import psycopg
psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3).close()
PY
then
  pg_url="postgres://postgres@127.0.0.1:5432/cxcore"
fi
if [ -n "$pg_url" ]; then
  echo "== tests on PostgreSQL ($pg_url)"
  DATABASE_URL="$pg_url" $BIN/pytest -q "$@" || status=1
else
  echo "== PostgreSQL: no server on 127.0.0.1:5432 and no TEST_DATABASE_URL; skipped"
fi
exit $status
