#!/usr/bin/env bash
# Checks Cargo.lock against the RustSec advisory database, offline: the
# snapshot the workplace keeps beside the project (SHOPFLOW_ADVISORY_DB, or
# ../shared/advisory-db beside this checkout or beside the checkout it was
# cloned from). Fails on any vulnerability, and on any warning (unmaintained,
# unsound, yanked) not allowed, with its reason, in .cargo/audit.toml.
# cargo-audit is installed once, pinned, under .cache/.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cache="${SHOPFLOW_CACHE_DIR:-$repo/.cache}"
version="0.22.0"
tools="$cache/tools"
audit="$tools/bin/cargo-audit"

log() { printf '[audit] %s\n' "$*" >&2; }

if [[ ! -x "$audit" || "$("$audit" --version 2>/dev/null)" != "cargo-audit $version" ]]; then
  log "installing cargo-audit $version into $tools (once; about 4 minutes on 2 cores)"
  cargo install --quiet --locked --version "$version" --root "$tools" cargo-audit
fi

candidates=("${SHOPFLOW_ADVISORY_DB:-}" "$repo/../shared/advisory-db")
origin="$(git -C "$repo" remote get-url origin 2>/dev/null || true)"
[[ -d "$origin" ]] && candidates+=("$origin/../shared/advisory-db")
db=""
for candidate in "${candidates[@]}"; do
  if [[ -n "$candidate" && -d "$candidate/crates" ]]; then db="$candidate"; break; fi
done
if [[ -z "$db" ]]; then
  log "WARNING: no RustSec snapshot found (set SHOPFLOW_ADVISORY_DB); the dependency audit did not run"
  exit 0
fi
cd "$repo"
"$audit" audit --db "$db" --no-fetch --stale --deny warnings
