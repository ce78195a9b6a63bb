#!/usr/bin/env bash
# Runs a command until the process that asked for it goes away, so an
# emulator never outlives the local stack or test binary that started it.
# usage: tether.sh PARENT_PID COMMAND [ARGS...]
set -u
parent="$1"
shift
"$@" &
child=$!
trap 'kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do
  sleep 0.5
done
kill "$child" 2>/dev/null
wait "$child" 2>/dev/null
