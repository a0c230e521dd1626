#!/usr/bin/env bash
# Set up, load the demo schools and run the service on the embedded default (SQLite, no services).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export EXCHANGE_HOME="${EXCHANGE_HOME:-$PWD/instance}"

# The two demo schools reach each other at the address served, so an offer between them
# arrives whatever --host or --port is given (unless EXCHANGE_PUBLIC_URL says otherwise).
host=127.0.0.1
port=8000
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --host) host="${args[i + 1]:-$host}" ;;
    --host=*) host="${args[i]#--host=}" ;;
    --port) port="${args[i + 1]:-$port}" ;;
    --port=*) port="${args[i]#--port=}" ;;
  esac
done
export EXCHANGE_PUBLIC_URL="${EXCHANGE_PUBLIC_URL:-http://$host:$port}"

.venv/bin/exchange db upgrade
.venv/bin/exchange demo
exec .venv/bin/exchange serve "$@"
