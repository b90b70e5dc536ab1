#!/bin/bash
# TEMPORARY: applies a built bundle to the lab's gateway namespace with the real tools, in the
# order `s2sgw apply` runs its steps. To be replaced by `s2sgw apply --bundle` once the CLI has it.
#
# Usage (in the guest): gateway-by-hand.sh NETNS BUNDLE_DIR RUN_DIR
#   charon (VICI socket RUN_DIR/charon.vici) and FRR (pathspace NETNS) already run in NETNS.
# The PSKs come from the environment (the bundle only names them: env:NAME), as apply does.
set -euo pipefail
n=$1 b=$2 run=$3
step() { echo "gateway-by-hand: $* (uptime $(cut -d' ' -f1 /proc/uptime)s)" >&2; }

# 0. Kernel modules the bundle asks for (apply: modules-load.d). Loaded once for the whole VM.
step modules
modprobe -a $(grep -v '^#' "$b/modules-load.d/s2sgw.conf")

# 1. sysctl: forwarding and friends, before anything carries traffic (net.* is per namespace).
step sysctl
ip netns exec "$n" sysctl -q -p "$b/sysctl/90-s2sgw.conf"

# 2. links: VRFs and VLAN sub-interfaces (the ip-batch twin of netplan/90-s2sgw.yaml), the VXLAN
#    flood entries, then the XFRM interfaces. `ip -batch` stops at the first failing line.
step links
ip -n "$n" -batch "$b/netplan/90-s2sgw.ipbatch"
bridge -n "$n" -batch "$b/netplan/90-s2sgw.fdb"
ip -n "$n" -batch "$b/links.ipbatch"
# WORKAROUND (apply must do the same, see docs/lab.md): FRR 8.4's zebra, running while a VRF and
# its VLAN are created and the address added in one quick batch, can miss the address (seen for
# the second tenant in every run); bgpd then cannot find the session's local interface
# ("nexthop_set failed") and the VRF's BGP stays Idle. Re-announcing the addresses fixes it.
if [ "${DEV:-}" != no-readdress ]; then
  sed -n 's/^address add /address replace /p' "$b/netplan/90-s2sgw.ipbatch" | ip -n "$n" -batch -
fi

# 3. FRR: static routes and BGP per VRF. vtysh -f sends the file's commands to the daemons.
step frr
vtysh -N "$n" -f "$b/frr/frr.conf"

# 4. strongSwan: the bundle's connections plus a secrets block resolved from secrets.refs.
#    Format of a refs line: CONNECTION psk env:NAME id=A id=B
step strongswan
{
  echo "include $b/swanctl/conf.d/*.conf"
  echo "secrets {"
  grep -v '^#' "$b/swanctl/secrets.refs" | while read -r conn kind ref ids; do
    [ "$kind" = psk ] || { step "unsupported secret kind $kind for $conn"; exit 1; }
    case $ref in
      env:*) var=${ref#env:}; secret=${!var:?"$var is not set"} ;;
      file:*) secret=$(cat "${ref#file:}") ;;
    esac
    echo "  ike-$conn {"
    i=0
    for id in $ids; do i=$((i + 1)); echo "    id-$i = ${id#id=}"; done
    echo "    secret = \"$secret\""
    echo "  }"
  done
  echo "}"
} > "$run/swanctl.conf"
chmod 600 "$run/swanctl.conf"
# STRONGSWAN_CONF: the lab charon's own settings, whose swanctl section loads only the plugins
# swanctl needs (loading every installed one costs seconds under emulation).
STRONGSWAN_CONF=$run/strongswan.conf ip netns exec "$n" swanctl --load-all --noprompt --file "$run/swanctl.conf" --uri "unix://$run/charon.vici"

# 5. nftables: one file, one transaction.
step nftables
ip netns exec "$n" nft -f "$b/nftables/s2sgw.nft"

# 6. tc: shaping and policing per XFRM interface.
step tc
ip netns exec "$n" tc -batch "$b/tc/s2sgw.tc"
step done
