#!/usr/bin/env bash
# CI: requirements.txt alone is a complete runtime (issue 15, item 6). Builds a virtualenv with only
# the runtime requirements (pip reuses its cache) and runs .ci/runtime_uploads.py in it: a safetensors,
# a pickle, a CSV and a Parquet upload processed by the pipeline on a temporary embedded hub.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${RUNTIME_VENV:-var/ci-runtime-venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ] || [ requirements.txt -nt "$VENV/.installed" ]; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet -r requirements.txt
  touch "$VENV/.installed"
fi
"$VENV/bin/python" .ci/runtime_uploads.py
