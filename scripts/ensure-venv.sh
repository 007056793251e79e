#!/usr/bin/env bash
# Creates or refreshes .venv from the committed lock (python/requirements.lock).
# The venv is rebuilt only when the lock, this script or the interpreter changed: a stamp file
# holds the hash of those inputs, so a second `npm test` costs nothing here.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
UV_VERSION="0.13.9"
LOCK="python/requirements.lock"
STAMP=".venv/.lock-stamp"

want=$( { cat "$LOCK" scripts/ensure-venv.sh pipelines/workloads/pyproject.toml 2>/dev/null; "$PYTHON" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x .venv/bin/python ]; then
  exit 0
fi

echo "ensure-venv: building .venv from $LOCK" >&2
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
# sync = install exactly the lock, removing anything else (a stale venv cannot hide a missing pin).
.venv/bin/uv pip sync --quiet --python .venv/bin/python "$LOCK"
if [ -f pipelines/workloads/pyproject.toml ]; then
  .venv/bin/uv pip install --quiet --python .venv/bin/python --no-deps -e pipelines/workloads
fi
echo "$want" > "$STAMP"
echo "ensure-venv: ready" >&2
