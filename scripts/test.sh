#!/usr/bin/env bash
# Set up and run the whole test suite (SQLite and an embedded broker unless told otherwise).
#   EXCHANGE_TEST_DATABASE_URL=postgresql://...  runs it on PostgreSQL
#   EXCHANGE_TEST_BROKER_URL=redis://...         runs the Celery tests on Redis
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
