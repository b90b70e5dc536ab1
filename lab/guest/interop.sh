# Interoperability (issue 22, check `interop`), applied on top of the second scenario: one tenant, Adatum
# (lab/interop/tenants/adatum.yaml, same 192.168.0.1/29 again), whose sites do not look like the others:
#   asite  131.107.5.10     libreswan, policy-based (narrowing=no, as peer-config writes it), LANs
#                           10.5.0.0/16 and 172.16.5.0/24 (two CHILD_SAs), BGP over the tunnel
#   bsite  131.107.6.10     libreswan, policy-based, the site narrowing (narrowing=yes: the lab's one edit)
#   nsite  192.168.100.10   strongSwan behind `nat`, a masquerading router at 131.107.7.10; the gateway
#                           knows it by its public address and its private identity (remoteId); it dials
#                           in (respond-only on the gateway), and NAT-T moves IKE and ESP to UDP 4500
#   ahost  192.168.0.2      Adatum's host, access port VLAN 4003
# libreswan runs from the Debian package unpacked on the host (lab/libreswan.sh; it conflicts with the
# strongSwan the rest of the lab uses): one pluto per site with its own ipsec.conf, ipsec.secrets, NSS
# database and run folder, configured by `s2sgw peer-config --format libreswan`. Sourced by the scenario.

ROLES="$ROLES asite bsite nsite nat ahost"
LIBRESWAN=$OUT/libreswan
export ADATUM_DAL_PSK=lab-adatum-dal-not-a-secret
export ADATUM_AUS_PSK=lab-adatum-aus-not-a-secret
export ADATUM_HOU_PSK=lab-adatum-hou-not-a-secret
A_SIZE=303

interop_topology() {
  {
    for s in asite bsite nat; do echo "link add eth0 netns $s type veth peer name $s netns inet"; done
    echo "link add eth0 netns nsite type veth peer name lan netns nat"
    echo "link add eth0 netns ahost type veth peer name ahost netns sw"
  } | ip -batch -
  ip -n inet -batch - <<'EOF2'
address add 131.107.5.1/24 dev asite
address add 131.107.6.1/24 dev bsite
address add 131.107.7.1/24 dev nat
link set asite up
link set bsite up
link set nat up
EOF2
  site_links asite 131.107.5.10 131.107.5.1 10.5.0.1/16 172.16.5.1/24
  site_links bsite 131.107.6.10 131.107.6.1 10.6.0.1/16
  # The customer's NAT router: its Internet address is the site's public one; everything from the site's
  # private network leaves masqueraded. Nothing is forwarded inwards: the site has to dial out.
  ip -n nat -batch - <<'EOF2'
link set lo up
link set eth0 up
link set lan up
address add 131.107.7.10/24 dev eth0
address add 192.168.100.1/24 dev lan
route add default via 131.107.7.1
EOF2
  ns nat sysctl -qw net.ipv4.ip_forward=1
  ns nat nft -f - <<'EOF2'
table ip nat {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "eth0" masquerade
  }
}
EOF2
  site_links nsite 192.168.100.10 192.168.100.1 10.7.0.1/16
  ip -n sw -batch - <<'EOF2'
link set ahost master br0
link set ahost up
EOF2
  bridge -n sw -batch - <<'EOF2'
vlan add dev trunk vid 4003
vlan del dev ahost vid 1
vlan add dev ahost vid 4003 pvid untagged
EOF2
  ip -n ahost -batch - <<'EOF2'
link set lo up
link set eth0 up
address add 192.168.0.2/29 dev eth0
route add default via 192.168.0.1
EOF2
}

# libreswan_site NS IFACE [NARROWING]: the site's files from peer-config's, plus what a customer adds: the
# secret's value in place of its placeholder, a `config setup` (log file) and a no-op updown (the
# site needs no routes: its default route leads to the gateway). Then its pluto, empty until addconn.
libreswan_site() {
  local n=$1 c=$2 narrowing=${3:-} d=$RUN/$1
  mkdir -p "$d/run" "$d/nss"
  {
    printf 'config setup\n\tlogfile=%s\n\tlogtime=yes\n\nconn %%default\n\tleftupdown=/bin/true\n\n' "$LOGS/pluto-$n.log"
    if [ -n "$narrowing" ]; then sed "s/^\tnarrowing=.*/\tnarrowing=$narrowing/" "$LIBRESWAN/$c/ipsec.conf"; else cat "$LIBRESWAN/$c/ipsec.conf"; fi
  } > "$d/ipsec.conf"
  local line
  while IFS= read -r line; do
    if [[ $line =~ ^#\ (.*)\"\<the\ value\ of\ ([^\>]*)\>\"$ ]]; then echo "${BASH_REMATCH[1]}\"$(resolve "${BASH_REMATCH[2]}")\""; else echo "$line"; fi
  done < "$LIBRESWAN/$c/ipsec.secrets" > "$d/ipsec.secrets"
  chmod 600 "$d/ipsec.secrets"
  [ -f "$LIBRESWAN/$c/frr.conf" ] && cp "$LIBRESWAN/$c/frr.conf" "$d/frr.conf"
  certutil -N -d "sql:$d/nss" --empty-password > /dev/null 2>&1 || fail "interop: NSS database for $n" "certutil -N failed"
  ns "$n" /usr/libexec/ipsec/pluto --config "$d/ipsec.conf" --secretsfile "$d/ipsec.secrets" --nssdir "$d/nss" \
    --ipsecdir "$d" --rundir "$d/run" --dumpdir "$d/run" --logfile "$LOGS/pluto-$n.log" > "$LOGS/pluto-$n.out" 2>&1 \
    || fail "interop: pluto starts in $n" "exit $?: $(tail -n 2 "$LOGS/pluto-$n.out" | tr '\n' ' ')"
}
whack() { local n=$1; shift; ns "$n" /usr/libexec/ipsec/whack --ctlsocket "$RUN/$n/run/pluto.ctl" "$@"; }
pluto_ready() { whack "$1" --status > /dev/null; }

# interop_daemons: started with the other daemons (pluto's NSS start and self-tests are slow under emulation).
interop_daemons() {
  # pluto runs its helpers (addconn, _updown) from /usr/libexec/ipsec: the unpacked package there, on
  # the guest's RAM overlay only.
  mkdir -p /usr/libexec/ipsec && mount --bind "$LIBRESWAN/pkg/usr/libexec/ipsec" /usr/libexec/ipsec \
    || fail "interop: libreswan mounted" "cannot bind $LIBRESWAN/pkg/usr/libexec/ipsec"
  libreswan_site asite IfAe1
  libreswan_site bsite IfAe2 yes
  start_charon nsite
}

# gateway_start_settings: charon reads `ignore_acquire_ts` only when it starts (its trap manager keeps the
# value), so `swanctl --reload-settings` after apply links the bundle's snippet does not turn it on. A
# gateway host has it before charon starts (docs/interop.md); the lab's gateway charon starts with it.
gateway_start_settings() {
  mkdir -p /etc/strongswan.d
  printf 'charon {
  ignore_acquire_ts = yes
}
' > /etc/strongswan.d/s2sgw-start.conf
}

# pings NS DEST COUNT: "R/COUNT" replies of COUNT pings 0.2 s apart (size A_SIZE).
pings() { ns "$1" ping -q -c "$3" -i 0.2 -W 1 -s "$A_SIZE" "$2" 2> /dev/null | awk -v c="$3" '/received/ { print $4 "/" c; f = 1 } END { if (!f) print "0/" c }'; }
# dial NS DEST: pings until one is answered (at most 40 s); sets DIALED to "N unanswered, Ts".
dial() {
  local tries=0 t0; t0=$(now)
  while ! ns "$1" ping -c 1 -W 1 -s "$A_SIZE" "$2" > /dev/null 2>&1; do
    tries=$((tries + 1))
    awk -v a="$t0" -v b="$(now)" 'BEGIN { exit !(b - a > 40) }' && { DIALED="no reply in 40 s ($tries pings)"; return 1; }
  done
  DIALED="first reply after $tries unanswered pings, $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')s"
}
# children CONN: the gateway's installed CHILD_SAs of that connection as "NAME=LOCAL_TS<->REMOTE_TS", sorted.
children() {
  swan gw --list-sas --ike "$1" 2> /dev/null | awk '
    /^ +[^ ]+: #[0-9]+, reqid [0-9]+, INSTALLED/ { name = $1; sub(/:$/, "", name); inst = 1; next }
    inst && /local +[0-9]/ { l = $2 }
    inst && /remote +[0-9]/ { print name "=" l "<->" $2; inst = 0 }' | sort | tr '\n' ' '
}

check_interop() {
  second_credentials  # the interop bundle keeps Tailspin and Litware: their credentials must be there
  local n
  for n in asite bsite; do wait_until 30 pluto_ready "$n" || fail "interop: pluto in $n" "no control socket after 30 s"; done
  # The sites load peer-config's conns (auto=route: trap policies, nothing sent yet).
  for n in asite bsite; do
    whack "$n" --listen > /dev/null 2>&1
    ns "$n" /usr/libexec/ipsec/addconn --config "$RUN/$n/ipsec.conf" --ctlsocket "$RUN/$n/run/pluto.ctl" --autoall > "$LOGS/addconn-$n.log" 2>&1
    local loaded; loaded=$(whack "$n" --status | grep -oE '^000 "[^"]+":' | sort -u | tr -d '0 ":' | tr '\n' ' ')
    check "interop: $n's pluto loaded peer-config's libreswan conns" "addconn exit $?; conns: ${loaded:-none}" test -n "$loaded"
  done
  apply_bundle "interop: Adatum (libreswan sites, a site behind NAT) added by s2sgw apply" "$OUT/bundle-interop/gw1"
  [ "$APPLY_RC" = 0 ] || return
  local sums=$OUT/bundle-interop/gw1/summaries t
  t=$(jq -r .vrf.table "$sums/adatum.json")
  routed_ae() { ns gw ip route show table "$t" 10.5.0.0/16 | grep -q 'dev IfAe1'; }
  wait_until 30 routed_ae || note "interop: 10.5.0.0/16 not routed into IfAe1 in table $t 30 s after the apply"

  # libreswan, narrowing off: each pair of selectors is its own CHILD_SA, dialed by its own traffic.
  local r1 r2 ch
  dial ahost 10.5.0.1; r1=$DIALED
  dial ahost 172.16.5.1; r2=$DIALED
  ch=$(children IfAe1)
  check "interop: libreswan site (policy-based, narrowing off) dialed on demand, one CHILD_SA per pair" \
    "10.5.0.1: $r1; 172.16.5.1: $r2; gateway's CHILD_SAs: ${ch:-none}" \
    test "$ch" = "IfAe1=192.168.0.0/29<->10.5.0.0/16 IfAe1~2=192.168.0.0/29<->172.16.5.0/24 "
  local p1 p2; p1=$(pings ahost 10.5.0.1 20) p2=$(pings ahost 172.16.5.1 20)
  check "interop: Adatum's host reaches both of the libreswan site's LANs" "10.5.0.1: $p1 replies, 172.16.5.1: $p2; site: $(whack asite --trafficstatus | grep -c 'inBytes') SAs with traffic" \
    test "$p1|$p2" = "20/20|20/20"
  # libreswan narrowing: the gateway proposes exactly the pair, which the site takes as it is.
  local r3; dial ahost 10.6.0.1; r3=$DIALED
  ch=$(children IfAe2)
  local p3; p3=$(pings ahost 10.6.0.1 20)
  check "interop: libreswan site (policy-based, narrowing on) carries the tenant's traffic" "$r3; CHILD_SAs: ${ch:-none}; $p3 replies" \
    test "$ch|$p3" = "IfAe2=192.168.0.0/29<->10.6.0.0/16 |20/20"

  # BGP over the libreswan tunnel: the site router from peer-config's FRR snippet.
  wait_until 30 frr_ready asite || fail "FRR in asite" "vtysh gets no answer after 30 s"
  load_site_frr asite
  if wait_until 40 bgp_up adatum 10.5.0.1; then
    pass "interop: BGP adatum 10.5.0.1 established over the libreswan tunnel" "${WAITED}s after the site's FRR loaded"
  else
    fail "interop: BGP adatum 10.5.0.1 established over the libreswan tunnel" "not after 40 s: $(vty gw -c 'show bgp vrf adatum summary' | grep -E '^10\.5\.0\.1 ' | tr -s ' ')"
  fi
  learned_ae() { vty gw -c "show bgp vrf adatum ipv4 unicast neighbors 10.5.0.1 routes json" 2> /dev/null | jq -r '.routes // {} | keys[]' | sort | tr '\n' ' '; }
  has_learned() { [ "$(learned_ae)" = "10.5.0.0/16 172.16.5.0/24 " ]; }
  wait_until 20 has_learned
  check "interop: Adatum's VRF learned exactly the libreswan site's prefixes" "from 10.5.0.1: $(learned_ae)" has_learned
  check "interop: the libreswan site learned Adatum's 192.168.0.0/29" "$(vty asite -c 'show bgp ipv4 unicast 192.168.0.0/29' | grep -m1 -oE 'from 192\.168\.0\.1[^)]*\)?' || echo 'not learned')" \
    bash -c "vtysh -N asite -c 'show bgp ipv4 unicast 192.168.0.0/29' | grep -q 'from 192.168.0.1'"

  # Filters on the libreswan tunnel: TCP 5001 to Dallas denied, 5002 permitted.
  ns asite nc -lkn 5001 > /dev/null 2>&1 &
  ns asite nc -lkn 5002 > /dev/null 2>&1 &
  wait_until 10 listening asite 5002
  local o1 o2; o1=$(probe ahost 10.5.0.1 5002) o2=$(probe ahost 10.5.0.1 5001)
  check "interop: filters on the libreswan tunnel: tcp/5002 open, tcp/5001 denied" "5002 $o1, 5001 $o2" test "$o1|$o2" = "open|closed"

  # The site behind NAT dials in (respond-only on the gateway): NAT-T, both ways.
  wait_until 20 charon_ready nsite || fail "charon in nsite" "no VICI socket after 20 s"
  site_from_peer nsite IfAe3 && load_site_swan nsite IfAe3
  if wait_until 40 sa_up IfAe3; then
    local ike esp nat=no; ike=$(swan gw --list-sas --ike IfAe3 | grep -m1 -oE "remote '[^']+' @ [^ ]+")
    esp=$(swan gw --list-sas --ike IfAe3 | grep -m1 -oE 'TUNNEL(-in-UDP)?')
    [[ $ike == "remote '192.168.100.10' @ 131.107.7.10[4500]" && $esp == TUNNEL-in-UDP ]] && nat=yes
    check "interop: the site behind NAT is up over UDP 4500 (NAT-T)" "up ${WAITED}s after the site loaded; IKE $ike; ESP $esp" test "$nat" = yes
  else
    fail "interop: the site behind NAT is up over UDP 4500 (NAT-T)" "IfAe3 not up 40 s after the site loaded: $(grep -E 'IfAe3|NAT' "$LOGS/charon-gw.log" | tail -n 2 | tr '\n' ' ')"
  fi
  local pa pb; pa=$(pings ahost 10.7.0.1 20); pb=$(ns nsite ping -q -c 20 -i 0.2 -W 1 -I 10.7.0.1 192.168.0.2 2> /dev/null | awk '/received/ { print $4 "/20" }')
  check "interop: traffic through the NAT flows both ways" "host -> site 10.7.0.1: $pa replies; site 10.7.0.1 -> host: ${pb:-0/20} replies" test "$pa|$pb" = "20/20|20/20"
  # Isolation: Adatum's host reaches no other tenant's site (Contoso NY is 10.1.0.1 too).
  local x=0; ping1 ahost 64 10.1.0.1 && x=$((x + 1)); ping1 ahost 64 10.4.0.1 && x=$((x + 1)); ping1 chost 64 10.5.0.1 && x=$((x + 1))
  check "interop: Adatum's host reaches no other tenant's site, and none reaches Adatum's" "$x/3 replies" test "$x" = 0
}
