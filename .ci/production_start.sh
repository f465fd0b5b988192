#!/usr/bin/env bash
# CI: README's production-like start, run verbatim on a fresh PostgreSQL database: the block after
# "<!-- ci: production start" in README.md (check --deploy, migrate, setup, collectstatic, a Celery worker,
# beat and gunicorn on a free local port). Then proves the start works through the API: a token for the
# admin that setup created, a model with "license": "mit", an upload the worker marks ready, its download.
# Stops everything it started and drops the database, also on failure. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

DB=${OMH_PRODSTART_DB:-omh_prodstart}
PG=postgres://postgres@127.0.0.1:5432
REDIS=${OMH_PRODSTART_REDIS:-redis://127.0.0.1:6379/6}
PY=.venv/bin/python
WORK=$(mktemp -d /tmp/omh-prodstart.XXXXXX)
LOG=$WORK/hub.log
HUB_PID=

fail() { echo "production start: FAILED: $*"; echo "--- last lines of the hub's output ---"; tail -n 60 "$LOG" || true; exit 1; }

cleanup() {
  if [ -n "$HUB_PID" ] && kill -0 "$HUB_PID" 2>/dev/null; then
    kill -TERM -- "-$HUB_PID" 2>/dev/null || true   # the process group started below: gunicorn, worker, beat
    for _ in $(seq 20); do kill -0 -- "-$HUB_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$HUB_PID" 2>/dev/null || true
  fi
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

block=$(awk '/<!-- ci: production start/ {found=1; next} found && /^```sh/ {inside=1; next}
             inside && /^```/ {exit} inside {print}' README.md)
[ -n "$block" ] || fail "no production start block in README.md"
grep -q "gunicorn" <<<"$block" || fail "README's production start does not start gunicorn"

psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
psql -q "$PG/postgres" -c "CREATE DATABASE $DB" >/dev/null
redis-cli -u "$REDIS" flushdb >/dev/null
PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

export DATABASE_URL="$PG/$DB" REDIS_URL="$REDIS" OMH_VAR_DIR="$WORK/var"
export SECRET_KEY=$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')
export DEBUG=0 ALLOWED_HOSTS=hub.example.org SECURE_SSL_REDIRECT=1 SECURE_HSTS_SECONDS=31536000 SECURE_PROXY_SSL_HEADER=1
export OMH_MASTER_KEYS=$($PY manage.py rotate_master_key --new-key)
export OMH_AUDIT_CHECKPOINT_KEY=$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')
export OMH_ADMIN_USERNAME=admin OMH_ADMIN_PASSWORD=$($PY -c 'import secrets; print(secrets.token_urlsafe(16))')
export GUNICORN_CMD_ARGS="--bind 127.0.0.1:$PORT"
unset CELERY_TASK_ALWAYS_EAGER CELERY_BEAT_SCHEDULE_FILENAME

started=$(date +%s)
echo "production start: README's block on database $DB, gunicorn on port $PORT"
setsid bash -e -c "$block" >"$LOG" 2>&1 </dev/null &
HUB_PID=$!

# The way in: behind a TLS proxy on hub.example.org (SECURE_SSL_REDIRECT, SECURE_PROXY_SSL_HEADER).
api() { curl -sS -H "Host: hub.example.org" -H "X-Forwarded-Proto: https" "$@"; }
BASE="http://127.0.0.1:$PORT/api/v1"

for _ in $(seq 240); do
  kill -0 "$HUB_PID" 2>/dev/null || fail "README's commands stopped before gunicorn answered"
  [ "$(api -o /dev/null -w '%{http_code}' "$BASE/tasks/" 2>/dev/null)" = 200 ] && break
  sleep 0.5
done
[ "$(api -o /dev/null -w '%{http_code}' "$BASE/tasks/")" = 200 ] || fail "gunicorn did not answer within 2 minutes"
echo "production start: serving after $(( $(date +%s) - started )) s"

TOKEN=$($PY manage.py shell --no-imports -c "
from accounts.models import User
from accounts.services import create_api_token
print(create_api_token(user=User.objects.get(username='admin', is_superuser=True), name='ci', scope='write')[1])" | tail -n1)
H="Authorization: Bearer $TOKEN"

created=$(api -H "$H" -H "Content-Type: application/json" -w '\n%{http_code}' -X POST "$BASE/models/" \
  -d '{"name": "prodstart", "license": "mit", "media": ["text"], "tasks": ["text-generation"]}')
[ "$(tail -n1 <<<"$created")" = 201 ] || fail "creating a model with licence mit: $created"
head -n1 <<<"$created" | $PY -c 'import json, sys; m = json.load(sys.stdin); assert m["license"] == "mit" and m["media"] == ["text"], m' \
  || fail "the created model lost its licence or media: $created"

$PY -c 'import json, os; print(json.dumps({"hidden_size": 64, "seed": os.urandom(8).hex()}))' >"$WORK/config.json"
uploaded=$(api -H "$H" -w '\n%{http_code}' -F "file=@$WORK/config.json" -F path=config.json "$BASE/models/admin/prodstart/files/")
case "$(tail -n1 <<<"$uploaded")" in 201|202) ;; *) fail "upload: $uploaded" ;; esac

status=
for _ in $(seq 120); do
  status=$(api -H "$H" "$BASE/models/admin/prodstart/versions/config.json" | $PY -c 'import json, sys; print(json.load(sys.stdin)[0]["status"])')
  [ "$status" = ready ] && break
  [ "$status" = rejected ] && fail "the worker rejected the upload"
  sleep 0.5
done
[ "$status" = ready ] || fail "the worker did not mark the upload ready within a minute (status: $status)"

api -H "$H" -o "$WORK/downloaded.json" -f "$BASE/models/admin/prodstart/resolve/config.json" || fail "download"
cmp -s "$WORK/config.json" "$WORK/downloaded.json" || fail "the downloaded file differs from the uploaded one"

grep -q "beat: Starting" "$LOG" || fail "celery beat did not start"
ls "$OMH_VAR_DIR"/celerybeat-schedule* >/dev/null 2>&1 || fail "beat's schedule file is not under OMH_VAR_DIR"
! ls celerybeat-schedule* >/dev/null 2>&1 || fail "beat wrote its schedule file into the checkout"
grep -q "openmodelhub.W001" "$LOG" && fail "check --deploy warns about the master keys although OMH_MASTER_KEYS is set"
grep -q "openmodelhub.W002" "$LOG" && fail "check --deploy warns about the audit checkpoint key although it is set"

echo "production start: OK in $(( $(date +%s) - started )) s (token, model with licence mit, upload ready, download identical)"
