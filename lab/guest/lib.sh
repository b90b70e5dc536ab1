# Helpers for the guest's scripts: results, phase timing, condition waits, per-namespace daemons.
# Sourced, not run. Everything the host reads back goes to $OUT (the read-write 9p share).

OUT=${OUT:-/s2sgw-lab}
REPORT=$OUT/report          # PASS/FAIL/PHASE lines, read by lab/run.sh
LOGS=$OUT/logs              # daemon logs, printed by lab/run.sh when a check fails
RUN=/run/lab                # per-namespace config files and sockets (tmpfs, gone at power-off)
LAB=${LAB:-/work/main/lab}  # this folder, as the guest sees it through the host root

# Seconds since boot, with centiseconds: the guest's own clock for phase times.
now() { local u; read -r u _ < /proc/uptime; echo "$u"; }
_phase_start=$(now)

# phase NAME: ends the current phase, printing how long it took and the guest's uptime.
phase() {
  local t; t=$(now)
  echo "PHASE $1 $(awk -v a="$_phase_start" -v b="$t" 'BEGIN { printf "%.1f", b - a }')s (uptime ${t}s)" >> "$REPORT"
  _phase_start=$t
}

# pass NAME MEASURED / fail NAME MEASURED: one result line each.
pass() { echo "PASS $1: $2" >> "$REPORT"; }
fail() { echo "FAIL $1: $2" >> "$REPORT"; FAILED=1; }
# check NAME MEASURED CONDITION...: pass when the command succeeds.
check() { local n=$1 m=$2; shift 2; if "$@"; then pass "$n" "$m"; else fail "$n" "$m"; fi; }
note() { echo "NOTE $*" >> "$REPORT"; }

# wait_until SECONDS CMD...: runs CMD every 0.2 s until it succeeds or SECONDS pass.
# Sets WAITED to the seconds it took. Never a fixed sleep: it returns as soon as CMD succeeds.
wait_until() {
  local limit=$1; shift
  local start; start=$(now)
  while :; do
    if "$@" > /dev/null 2>&1; then
      WAITED=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'); return 0
    fi
    if awk -v a="$start" -v b="$(now)" -v l="$limit" 'BEGIN { exit !(b - a >= l) }'; then
      WAITED=$limit; return 1
    fi
    sleep 0.2
  done
}

# ns NAME CMD...: runs CMD inside a role's network namespace.
ns() { local n=$1; shift; ip netns exec "$n" "$@"; }

# start_charon NS [EXTRA_CONF_FILE]: one charon per namespace, each with its own strongswan.conf
# (STRONGSWAN_CONF) so its control socket (VICI) is private: swanctl reaches it with --uri.
start_charon() {
  local n=$1 extra=${2:-}
  mkdir -p "$RUN/$n"
  cat > "$RUN/$n/strongswan.conf" <<EOF
charon {
  # Only the plugins the lab uses. Loading every installed plugin (load_modular) costs ~30 s per
  # charon under emulation.
  load = random nonce openssl pem pkcs1 pkcs8 x509 revocation constraints pubkey curve25519 aes sha1 sha2 hmac gcm kdf kernel-netlink socket-default vici updown eap-identity eap-mschapv2
  plugins {
    vici { socket = unix://$RUN/$n/charon.vici }
  }
}
charon-systemd {
  # charon-systemd logs to the journal, which the guest has none of: log to a file instead.
  journal { default = -1 }
  filelog {
    $n {
      path = $LOGS/charon-$n.log
      flush_line = yes
      time_format = %T
      # milliseconds too: the hitless check lines charon's steps up with the XFRM monitors' events.
      time_add_ms = yes
      default = 1
    }
  }
}
swanctl {
  # swanctl only talks to charon: skip loading every installed plugin.
  load = pem pkcs1 pkcs8 x509 openssl random nonce
  # swanctl without --uri (keepalived's notify commands of an HA gateway, which inherit STRONGSWAN_CONF) finds this charon.
  socket = unix://$RUN/$n/charon.vici
}
${extra:+include $extra}
EOF
  STRONGSWAN_CONF=$RUN/$n/strongswan.conf in_pidns "$n" ip netns exec "$n" /usr/sbin/charon-systemd > "$LOGS/charon-$n.out" 2>&1 &
}
# A role may have its own PID namespace (the HA pair's gateways, lab/guest/ha.sh): HOLDER[NS] is a process in it,
# and in_pidns NS CMD... runs CMD there (with that namespace's /proc), so `pidof charon-systemd` in its keepalived
# health script sees that gateway's daemons only, as on a host of its own. Other roles: CMD as it is.
declare -A HOLDER=()
in_pidns() { local n=$1; shift; if [ -n "${HOLDER[$n]:-}" ]; then nsenter -t "${HOLDER[$n]}" -p -m -- "$@"; else "$@"; fi; }
charon_ready() { [ -S "$RUN/$1/charon.vici" ] && swan "$1" --stats; }
# swan NS ARGS...: swanctl against that namespace's charon.
swan() { local n=$1 c=$2; shift 2; STRONGSWAN_CONF=$RUN/$n/strongswan.conf ns "$n" swanctl "$c" "$@" --uri "unix://$RUN/$n/charon.vici"; }

# start_frr NS DAEMONS...: FRR daemons for one namespace. -N gives each namespace its own
# runtime folder (/run/frr/NS) so several FRR instances coexist; vtysh -N NS talks to them.
start_frr() {
  local n=$1; shift
  mkdir -p "/run/frr/$n"
  chown frr:frr "/run/frr" "/run/frr/$n"
  local d
  for d in "$@"; do
    # -f /dev/null: start empty; the configuration comes later through vtysh.
    in_pidns "$n" ip netns exec "$n" "/usr/lib/frr/$d" -N "$n" -d -F traditional -f /dev/null \
      --log "file:$LOGS/$d-$n.log" -i "/run/frr/$n/$d.pid" || fail "start $d in $n" "exit $?"
  done
}
vty() { local n=$1; shift; vtysh -N "$n" "$@"; }
frr_ready() { vty "$1" -c 'show version'; }

# wanted NAME: whether the run asked for that check (S2SGW_LAB_CHECKS on the host; default all).
wanted() { [ "${CHECKS:-all}" = all ] || [[ ",$CHECKS," == *",$1,"* ]]; }
