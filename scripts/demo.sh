#!/usr/bin/env bash
# Set up, load the demo schools and run the service on the embedded default (SQLite, no services).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export EXCHANGE_HOME="${EXCHANGE_HOME:-$PWD/instance}"
.venv/bin/exchange db upgrade
.venv/bin/exchange demo
exec .venv/bin/exchange serve "$@"
