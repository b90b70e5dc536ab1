#!/usr/bin/env bash
# Stops the sandbox setup.sh started (charon, FRR, namespaces) and removes its state folder.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state="${S2SGW_SANDBOX:-$here/state}"
[ -d "$state" ] || exit 0
for d in "$state"/gw-*; do
  [ -f "$d/netns" ] || continue
  ns="$(cat "$d/netns")"
  pids=()
  [ -f "$d/charon.pid" ] && pids+=("$(cat "$d/charon.pid")")
  for f in /run/frr/"$ns"/*.pid; do [ -f "$f" ] && pids+=("$(cat "$f")"); done
  # Every process still in the namespace (charon runs under `ip netns exec`, its pid file names that wrapper).
  pids+=($(ip netns pids "$ns" 2>/dev/null))
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
  rm -rf "/run/frr/$ns"
done
rm -rf "$state"
