# Issue 15: a device named like a tenant's interface that s2sgw did not create. The apply that would add that
# tenant is refused before anything changes, naming the device and the tenant line, and the device keeps its
# addresses, master and state. Runs before `second`, whose bundle adds Litware and Tailspin. Sourced.

# foreign_state: the foreign devices as the kernel describes them (name, kind, master, group, state, addresses).
foreign_state() {
  local d
  for d in IfLi1 tailspin; do
    ns gw ip -d -j address show dev "$d" 2> /dev/null \
      | jq -c '.[] | {ifname, master, group, operstate, flags, kind: .linkinfo.info_kind, table: .linkinfo.info_data.table, addr: [.addr_info[] | select(.family == "inet") | "\(.local)/\(.prefixlen)"]}'
  done
}

check_foreign_device() {
  # A VRF of the host's own named like Tailspin's VRF, and a dummy enslaved to it named like Litware's network
  # interface (addressed, up): neither is in s2sgw's link group or the release the host runs. No bridge: its
  # timers move in `ip -d link show`; no IPv6 link-local addresses: their DAD would move the snapshot.
  ip -n gw -batch - <<'EOF2'
link add tailspin type vrf table 4242
link add IfLi1 type dummy
link set dev IfLi1 addrgenmode none
link set dev tailspin addrgenmode none
link set IfLi1 master tailspin
address add 198.51.100.7/24 dev IfLi1
link set tailspin up
link set IfLi1 up
EOF2
  # What the second check installs too: bundle-second's certificate and EAP connections need them at apply.
  second_credentials
  local before state0; before=$(snapshot) state0=$(foreign_state)
  apply_quiet "$OUT/bundle-second/gw1"
  local rc=$APPLY_RC why detail
  why=$(grep -m1 -oE 'step ownership: [^|]*' "$APPLY_LOG.last" | cut -c1-200)
  detail=$(grep -oE '\| (IfLi1|tailspin) \(.*' "$APPLY_LOG.last" | tr '\n' ' ')
  check "foreign-device: the apply that would take over a host's dummy and VRF named like tenant interfaces is refused" "exit $rc: ${why:-no message}" \
    test "$rc" = 1 -a -n "$why"
  check "foreign-device: the refusal names each device and its tenant line" "${detail:-none}" \
    grep -q 'IfLi1 (dummy, master tailspin, group 0): tenant litware, network interface IfLi1 (tenants/litware.yaml:8)' "$APPLY_LOG.last"
  check "foreign-device: the refusal names the VRF and its tenant line" "$(grep -c 'tailspin (vrf, no master, group 0): tenant tailspin, VRF tailspin' "$APPLY_LOG.last") line" \
    grep -q 'tailspin (vrf, no master, group 0): tenant tailspin, VRF tailspin (tenants/tailspin.yaml:' "$APPLY_LOG.last"
  local after state1; after=$(snapshot) state1=$(foreign_state)
  local diff; diff=$(diff <(echo "$before") <(echo "$after") | awk '/^>/ { printf "%s ", $2 }')
  check "foreign-device: the refused apply left the host unchanged" "${diff:+changed: }${diff:-nft, links, addresses, routes, FRR, conns, qdiscs, tc filters, current, live files identical}" test -z "$diff"
  check "foreign-device: the devices keep their addresses, master and state" "$(echo "$state1" | jq -r '"\(.ifname) \(.kind) master=\(.master // "-") \(.operstate) \(.addr | join(","))"' | tr '\n' ';')" \
    test -n "$state0" -a "$state0" = "$state1" -a -n "$(echo "$state1" | grep '"master":"tailspin".*198.51.100.7/24')"
  # The host's devices go, so the checks after this one meet the host they expect.
  ip -n gw -batch - <<'EOF2'
link del IfLi1
link del tailspin
EOF2
}
