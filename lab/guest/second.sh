# The second scenario (issue 7, check 11), applied on top of the example once Woodgrove is removed:
#   Tailspin (lab/second/tenants/tailspin.yaml): its network is VXLAN VNI 5001 from the gateway's underlay
#     address (10.0.0.5 on eth1) to one VTEP; its site authenticates with a certificate from a throwaway
#     CA (lab/host/prepare-example.sh made it with strongSwan's pki) and is reached over IPv6.
#   Litware (lab/second/tenants/litware.yaml): its site dials in with EAP-MSCHAPv2 (the gateway proves
#     itself with its certificate); its prefix is a post-connection route.
# Both tenants use 192.168.0.1/29 again. Sourced by the scenario.
#
#   thost (Tailspin 192.168.0.2, VTEP 10.0.0.20) --untagged, the underlay--+ sw == gw eth1 (10.0.0.5)
#   lhost (Litware 192.168.0.2) ----------------- access port VLAN 4002 ---+
#   gw eth0 2001:db8:ffff::10 -- inet -- tsite 2001:db8:3::10 (Tailspin's site, LAN 10.3.0.0/16)
#   gw eth0 203.0.113.10      -- inet -- lsite 131.107.4.10   (Litware's site, LAN 10.4.0.0/16)

SECOND_ROLES="tsite lsite thost lhost"

second_topology() {
  {
    for s in tsite lsite; do echo "link add eth0 netns $s type veth peer name $s netns inet"; done
    for h in thost lhost; do echo "link add eth0 netns $h type veth peer name $h netns sw"; done
  } | ip -batch -
  # IPv6 outer addresses without duplicate address detection: charon cannot use a tentative address.
  ip -n gw -batch - <<'EOF'
address add 2001:db8:ffff::10/64 dev eth0 nodad
route add ::/0 via 2001:db8:ffff::1
address add 10.0.0.5/24 dev eth1
EOF
  ip -n inet -batch - <<'EOF'
address add 2001:db8:ffff::1/64 dev gw nodad
address add 2001:db8:3::1/64 dev tsite nodad
address add 131.107.4.1/24 dev lsite
link set tsite up
link set lsite up
EOF
  ns inet sysctl -qw net.ipv6.conf.all.forwarding=1
  ip -n tsite -batch - <<'EOF'
link set lo up
link set eth0 up
address add 2001:db8:3::10/64 dev eth0 nodad
route add ::/0 via 2001:db8:3::1
link add lan0 type dummy
address add 10.3.0.1/16 dev lan0
link set lan0 up
EOF
  site_links lsite 131.107.4.10 131.107.4.1 10.4.0.1/16
  # The switch: Litware's host on an access port of VLAN 4002 (tagged on the trunk); Tailspin's VTEP
  # untagged, like the gateway's underlay address on eth1.
  ip -n sw -batch - <<'EOF'
link set thost master br0
link set lhost master br0
link set thost up
link set lhost up
EOF
  bridge -n sw -batch - <<'EOF'
vlan add dev trunk vid 4002
vlan del dev lhost vid 1
vlan add dev lhost vid 4002 pvid untagged
EOF
  ip -n lhost -batch - <<'EOF'
link set lo up
link set eth0 up
address add 192.168.0.2/29 dev eth0
route add default via 192.168.0.1
EOF
  ip -n thost -batch - <<'EOF'
link set lo up
link set eth0 up
address add 10.0.0.20/24 dev eth0
link add vxlan0 type vxlan id 5001 local 10.0.0.20 remote 10.0.0.5 dev eth0 dstport 4789
address add 192.168.0.2/29 dev vxlan0
link set vxlan0 up
route add default via 192.168.0.1
EOF
}

# second_credentials: what an operator and the customers install before the second apply: the gateway's
# identity where gateways/gw1.yaml names it, the provider's root where peer-config's site configs look
# (/etc/swanctl/x509ca/provider-root.pem), Tailspin's site certificate and key, Litware's EAP secret.
second_credentials() {
  local pki=$OUT/pki
  install -d -m 700 /etc/s2sgw/pki /etc/s2sgw/secrets
  install -m 644 "$pki/gw1.pem" /etc/s2sgw/pki/gw1.pem
  install -m 600 "$pki/gw1.key" /etc/s2sgw/pki/gw1.key
  install -m 644 "$pki/ca.pem" /etc/s2sgw/pki/fabrikam-root.pem
  install -D -m 644 "$pki/ca.pem" /etc/swanctl/x509ca/provider-root.pem
  install -D -m 644 "$pki/IfTe1.pem" /etc/swanctl/x509/IfTe1.pem
  # swanctl --file DIR/swanctl.conf loads the site's private keys from DIR/ecdsa/.
  install -D -m 600 "$pki/IfTe1.key" "$RUN/tsite/ecdsa/IfTe1.key"
  printf '%s' "$LITWARE_EAP" > /etc/s2sgw/secrets/litware-ifle1
  chmod 600 /etc/s2sgw/secrets/litware-ifle1
}

# esp_bytes IF_ID: ESP bytes through the gateway's SAs of that if_id, both directions.
esp_bytes() { echo $(($(xfrm_bytes "$1" out) + $(xfrm_bytes "$1" in))); }

check_second() {
  second_credentials
  site_from_peer tsite IfTe1 && load_site_swan tsite IfTe1
  apply_bundle "second: Tailspin (VXLAN, certificate, IPv6) and Litware (EAP) added by s2sgw apply" "$OUT/bundle-second/gw1"
  [ "$APPLY_RC" = 0 ] || return
  # Litware's site dials in as soon as its connection is loaded (peer-config: start_action = start).
  site_from_peer lsite IfLe1 && load_site_swan lsite IfLe1
  local eap
  if wait_until 40 sa_up IfLe1; then
    eap=$(grep -m1 -oE "(EAP method EAP_MSCHAPV2 succeeded|authentication of 'IfLe1' with EAP successful)[^,]*" "$LOGS/charon-gw.log")
    check "second: Litware's site authenticated with EAP-MSCHAPv2" "IfLe1 up after ${WAITED}s; gateway: ${eap:-no EAP success logged}" test -n "$eap"
  else
    fail "second: Litware's site authenticated with EAP-MSCHAPv2" "IfLe1 not up 40 s after the site loaded it: $(grep -E 'EAP|AUTH|auth' "$LOGS/charon-gw.log" | tail -n 2 | tr '\n' ' ')"
  fi
  # Each tenant's summary (its VRF table among it) is a bundle file of its own.
  local sums=$OUT/bundle-second/gw1/summaries
  local t r; t=$(jq -r .vrf.table "$sums/litware.json"); r=$(ns gw ip route show table "$t" 10.4.0.0/16 | head -n 1)
  check "second: Litware's post-connection route is in its VRF while the tunnel is up" "table $t: ${r:-none}" test -n "$r"
  local b0 ok=0 i; b0=$(esp_bytes 4)
  for i in 1 2 3; do ping1 lhost 64 10.4.0.1 && ok=$((ok + 1)); done
  check "second: Litware's host reaches its site through the EAP tunnel" "$ok/3 replies; ESP bytes (if_id 4) $b0 -> $(esp_bytes 4)" test "$ok" -ge 2 -a "$(esp_bytes 4)" -gt "$b0"

  # Tailspin: on demand, so its host's first packets dial it: over IPv6, with certificates. First FRR
  # must have installed the static route into IfTe1 (the trap is reached through it).
  local tt; tt=$(jq -r .vrf.table "$sums/tailspin.json")
  routed_te1() { ns gw ip route show table "$tt" 10.3.0.0/16 | grep -q 'dev IfTe1'; }
  wait_until 30 routed_te1 || note "second: 10.3.0.0/16 not routed into IfTe1 in table $tt 30 s after the apply: $(ns gw ip route show table "$tt" | tr '\n' ';')"
  local rx0 tries=0 start; rx0=$(ns gw cat /sys/class/net/IfTi1/statistics/rx_packets 2> /dev/null || echo 0)
  start=$(now)
  while ! ping1 thost 64 10.3.0.1; do
    tries=$((tries + 1))
    awk -v a="$start" -v b="$(now)" 'BEGIN { exit !(b - a > 40) }' && break
  done
  local out; out=$(ns gw ip xfrm state | awk '/^src / { s = $2; d = $4 } /if_id 0x5$/ { print s " -> " d; exit }')
  local cert; cert=$(grep -m1 -oE "authentication of 'CN=edge.tailspin.example, O=Tailspin Toys' with [A-Z0-9_]+ successful" "$LOGS/charon-gw.log")
  check "second: Tailspin's host dials IfTe1 on demand and gets replies" "route into IfTe1 after ${WAITED}s; first reply after $tries unanswered pings; ESP $(esp_bytes 5) bytes" sa_up IfTe1
  check "second: IfTe1 authenticated the site's certificate" "${cert:-no certificate authentication logged}" test -n "$cert"
  check "second: IfTe1's ESP runs over IPv6 outer addresses" "SA ${out:-none}" test "$out" = "2001:db8:ffff::10 -> 2001:db8:3::10"
  ok=0; for i in 1 2 3; do ping1 thost 64 10.3.0.1 && ok=$((ok + 1)); done
  local rx1; rx1=$(ns gw cat /sys/class/net/IfTi1/statistics/rx_packets 2> /dev/null || echo 0)
  check "second: Tailspin's traffic arrives over VXLAN (IfTi1, VNI 5001)" "$ok/3 replies; IfTi1 received $((rx1 - rx0)) packets" test "$ok" -ge 2 -a $((rx1 - rx0)) -ge "$ok"
  # The same 192.168.0.2 in three tenants now: each reaches only its own site.
  local x=0
  ping1 thost 64 10.1.0.1 && x=$((x + 1)); ping1 thost 64 10.4.0.1 && x=$((x + 1)); ping1 lhost 64 10.3.0.1 && x=$((x + 1)); ping1 lhost 64 10.1.0.1 && x=$((x + 1))
  check "second: Tailspin's and Litware's hosts reach no other tenant's site" "$x/4 replies (Tailspin -> Contoso NY, Litware; Litware -> Tailspin, Contoso NY)" test "$x" = 0
}
