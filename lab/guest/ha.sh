# The `ha` check (issue 21, docs/ha.md): Northwind (lab/ha/tenants/northwind.yaml) on the pair gw2 (active) + gw3
# (standby), each set up by `s2sgw apply` of its own bundle (lab/host/prepare-ha.sh), with keepalived started by
# apply's reload-keepalived step; one static site (Northwind Seattle) with a tunnel to each gateway, configured
# from peer-config's output. Sourced by the scenario; selectable only (S2SGW_LAB_CHECKS=ha), see docs/lab.md.
#
#   nhost (Northwind 192.168.0.2) --access VLAN 4010--+ sw ==trunk-gw2== gw2 eth1 (own 192.168.0.3, VRRP 192.168.0.1)
#                                                     |    ==trunk-gw3== gw3 eth1 (own 192.168.0.4)
#   gw2 eth0 203.0.113.20 --+ inet -- hsite 131.107.9.10 (Northwind Seattle, LAN 10.9.0.0/16; XFRM interfaces
#   gw3 eth0 203.0.113.30 --+          IfNe1-gw2, IfNe1-gw3 inbound, IfNe1 outbound for both, from peer-config's `routes`)
#
# Each gateway of the pair is a host of its own: its own network namespace, and its own PID namespace (HOLDER in
# lib.sh) holding its charon, FRR and the keepalived apply starts, so keepalived's health script (`pidof
# charon-systemd`, `pidof zebra`) sees that gateway's daemons only; its own --root under /run/lab/ha (apply's
# state, live files, keepalived's pid files); its own mount namespace with its own /run/s2sgw (keepalived's state
# files) and /var/lib/s2sgw (the drain file). keepalived's (and FRR's) log: logs/syslog-gw2.log, -gw3.log.
#
# The static site fails over as peer-config prescribes: both its tunnels send through one XFRM interface (one outbound
# policy), which its charon points at the other tunnel's SA when a CHILD_SA goes (priorities 100, 200); a gateway whose instance is in FAULT (trunk down, charon or FRR gone) terminates the
# tenant's IKE_SAs (keepalived's notify_fault) and keeps them down until it is ready again.

HA_ROOT=/run/lab/ha
export NORTHWIND_SEA_PSK=lab-northwind-sea-not-a-secret NORTHWIND_BOS_PSK=lab-northwind-bos-not-a-secret

ha_topology() {
  for r in gw2 gw3 hsite hbgp nhost; do echo "netns add $r"; done | ip -batch -
  {
    local g
    for g in gw2 gw3; do
      echo "link add eth0 netns $g type veth peer name $g netns inet"
      echo "link add eth1 netns $g type veth peer name trunk-$g netns sw"
    done
    echo "link add eth0 netns hsite type veth peer name hsite netns inet"
    echo "link add eth0 netns hbgp type veth peer name hbgp netns inet"
    echo "link add eth0 netns nhost type veth peer name nhost netns sw"
  } | ip -batch -
  local g a
  for g in gw2 gw3; do
    a=203.0.113.${g#gw}0
    ip -n "$g" -batch - <<EOF
link set lo up
link set eth0 up
link set eth1 up
address add $a/24 dev eth0
route add default via 203.0.113.1
EOF
    # The router: 203.0.113.0/24 is on its port to gw1; each pair gateway gets a host route on its own port,
    # where the router answers for 203.0.113.1 too.
    ip -n inet -batch - <<EOF
address add 203.0.113.1/32 dev $g
link set $g up
route add $a/32 dev $g
EOF
  done
  ip -n inet -batch - <<'EOF'
address add 131.107.9.1/24 dev hsite
link set hsite up
EOF
  site_links hsite 131.107.9.10 131.107.9.1 10.9.0.1/16
  # Northwind Boston (BGP): on its own port, the router answers for 131.107.9.1 there too.
  ip -n inet -batch - <<'EOF2'
address add 131.107.9.1/32 dev hbgp
link set hbgp up
route add 131.107.9.20/32 dev hbgp
EOF2
  site_links hbgp 131.107.9.20 131.107.9.1 10.10.0.1/16
  ip -n sw -batch - <<'EOF'
link set trunk-gw2 master br0
link set trunk-gw3 master br0
link set nhost master br0
link set trunk-gw2 up
link set trunk-gw3 up
link set nhost up
EOF
  bridge -n sw -batch - <<'EOF'
vlan add dev trunk-gw2 vid 4010
vlan add dev trunk-gw3 vid 4010
vlan del dev nhost vid 1
vlan add dev nhost vid 4010 pvid untagged
EOF
  ip -n nhost -batch - <<'EOF'
link set lo up
link set eth0 up
address add 192.168.0.2/29 dev eth0
route add default via 192.168.0.1
EOF
}

# ha_syslog SOCKET LOG: a syslog receiver (keepalived logs only to syslog, which the guest has none of): each datagram
# on SOCKET, one line in LOG.
ha_syslog() {
  python3 -c 'import os, socket, sys, time
p, f = sys.argv[1], open(sys.argv[2], "a")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(p)
os.chmod(p, 0o666)
while True:
    d = s.recv(65536).decode(errors="replace").rstrip("\n\x00")
    f.write("%.1f %s\n" % (time.clock_gettime(time.CLOCK_BOOTTIME), d)); f.flush()' "$1" "$2" < /dev/null > /dev/null 2>&1 &
}

# ha_holders: one PID namespace per pair gateway (a bash that reaps orphans, as an init does); HOLDER[gw] is its pid.
# It is a mount namespace too, with what a host of its own has: its own /run/s2sgw (keepalived's state files) and
# /var/lib/s2sgw (the drain file; the notify listener's script, which apply writes under its --root, linked), and its own /dev/log (syslog: keepalived and FRR, to $LOGS/syslog-GW.log).
has_child() { [ -n "$(cat /proc/"$1"/task/*/children 2> /dev/null)" ]; }
ha_holders() {
  local g u
  mkdir -p /run/s2sgw /var/lib/s2sgw
  [ -e /dev/log ] || touch /dev/log
  for g in gw2 gw3; do
    mkdir -p "$RUN/$g"
    ha_syslog "$RUN/$g/syslog.sock" "$LOGS/syslog-$g.log"
    wait_until 20 test -S "$RUN/$g/syslog.sock" || note "ha: no syslog receiver for $g"
    unshare --pid --fork --mount-proc bash -c "mount -t tmpfs s2sgw-run /run/s2sgw && mount -t tmpfs s2sgw-lib /var/lib/s2sgw \
      && mkdir -p /var/lib/s2sgw/ha /run/s2sgw/ha && ln -s $HA_ROOT/$g/var/lib/s2sgw/ha/listen /var/lib/s2sgw/ha/listen \
      && mount --bind $RUN/$g/syslog.sock /dev/log; trap : CHLD; while :; do sleep 1; done" < /dev/null > /dev/null 2>&1 &
    u=$!
    wait_until 10 has_child "$u" || { fail "ha: PID namespace of $g" "unshare started nothing"; return 1; }
    HOLDER[$g]=$(cat /proc/"$u"/task/*/children | awk '{ print $1 }')
  done
}

# ha_daemons GW: what a gateway host runs before s2sgw (charon reads apply's settings snippet under its --root).
ha_daemons() {
  local g=$1
  mkdir -p "$HA_ROOT/$g/etc/strongswan.d" "$HA_ROOT/$g/etc/swanctl/conf.d" "$HA_ROOT/$g/run"
  # What the strongswan-swanctl package installs, under this gateway's root.
  printf 'include %s/*.conf\n' "$HA_ROOT/$g/etc/swanctl/conf.d" > "$HA_ROOT/$g/etc/swanctl/swanctl.conf"
  start_charon "$g" "$HA_ROOT/$g/etc/strongswan.d/s2sgw*.conf"
  start_frr "$g" zebra staticd bgpd
}
ha_ready() { charon_ready "$1" && frr_ready "$1"; }

# ha_apply GW [ARGS...]: `s2sgw apply` of the gateway's bundle (of $OUT/$HA_BUNDLE, bundle-ha unless set), run inside
# its PID and mount namespace; sets APPLY_RC and APPLY_T.
ha_apply() {
  local g=$1 t0 t; shift
  local exe=("${S2SGW_EXE:-}")
  [ -n "${PKG:-}" ] || exe=(node -e "require(process.argv[1]).main(process.argv.slice(2)).then((c) => process.exit(c))" "$DIST/src/cli.js")
  echo "=== s2sgw apply $g $* (uptime $(now)s)" >> "$LOGS/apply-$g.log"
  t0=$(now)
  STRONGSWAN_CONF=$RUN/$g/strongswan.conf in_pidns "$g" "${exe[@]}" apply --bundle "$OUT/${HA_BUNDLE:-bundle-ha}/$g" --root "$HA_ROOT/$g" \
    --netns "$g" --vici "unix://$RUN/$g/charon.vici" --frr-pathspace "$g" "$@" >> "$LOGS/apply-$g.log" 2>&1
  APPLY_RC=$?
  APPLY_T=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
}

vip_on() { ip -n "$1" -br address show IfNi1 2> /dev/null | grep -q ' 192\.168\.0\.1/29'; }
# ha_sa_up SITE CONN GW: the site's tunnel to that gateway has its CHILD_SA installed.
ha_sa_up() { swan "$1" --list-sas --ike "$2-$3" 2> /dev/null | grep -q INSTALLED; }
replies() { [ "$(grep -c 'bytes from' "$1" 2> /dev/null)" -ge "$2" ]; }

# ping_loss FILE: "LOST GAP" of a `ping -D -i 0.1` log: pings lost (sent, from ping's closing summary, less one
# in flight, minus the replies: a blackout that lasts to the end counts too) and the longest silence between two
# replies minus the 0.1 s interval, in seconds.
ping_loss() {
  awk '/bytes from/ { t = substr($1, 2, length($1) - 2) + 0; for (i = 1; i <= NF; i++) if ($i ~ /^icmp_seq=/) s = substr($i, 10) + 0
         if (!(s in seen)) { seen[s] = 1; n++ } if (s > max) max = s; if (last != "" && t - last > gap) gap = t - last; last = t }
       /packets transmitted/ { tx = $1 }
       END { g = gap - 0.1; if (g < 0) g = 0; l = (tx > max ? tx - 1 : max) - n; if (l < 0) l = 0; printf "%d %.1f", l, g }' "$1"
}

# ha_pings DIR: pings at 10/s from Northwind's host to each of its sites (HA_SITES, label:address) and from the
# single-gateway tenants' hosts to theirs (HA_SINGLE); PINGS holds their pids. ha_pings_stop ends them.
ha_pings() {
  local d=$1 h
  mkdir -p "$d"; PINGS=()
  # (not through ns(): $! must be ping itself, which the SIGINT below stops)
  for h in $HA_SITES; do ip netns exec nhost ping -D -n -i 0.1 "${h#*:}" > "$d/site-${h%:*}" 2>&1 & PINGS+=($!); done
  for h in $HA_SINGLE; do ip netns exec "${h%:*}" ping -D -n -i 0.1 "${h#*:}" > "$d/${h%:*}" 2>&1 & PINGS+=($!); done
  for h in $HA_SITES; do wait_until 20 replies "$d/site-${h%:*}" 30 || note "ha: Northwind's pings to ${h%:*} slow to start"; done
}
ha_pings_stop() { local p; for p in "${PINGS[@]}"; do kill -INT "$p" 2> /dev/null; done; wait "${PINGS[@]}" 2> /dev/null; }
# ha_loss FILE: "LOST GAP SENT" of a ping log.
ha_loss() { local lost gap; read -r lost gap < <(ping_loss "$1"); echo "$lost $gap $(grep -o 'icmp_seq=[0-9]*' "$1" | cut -d= -f2 | sort -n | tail -n 1)"; }
# ha_single_checks NAME DIR: the single-gateway tenants lost nothing.
ha_single_checks() {
  local h lost gap sent
  for h in $HA_SINGLE; do
    read -r lost gap sent < <(ha_loss "$2/${h%:*}")
    check "ha $1: single-gateway ${h%:*} -> ${h#*:} loses nothing" "${lost} of ${sent:-0} lost, longest silence ${gap} s" \
      test "$lost" = 0 -a "${sent:-0}" -ge 150
  done
}

# ha_case NAME TITLE ACTION...: ha_pings; after 3 s ACTION; then 12 s more after gw3 holds the address (return traffic
# that went astray would show). Loss of Northwind's pings at most 3 s per site; the other tenants lose none.
ha_case() {
  local name=$1 title=$2 d=/tmp/ha-$1; shift 2
  ha_pings "$d"
  ha_trace gw2 "$d"
  # The static site's policy changes with wall-clock times (when its charon moved the outbound policy).
  ip -n hsite -ts xfrm monitor policy > "$d/xfrm-hsite" 2>&1 &
  local xmon=$!
  local t0 t1 e0 e1; t0=$(now); e0=$EPOCHREALTIME
  "$@"
  t1=$(now); e1=$EPOCHREALTIME
  local moved=-1
  wait_until 30 vip_on gw3 && moved=$(awk -v a="$t1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  # 12 s of pings after the move, measured in replies (120 at 10/s) to the first site, never less than 12 s.
  local first=${HA_SITES%% *} n0
  n0=$(grep -c 'bytes from' "$d/site-${first%:*}")
  wait_until 40 replies "$d/site-${first%:*}" $((n0 + 120)); sleep 0.5
  ha_pings_stop
  kill "$xmon" 2> /dev/null
  local h lost gap sent
  for h in $HA_SITES; do
    read -r lost gap sent < <(ha_loss "$d/site-${h%:*}")
    check "ha $name: $title, Northwind's loss to its ${h%:*} site (${h#*:}) at 10 pings/s <= 3 s" \
      "address on gw3 ${moved}s after the action (which took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s); ${lost} of ${sent:-0} pings lost ($(awk -v l="$lost" 'BEGIN { printf "%.1f", l / 10 }') s), longest silence ${gap} s; load $(cut -d' ' -f1-3 /proc/loadavg)" \
      awk -v g="$gap" -v m="$moved" -v n="${sent:-0}" -v l="$lost" 'BEGIN { exit !(m >= 0 && g <= 3 && l <= 30 && n >= 150) }'
  done
  ha_single_checks "$name" "$d"
  wait "$HA_TRACE" 2> /dev/null
  # The ping logs (ping -D: each reply's time) and the trace, for the timeline (docs/ha.md, "In the lab").
  cp -r "$d" "$LOGS/" 2> /dev/null
  echo "action from $e0 to $e1 (epoch), uptime $t0 to $t1" > "$LOGS/ha-$name/action"
  note "ha $name: gw2's keepalived state file and blackhole routes after the action (s since it ended): $(awk -v a="$t1" '{ s = $2 " " $3; if (s != last) printf "%.1f %s; ", $1 - a, s; last = s }' "$d/trace-gw2")"
}

# ha_trace GW DIR: for 20 s, twice a second, GW's keepalived state file (read through its holder's root: no exec) and
# how many blackhole routes it has (notify_fault adds one per site), into DIR/trace-GW; HA_TRACE is its pid.
ha_trace() {
  local g=$1 i s b
  for ((i = 0; i < 40; i++)); do
    s=none; { read -r s < "/proc/${HOLDER[$g]}/root/run/s2sgw/ha/northwind.state"; } 2> /dev/null
    b=$(ip -n "$g" route show type blackhole 2> /dev/null | grep -c .)
    echo "$(now) state=$s blackholes=$b"
    sleep 0.5
  done > "$2/trace-$g" 2>&1 &
  HA_TRACE=$!
}

# ha_rolling: a drained rolling apply of a change to both gateways (bundle-ha2): `apply --drain 30` on gw2 (drains it:
# gw3 takes the address; applies; undrains: gw2 takes it back), then on gw3. No ping of any tenant may be lost.
ha_rolling() {
  local d=/tmp/ha-rolling g rc=() ts=() held=()
  ha_pings "$d"
  for g in gw2 gw3; do
    HA_BUNDLE=bundle-ha2 ha_apply "$g" --drain 30
    rc+=("$APPLY_RC"); ts+=("$APPLY_T"); held+=("$(vip_on gw2 && echo gw2)$(vip_on gw3 && echo gw3)")
  done
  sleep 3
  ha_pings_stop
  check "ha rolling: apply --drain 30 of a change on gw2, then gw3, both succeed; gw2 holds the address after each" \
    "exit ${rc[*]} in ${ts[*]} s; holder after each: ${held[*]}" test "${rc[*]} ${held[*]}" = "0 0 gw2 gw2"
  local h lost gap sent
  for h in $HA_SITES; do
    read -r lost gap sent < <(ha_loss "$d/site-${h%:*}")
    check "ha rolling: Northwind's pings to its ${h%:*} site (${h#*:}) at 10/s: none lost" \
      "${lost} of ${sent:-0} lost, longest silence ${gap} s; load $(cut -d' ' -f1-3 /proc/loadavg)" test "$lost" = 0 -a "${sent:-0}" -ge 150
  done
  ha_single_checks rolling "$d"
}

# ha_dump: what keepalived sees, into guest.log (keepalived logs to syslog, which the guest has none of).
ha_dump() {
  local g
  for g in gw2 gw3; do
    echo "=== ha_dump $g: state files: $(in_pidns "$g" sh -c 'grep -H . /run/s2sgw/ha/*.state; cat /var/lib/s2sgw/ha/drain' 2> /dev/null | tr '\n' ' ')"
    echo "--- $g: health script: $(in_pidns "$g" /bin/sh -c 'pidof charon charon-systemd >/dev/null && pidof zebra >/dev/null' && echo ok || echo fails); processes: $(in_pidns "$g" ps -e -o comm= | sort | uniq -c | tr '\n' ' ')"
    ip -n "$g" -br address show IfNi1
    ip -n "$g" -d link show IfNi1 | head -n 3
    head -n 30 "$HA_ROOT/$g/etc/keepalived/keepalived.conf"
    in_pidns "$g" ip netns exec "$g" timeout 8 keepalived -n -l -D --vrrp -f "$HA_ROOT/$g/etc/keepalived/keepalived.conf" -p /tmp/ka-$g.pid -r /tmp/kv-$g.pid 2>&1 | head -n 40 &
  done
  sleep 9
  ip -n nhost neigh
}
# (swan is a function: not through sh -c)
# site_out: the tunnel end the static site's outbound policy for the tenant's prefixes sends to (gw2 203.0.113.20, gw3 .30).
site_out() { ip -n hsite xfrm policy show dir out dst 192.168.0.0/29 2> /dev/null | sed -n 's/.*tmpl src [^ ]* dst \([^ ]*\).*/\1/p' | tr '\n' ' '; }
gw2_out() { ! ha_sa_up hsite IfNe1 gw2 && ! ha_sa_up hbgp IfNe2 gw2 && [ "$(site_out)" = "203.0.113.30 " ]; }
reach_both() { ip netns exec nhost ping -c 3 -i 0.2 -W 2 10.9.0.1 > /dev/null && ha_sa_up hsite IfNe1 gw2 && ha_sa_up hsite IfNe1 gw3; }
# bgp_both: Boston has 192.168.0.0/29 from both gateways (gw3's AS path prepended: 4 x 64520) and installs gw2's.
bgp_both() {
  local b; b=$(vty hbgp -c 'show bgp ipv4 unicast 192.168.0.0/29' 2> /dev/null)
  grep -q '^  64520$' <<< "$b" && grep -q '^  64520 64520 64520 64520$' <<< "$b" \
    && vty hbgp -c 'show ip route 192.168.0.0/29' 2> /dev/null | grep -q '192\.168\.0\.3'
}
# ha_site NS IFACE: the site from peer-config: swanctl.conf with the secrets, routes (WAN = eth0), the updown script.
ha_site() {
  local n=$1 c=$2 j=$OUT/peers/$2.json
  start_charon "$n"
  [ "$n" = hsite ] || start_frr "$n" zebra bgpd
  wait_until 30 charon_ready "$n" || { fail "ha: charon of $n" "no VICI socket after 30 s"; return 1; }
  [ "$n" = hsite ] || wait_until 30 frr_ready "$n" || { fail "ha: FRR of $n" "vtysh gets no answer after 30 s"; return 1; }
  site_from_peer "$n" "$c" || return 1
  # (the BGP site's; a static site has none: its charon moves its one outbound policy)
  local up; up=$(jq -r '.updownPath // empty' "$j")
  if [ -n "$up" ]; then mkdir -p "$(dirname "$up")"; jq -r .updown "$j" > "$up" && chmod 755 "$up"; fi
  [ "$n" = hsite ] && [ -n "$up" ] && fail "ha: the static site's config from peer-config" "peer-config named an updown script ($up) for a static site"
  # Routes (the XFRM interfaces) before the connections, as a site's admin sets them up: the BGP site's updown adds its
  # host route when a CHILD_SA comes up, so loading first raced routes.sh's own `ip route add` (File exists).
  jq -r .routes "$j" | sed 's/ dev WAN / dev eth0 /' | ip netns exec "$n" sh -e > "$LOGS/routes-$n.log" 2>&1 \
    || fail "ha: $n's routes from peer-config" "$(tail -n 2 "$LOGS/routes-$n.log" | tr '\n' ' ')"
  swan "$n" --load-all --noprompt --file "$RUN/$n/swanctl.conf" > "$LOGS/swanctl-$n.log" 2>&1
}
kill_daemons() { in_pidns "$1" sh -c 'kill -9 $(pidof charon-systemd zebra bgpd staticd)'; }
trunk_down() { ip -n "$1" link set eth1 down; }

# ha_dwatch: every 5 s, each process found in uninterruptible sleep (state D) in two scans in a row goes to
# logs/dstate.log with its wait channel, kernel stack, parent and command line: where a hung health script (or
# anything else) waits. Shell builtins only (no exec, no fork), so the watcher itself does not wait on 9p.
ha_dwatch() {
  local d st prev=" " cur p w c stack
  mkfifo "$RUN/dwatch.fifo"
  # (its pause: a read that times out on a fifo nobody writes, not an exec of sleep)
  while :; do
    cur=" "
    for d in /proc/[0-9]*; do
      { read -r st < "$d/stat"; } 2> /dev/null || continue
      st=${st##*) }
      [ "${st:0:1}" = D ] || continue
      p=${d#/proc/}; cur+="$p "
      [[ "$prev" == *" $p "* ]] || continue
      { read -r w < "$d/wchan"; read -r c < "$d/comm"; mapfile -t stack < "$d/stack"; } 2> /dev/null
      local cmd= pp=${st:2}; { read -r -d '' cmd < "$d/cmdline"; } 2> /dev/null
      echo "$(now) pid $p ($c) parent ${pp%% *} wchan $w cmd $cmd stack: ${stack[*]}"
    done
    prev=$cur
    read -r -t 5 -u 9
  done 9<> "$RUN/dwatch.fifo" >> "$LOGS/dstate.log" 2>&1 &
  HA_DWATCH=$!
}

check_ha() {
  modprobe -a xfrm_interface 2> /dev/null
  ha_dwatch
  ha_topology
  ha_holders || return 0
  local g
  for g in gw2 gw3; do ha_daemons "$g"; done
  for g in gw2 gw3; do wait_until 30 ha_ready "$g" || { fail "ha: daemons of $g" "charon or FRR not answering after 30 s"; return 0; }; done
  # Not one daemon of gw2 may be visible from gw3's PID namespace, or the health script proves nothing.
  local seen; seen=$(in_pidns gw3 pidof charon-systemd zebra | wc -w)
  check "ha: each gateway of the pair sees only its own daemons" "gw3 sees $seen processes named charon-systemd or zebra (its own 2)" test "$seen" = 2

  # keepalived.conf names the drain file by its absolute path (/var/lib/s2sgw/ha/drain), whatever apply's --root:
  # its folder (each gateway's own, ha_holders) must exist for track_file's init_file.
  # One apply after the other, as a rollout does: two at once on the guest's two emulated CPUs (with both charons, FRRs
  # and the first keepalived) starved gw3's charon, whose apply failed its health step (no VICI answer in 10 s).
  for g in gw2 gw3; do ha_apply "$g"; echo "$APPLY_RC $APPLY_T" > "/tmp/ha-apply-$g"; done
  local rc t
  for g in gw2 gw3; do
    read -r rc t < "/tmp/ha-apply-$g"
    check "ha: $g set up by s2sgw apply of its bundle (keepalived started by apply)" "exit $rc in ${t}s; keepalived $(in_pidns "$g" pidof keepalived | wc -w) processes" \
      test "$rc" = 0
  done
  wait_until 40 vip_on gw2
  check "ha: VRRP: gw2 (priority 150) holds 192.168.0.1, gw3 (100) does not" "after ${WAITED}s; gw3 $(vip_on gw3 && echo holds it too || echo does not)" \
    sh -c "ip -n gw2 -br address show IfNi1 | grep -q ' 192.168.0.1/29' && ! ip -n gw3 -br address show IfNi1 | grep -q ' 192.168.0.1/29'"
  vip_on gw2 || { ha_dump; return 0; }

  # The sites: peer-config's two connections each and its routes; Boston's updown script and BGP too.
  ha_site hsite IfNe1 || return 0
  ha_site hbgp IfNe2 || return 0
  load_site_frr hbgp
  # Both tunnels of each site up before the failover: the site dials each one.
  # (the static site's start_action = start dialed at load: only what is not up after 20 s, no duplicate)
  for g in gw2 gw3; do
    wait_until 20 ha_sa_up hsite IfNe1 "$g" || swan hsite --initiate --child "IfNe1-$g" --timeout 40 > /dev/null 2>&1
    swan hbgp --initiate --child "IfNe2-$g" --timeout 40 > /dev/null 2>&1
  done
  wait_until 40 ping1 nhost 56 10.9.0.1
  check "ha: Northwind's host reaches its static site through the pair; the site has a tunnel to each gateway" \
    "first reply after ${WAITED}s; gw2 $(ha_sa_up hsite IfNe1 gw2 && echo up || echo down), gw3 $(ha_sa_up hsite IfNe1 gw3 && echo up || echo down)" \
    reach_both
  wait_until 60 bgp_both
  check "ha: the BGP site learns 192.168.0.0/29 from both gateways, gw3's prepended, and routes it to gw2" \
    "after ${WAITED}s: $(vty hbgp -c 'show ip route 192.168.0.0/29' 2> /dev/null | grep -E 'via|\*' | head -n 3 | tr -s ' \n' ' ')" bgp_both
  wait_until 20 ping1 nhost 56 10.10.0.1 || note "ha: Northwind's host does not reach its BGP site before the failover cases"
  HA_SITES="static:10.9.0.1 bgp:10.10.0.1"

  # The untouched single-gateway tenants on gw1 (dialed first if no check before did).
  HA_SINGLE="chost:10.1.0.1"
  ip -n gw link show woodgrove > /dev/null 2>&1 && HA_SINGLE+=" whost:10.2.0.1"
  for h in $HA_SINGLE; do wait_until 40 ping1 "${h%:*}" 56 "${h#*:}" || note "ha: ${h%:*} does not reach ${h#*:} before the failover cases"; done

  # Case 1: the active gateway's trunk link goes down; its host, daemons and tunnels stay up. Then up again:
  # gw2 (150) takes the address back (preemption).
  ha_case trunk "gw2's trunk link (eth1) down" trunk_down gw2
  # While gw2 is in FAULT it serves no tunnel of Northwind's (notify_fault), and the site routes over gw3 only.
  check "ha: gw2 in FAULT: its tunnel to the site is gone and stays gone; the static site sends through gw3's tunnel" \
    "gw2's SAs: static site $(ha_sa_up hsite IfNe1 gw2 && echo up || echo down), BGP site $(ha_sa_up hbgp IfNe2 gw2 && echo up || echo down); static site's outbound policy to: $(site_out)" \
    gw2_out
  ip -n gw2 link set eth1 up
  wait_until 30 vip_on gw2
  check "ha: gw2's trunk up again: gw2 takes the address back" "after ${WAITED}s" vip_on gw2
  site_route_gw2() { ha_sa_up hsite IfNe1 gw2 && [ "$(site_out)" = "203.0.113.20 " ] && bgp_both; }
  wait_until 40 site_route_gw2
  check "ha: gw2 ready again: it dialed its tunnels (notify), the static site sends through gw2's tunnel again (priority 100), the BGP site's unprepended path over it is back" \
    "after ${WAITED}s; static site's outbound policy to: $(site_out)" site_route_gw2
  wait_until 40 ping1 nhost 56 10.9.0.1 || note "ha: Northwind's host does not reach its site through gw2 again"

  # Case 2: a drained rolling apply of a change to both gateways.
  ha_rolling

  # Case 3: the active gateway's charon and FRR die (SIGKILL); its host and links stay up.
  ha_case kill "gw2's charon, zebra, bgpd and staticd killed" kill_daemons gw2
  # keepalived's notify listener (src/apply/ha-listen.ts) logs each event it handled, under the gateway's --root.
  local g; for g in gw2 gw3; do cp "$HA_ROOT/$g/var/log/s2sgw/ha-listen.log" "$LOGS/ha-listen-$g.log" 2> /dev/null || note "ha: $g has no notify listener log"; done
}
