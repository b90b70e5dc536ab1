#!/usr/bin/env bash
# Starts three simulated gateway hosts on this machine (gw-a, gw-b, gw-c), each in its own network namespace with its
# own charon (private VICI socket) and FRR (zebra, staticd, bgpd with their own pathspace) and its own --root folder,
# as the apply tests do (src/apply/sandbox.ts); builds and signs their bundles (v1, v2, v3); installs them with the
# `install` role; and puts release v1 on each. Needs root, the built checkout (npm ci) and Debian's ansible.
# State goes to $S2SGW_SANDBOX (default ./state); teardown.sh stops everything and removes it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
state="${S2SGW_SANDBOX:-$here/state}"
gateways=(gw-a gw-b gw-c)
quiet=(certexpire dhcp error-notify farp ha led lookip pkcs11 resolve tpm)

[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (network namespaces, charon, FRR)" >&2; exit 1; }
[ -e "$state" ] && { echo "setup.sh: $state exists; run teardown.sh first" >&2; exit 1; }
for b in ip charon-systemd zebra staticd bgpd swanctl vtysh ansible-playbook ssh-keygen node; do
  command -v "$b" >/dev/null || [ -x "/usr/lib/frr/$b" ] || [ -x "/usr/sbin/$b" ] || { echo "setup.sh: $b not found" >&2; exit 1; }
done
export PATH="$PATH:/usr/lib/frr:/usr/sbin"
mkdir -p "$state/bin" "$state/collections/ansible_collections/s2sgw"
ln -s "$repo/ansible" "$state/collections/ansible_collections/s2sgw/gateway"
# The hosts' s2sgw: this checkout's.
printf '#!/bin/sh\nexec %q %q "$@"\n' "$(command -v node)" "$repo/bin/s2sgw.js" >"$state/bin/s2sgw"
chmod 755 "$state/bin/s2sgw"
id="$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"

for g in "${gateways[@]}"; do
  d="$state/$g"
  root="$d/root"
  ns="s2sgw-sbx-$id-$g"
  mkdir -p "$root/etc/swanctl/conf.d" "$root/etc/strongswan.d" "$root/run"
  echo "$ns" >"$d/netns"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # Stand-ins for the XFRM devices the fixture bundles shape with tc.
  for l in IfCe1 IfWe1 IfWe2; do ip -n "$ns" link add "$l" type veth peer name "${l}p"; done
  ip netns exec "$ns" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  printf 'include %s/*.conf\n' "$root/etc/swanctl/conf.d" >"$root/etc/swanctl/swanctl.conf"
  {
    echo 'charon {'
    echo '  load_modular = yes'
    echo '  install_routes = no'
    printf '  filelog {\n    log {\n      path = %s\n      default = 1\n      flush_line = yes\n    }\n  }\n' "$d/charon.log"
    echo '  plugins {'
    echo '    include /etc/strongswan.d/charon/*.conf'
    printf '    vici {\n      socket = unix://%s\n    }\n' "$root/run/charon.vici"
    for p in "${quiet[@]}"; do printf '    %s {\n      load = no\n    }\n' "$p"; done
    echo '  }'
    echo '}'
    printf 'charon-systemd {\n  journal {\n    default = -1\n  }\n}\n'
    echo "include $root/etc/strongswan.d/*.conf"
  } >"$root/etc/strongswan.conf"
  STRONGSWAN_CONF="$root/etc/strongswan.conf" setsid ip netns exec "$ns" charon-systemd </dev/null >/dev/null 2>&1 &
  echo $! >"$d/charon.pid"
  rundir="/run/frr/$ns"
  mkdir -p "$rundir"
  chown frr:frr "$rundir" 2>/dev/null || true
  for daemon in zebra staticd bgpd; do
    ip netns exec "$ns" "$(command -v $daemon)" -N "$ns" -d -f /dev/null -i "$rundir/$daemon.pid" 2>>"$d/frr.log"
  done
done
for g in "${gateways[@]}"; do
  for _ in $(seq 200); do [ -S "$state/$g/root/run/charon.vici" ] && break; sleep 0.05; done
  [ -S "$state/$g/root/run/charon.vici" ] || { echo "setup.sh: charon of $g did not open its VICI socket" >&2; exit 1; }
done

# CI's signing key; the hosts trust it (the install role writes it to allowed_signers).
ssh-keygen -q -t ed25519 -N '' -C ci@sandbox -f "$state/ci-key"
cd "$here"
export S2SGW_SANDBOX="$state" ANSIBLE_COLLECTIONS_PATH="$state/collections"
# The install role and the bundles at once (they need nothing of each other).
ansible-playbook -i inventory.yml install.yml >"$state/install.log" 2>&1 &
install=$!
node "$here/bundles.js" "$state/bundles" "$state/ci-key" "${gateways[@]}"
wait "$install" || { cat "$state/install.log" >&2; exit 1; }
# Release v1 on every host, straight through s2sgw: the rollouts start from it.
pids=()
for g in "${gateways[@]}"; do
  ns="$(cat "$state/$g/netns")"
  CONTOSO_PSK=contoso-psk-0123456789-abcdef "$state/bin/s2sgw" apply --bundle "$state/bundles/v1/$g" \
    --root "$state/$g/root" --netns "$ns" --vici "unix://$state/$g/root/run/charon.vici" --frr-pathspace "$ns" --skip links,vrf 2>"$state/$g/setup.log" &
  pids+=($!)
done
for i in "${!pids[@]}"; do wait "${pids[$i]}" || { cat "$state/${gateways[$i]}/setup.log" >&2; exit 1; }; done
echo "sandbox up: ${gateways[*]} in $state (bundles: $state/bundles/{v1,v2,v3})"
