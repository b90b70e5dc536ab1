#!/bin/bash
# VRRP timing on this host (docs/ha.md, "Failover"): two real keepalived daemons (VRRPv3, as s2sgw renders them:
# priorities 150 and 100, state BACKUP on both) in two network namespaces, each linked by a veth to a bridge in a third
# (as the lab's trunks: the active's link going down leaves the standby's up).
#   1. false failovers: for HOLD seconds both run; every state change after the start is counted (the standby
#      becoming MASTER while the active runs is a false failover: adverts late under load);
#   2. takeover: N times, the active's link goes down; the time until the standby holds the shared address
#      (polled every 10 ms), then the link comes back and the active takes the address back.
# Usage: sudo scripts/vrrp-bench.sh ADVERT_INT [N] [HOLD]     e.g. scripts/vrrp-bench.sh 0.5 5 60
# Prints one line: advert_int, takeovers (min/median/max s), false state changes in HOLD s, load.
set -u
adv=${1:?advert_int in seconds, e.g. 0.5}
n=${2:-5}
hold=${3:-60}
tag=vb$$
dir=$(mktemp -d /tmp/vrrp-bench-XXXXXX)
cleanup() {
  for p in "$dir"/*.kpid; do [ -e "$p" ] && kill "$(cat "$p")" 2> /dev/null; done
  sleep 0.5
  ip netns del "$tag-a" 2> /dev/null
  ip netns del "$tag-b" 2> /dev/null
  ip netns del "$tag-sw" 2> /dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
ip netns add "$tag-a" && ip netns add "$tag-b" && ip netns add "$tag-sw" || exit 1
ip -n "$tag-sw" link add br0 type bridge
ip -n "$tag-sw" link set br0 up
for x in a b; do
  ip link add "v$x" netns "$tag-$x" type veth peer name "s$x" netns "$tag-sw"
  ip -n "$tag-sw" link set "s$x" master br0
  ip -n "$tag-sw" link set "s$x" up
done
ip -n "$tag-a" address add 10.99.0.2/24 dev va
ip -n "$tag-b" address add 10.99.0.3/24 dev vb
ip -n "$tag-a" link set va up
ip -n "$tag-b" link set vb up
for s in a:150 b:100; do
  node=${s%:*} prio=${s#*:}
  cat > "$dir/$node.conf" << EOF
global_defs {
  router_id bench-$node
  vrrp_version 3
  enable_script_security
  script_user root
}
vrrp_instance t {
  state BACKUP
  interface v$node
  virtual_router_id 51
  priority $prio
  advert_int $adv
  virtual_ipaddress {
    10.99.0.1/24 dev v$node
  }
}
EOF
  ip netns exec "$tag-$node" keepalived -n -l -D --vrrp -f "$dir/$node.conf" -p "$dir/$node.pid" -r "$dir/$node.vpid" > "$dir/$node.log" 2>&1 &
  echo $! > "$dir/$node.kpid"
done
has_vip() { ip -n "$tag-$1" -br address show "v$1" | grep -q ' 10\.99\.0\.1/24'; }
wait_vip() { local i; for ((i = 0; i < $2 * 100; i++)); do has_vip "$1" && return 0; sleep 0.01; done; return 1; }
wait_vip a 20 || { echo "the active never held the address"; cat "$dir"/a.log; exit 1; }
sleep 2
changes() { grep -c 'Entering .* STATE' "$dir/$1.log"; }
a0=$(changes a) b0=$(changes b)
sleep "$hold"
false_changes=$(($(changes a) - a0 + $(changes b) - b0))
times=()
for ((k = 0; k < n; k++)); do
  t0=$EPOCHREALTIME
  ip -n "$tag-a" link set va down
  if wait_vip b 10; then times+=("$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"); else times+=(none); fi
  ip -n "$tag-a" link set va up
  wait_vip a 20 || { echo "the active did not take the address back"; exit 1; }
  sleep 2
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
echo "advert_int $adv: takeover after link down (s): $sorted(min/median/max $(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { printf "%s/%s/%s", v[1], v[int((NR + 1) / 2)], v[NR] }')); state changes while both ran ${hold} s: $false_changes; load $(cut -d' ' -f1-3 /proc/loadavg)"
