# Sourced by scripts/demo and scripts/test: create or update .venv at the repo root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
# Re-install only when pyproject.toml changed since the last install.
STAMP=.venv/.installed-$1
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    if [ "$1" = dev ]; then
        .venv/bin/python -m pip install -q -e ".[dev]"
    else
        .venv/bin/python -m pip install -q -e .
    fi
    touch "$STAMP"
fi
