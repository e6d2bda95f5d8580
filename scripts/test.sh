#!/usr/bin/env bash
# Install poise with its development tools into .venv, then run every check:
# ruff (lint), ruff format --check, mypy, and the whole pytest suite. Fails on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev,service,dask,alpaca,fast]"
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
