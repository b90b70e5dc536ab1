# Issue 18's proof on the data plane: changes that never drop a tunnel. Pings at 10 per second run through every
# tunnel of every tenant (Contoso NY, Woodgrove NY, Woodgrove SFO) while Contoso NY's connection changes three
# times, each by `s2sgw apply` (make-before-break, src/apply/incremental/swan.ts):
#   (1) its proposals (rekey class: bundle-h1); the site loads peer-config's new connection first;
#   (2) its PSK rotated as docs/psk-rotation.md says: `s2sgw secret rotate --generate` on the gateway (stage 1),
#       the site puts the new PSK in its secrets and loads the credentials only (stage 2), the gateway applies
#       the release naming the new file (stage 3: bundle-h2);
#   (3) its site's address (replace: bundle-h3); the site adds the new address and loads peer-config's new
#       connection first, then the gateway applies.
# (1) and (2) must lose no ping on any tunnel; (3) none on the other tenant's, and the lab states how many the
# changed tunnel lost. Woodgrove's SPIs and BGP sessions must stay as they were. Last, the base bundle goes back
# (the site first), so the checks after this one start from the host they expect. Sourced.

HITLESS_PINGS=/tmp/hitless
# hl_start TAG NS SIZE DST: a 10/s ping into one tunnel, every reply logged with its sequence number.
declare -A HL_PID
hl_start() {
  # (not through ns(): $! must be ping itself, which the SIGINT in hl_stop stops)
  ip netns exec "$2" ping -D -n -i 0.1 -s "$3" "$4" > "$HITLESS_PINGS-$1" 2>&1 &
  HL_PID[$1]=$!
}
hl_replies() { grep -c 'icmp_seq=' "$HITLESS_PINGS-$1"; }
hl_over() { [ "$(hl_replies "$1")" -gt "$2" ]; }
# hl_stop TAG: after 2 s more of replies (up to 60 s for a tunnel still coming back), stops the ping. Sets
# HL_SENT (sequence number of the last reply) and HL_LOST (the gaps before it); HL_BACK=0 when no reply came back.
hl_stop() {
  local after; after=$(hl_replies "$1")
  HL_BACK=1; wait_until 60 hl_over "$1" $((after + 20)) || HL_BACK=0
  kill -INT "${HL_PID[$1]}" 2> /dev/null; wait "${HL_PID[$1]}" 2> /dev/null
  local got; got=$(grep -o 'icmp_seq=[0-9]*' "$HITLESS_PINGS-$1" | cut -d= -f2 | sort -n -u)
  HL_SENT=$(echo "$got" | tail -n 1); HL_SENT=${HL_SENT:-0}
  HL_LOST=$((HL_SENT - $(echo "$got" | grep -c .)))
  # The lost sequence numbers with the time of the reply before each (ping -D), for the XFRM monitor's log.
  HL_GAPS=$(grep -oE '^\[[0-9.]+\].*icmp_seq=[0-9]+' "$HITLESS_PINGS-$1" | sed -E 's/^\[([0-9.]+)\].*icmp_seq=([0-9]+)/\2 \1/' | sort -n -u \
    | awk 'NR > 1 && $1 > p + 1 { printf "%s%d-%d after %s", sep, p + 1, $1 - 1, t; sep = ", " } { p = $1; t = $2 }')
}
HL_TUNNELS="IfCe1:chost:$C_SIZE IfWe1:whost:$W_SIZE IfWe2:whost:$W_SIZE"
hl_dst() { case $1 in IfWe2) echo 10.2.0.1 ;; *) echo 10.1.0.1 ;; esac; }
# contoso_conn: the name Contoso NY's connection lives under now (IfCe1, or IfCe1~2 after a make-before-break).
contoso_conn() { swan gw --list-sas 2> /dev/null | grep -oE '^IfCe1(~2)?: #[0-9]+, ESTABLISHED' | head -n 1 | cut -d: -f1; }
contoso_up() { local n; n=$(contoso_conn) && [ -n "$n" ] && sa_up "$n"; }

# xfrm_drops NS: the kernel's non-zero XFRM error counters in that namespace (/proc/net/xfrm_stat), "Name N" each.
xfrm_drops() { ns "$1" cat /proc/net/xfrm_stat | awk '$2 > 0 { print $1, $2 }' | sort; }
# xfrm_delta BEFORE AFTER: "Name +N" for each counter that grew: where a lost ping was dropped.
xfrm_delta() { join -a2 -e0 -o 0,1.2,2.2 <(echo "$1") <(echo "$2") | awk '$3 > $2 { printf "%s%s +%d", sep, $1, $3 - $2; sep = ", " }'; }

# c_sas: Contoso NY's IKE_SA (name and unique id) and its CHILD_SAs' SPIs on the gateway.
c_sas() {
  {
    swan gw --list-sas 2> /dev/null | awk '/^IfCe1(~2)?: #/ { for (i = 1; i <= NF; i++) if (i <= 2 || $i ~ /_[ir]\*?$/) print $1, $i }'
    ns gw ip xfrm state | awk '/^src / { spi = "" } /proto esp spi/ { for (i = 1; i < NF; i++) if ($i == "spi") spi = $(i + 1) }
      /if_id 0x1$/ { print "esp", spi }'
  } | sort | tr '\n' ' '
}

# site_initiates_new: the site's admin's steps for a rekey-class change (peer-config --rekey, docs/changes.md), with
# the gateway's apply run with --peer-first: peer-config's new connection is loaded first (site_reload); once the
# apply says it holds Contoso NY's new connection under its other name and waits for the peer (the line the gateway's
# operator passes on), the site initiates its new connection, so that the gateway is the responder of the new
# CHILD_SA, and then deletes its old CHILD_SA (not the IKE_SA): the gateway, that DELETE's responder, ends its old
# CHILD_SA (moving its traffic to the new one) before it answers, and the site drops the old inbound SA only on that
# answer. (An IKE_SA DELETE's responder answers first and ends its CHILD_SAs after its updown hook has run: ~1.3 s
# under emulation, while it still sends on the old SA.) The gateway ends the old IKE_SA after. In the background;
# its output in logs/swanctl-cny-initiate.log.
# gw_waits FROM: the gateway's apply said, after line FROM of its log, that it waits for the peer (--peer-first).
gw_waits() { tail -n +"$1" "$APPLY_LOG" | grep -qE 'IfCe1: new proposals loaded held as IfCe1(~2)?; waiting [0-9]+ s for the peer'; }
site_initiates_new() {
  local from; from=$(($(wc -l < "$APPLY_LOG") + 1))
  # The old CHILD_SA's unique id, as peer-config --rekey says: `swanctl --list-sas`, the number after its name.
  local old; old=$(swan cny --list-sas --ike IfCe1 2> /dev/null | grep -oE '^IfCe1: #[0-9]+' | head -n 1 | cut -d'#' -f2)
  local child; child=$(swan cny --list-sas --ike-id "$old" 2> /dev/null | grep -oE '^ +IfCe1: #[0-9]+, reqid' | head -n 1 | grep -oE '#[0-9]+' | cut -c2-)
  ( wait_until 60 gw_waits "$from" && swan cny --initiate --ike IfCe1 --child IfCe1 --timeout 30 \
      && swan cny --terminate --child-id "$child" --timeout 10 ) > "$LOGS/swanctl-cny-initiate.log" 2>&1 &
  HL_SITE_PID=$!
}

# hl_phase NAME BUNDLE STRICT MOVE PEER [APPLY ARGS...]: pings through every tunnel around one apply of BUNDLE; STRICT=1: Contoso NY's
# tunnel must lose none either, STRICT=N (N > 1): at most N; MOVE=1: Contoso NY must move to a second IKE_SA under its other name, MOVE=0: its
# IKE_SA and CHILD_SAs must stay exactly as they were; PEER=1: the site initiates the new IKE_SA (site_initiates_new).
# Prints one line per tunnel with its counts (checks report).
hl_phase() {
  local name=$1 bundle=$2 strict=$3 move=${4:-1} peer=${5:-0} t
  shift 5 2> /dev/null || shift $#
  local spis0; spis0=$(w_spis)
  local c0; c0=$(contoso_conn)
  local cs0; cs0=$(c_sas)
  local xg0 xc0; xg0=$(xfrm_drops gw) xc0=$(xfrm_drops cny)
  # Every XFRM state and policy event on the gateway, timestamped, next to the pings' (logs/xfrm-gw-PHASE.log).
  ip -n gw -timestamp xfrm monitor > "$LOGS/xfrm-gw-${name:1:1}.log" 2>&1 &
  local mon=$!
  # ... and on Contoso NY's site, to see which end installs the new SAs first.
  ip -n cny -timestamp xfrm monitor > "$LOGS/xfrm-cny-${name:1:1}.log" 2>&1 &
  local mon2=$!
  for t in $HL_TUNNELS; do
    IFS=: read -r tag host size <<< "$t"
    hl_start "$tag" "$host" "$size" "$(hl_dst "$tag")"
  done
  for t in $HL_TUNNELS; do wait_until 10 hl_over "${t%%:*}" 10; done
  local from; from=$(($(wc -l < "$APPLY_LOG") + 1))
  [ "$peer" = 1 ] && site_initiates_new
  apply_bundle "hitless: $name: s2sgw apply${*:+ $*}" "$bundle" "$@"
  [ "$peer" = 1 ] && { wait "$HL_SITE_PID" 2> /dev/null; note "hitless: $name: the site's swanctl --initiate of its new connection: $(grep -cE 'IKE_SA .* established|CHILD_SA .* established' "$LOGS/swanctl-cny-initiate.log") established line(s), $(grep -oE 'initiate (completed successfully|failed.*)' "$LOGS/swanctl-cny-initiate.log" | head -n 1)"; }
  local mbb; mbb=$(tail -n +"$from" "$APPLY_LOG" | grep -oE "IfCe1 (replaced|rekeyed) make-before-break[^)]*\)|IfCe1's new credentials proved by a childless IKE_SA[^(]*" | tail -n 1)
  for t in $HL_TUNNELS; do
    local tag=${t%%:*}
    hl_stop "$tag"
    local what="$HL_SENT sent before the last reply, $HL_LOST lost${HL_GAPS:+ (seq $HL_GAPS)}$( [ "$HL_BACK" = 0 ] && echo ', no reply after the apply')"
    if [ "$tag" = IfCe1 ] && [ "$strict" != 1 ]; then
      check "hitless: $name: Contoso NY's pings (the changed tunnel) came back, at most $strict lost (one IKE_AUTH exchange: the site sends on its new CHILD_SA before the gateway can read it)" "$what; ${mbb:-no make-before-break logged}" \
        test "$HL_SENT" -gt 50 -a "$HL_BACK" = 1 -a "$HL_LOST" -le "$strict"
    else
      check "hitless: $name: $tag's 10/s pings lost none" "$what$( [ "$tag" = IfCe1 ] && echo "; ${mbb:-no make-before-break logged}")" \
        test "$HL_SENT" -gt 50 -a "$HL_LOST" = 0 -a "$HL_BACK" = 1
    fi
  done
  kill "$mon" "$mon2" 2> /dev/null; wait "$mon" "$mon2" 2> /dev/null
  local xg1 xc1; xg1=$(xfrm_drops gw) xc1=$(xfrm_drops cny)
  note "hitless: $name: XFRM drops during it: gateway $(xfrm_delta "$xg0" "$xg1" | grep . || echo none); Contoso NY's site $(xfrm_delta "$xc0" "$xc1" | grep . || echo none)"
  local spis1; spis1=$(w_spis)
  check "hitless: $name: Woodgrove's SPIs unchanged" "before: ${spis0:-none}; after: ${spis1:-none}" test -n "$spis0" -a "$spis0" = "$spis1"
  local c1; c1=$(contoso_conn)
  local cs1; cs1=$(c_sas)
  if [ "$move" = 1 ]; then
    check "hitless: $name: Contoso NY moved to its other name (a second IKE_SA)" "before: ${c0:-none}, after: ${c1:-none}" test -n "$c0" -a -n "$c1" -a "$c0" != "$c1"
    # The old CHILD_SA's updown `down-client` (same child name, IfCe1) runs after the new one's `up-client`: the
    # post-connect route must stay, since the new CHILD_SA carries the connection.
    check "hitless: $name: Contoso NY's post-connect route 172.16.1.0/24 is still in its table after the old CHILD_SA went" \
      "$(ns gw ip route show table 1001 172.16.1.0/24 | grep -v 'proto bgp' | head -n 1 | grep . || echo 'none but a BGP one')" pc_route
  else
    check "hitless: $name: Contoso NY's IKE_SA and CHILD_SA SPIs unchanged (the new PSK proved by a childless IKE_SA)" "before: ${cs0:-none}; after: ${cs1:-none}; ${mbb:-no proof logged}" \
      test -n "$cs0" -a "$cs0" = "$cs1" -a -n "$mbb"
  fi
}

# site_reload IFACE JSON: the site's swanctl.conf from that peer-config JSON, loaded whole (the site's charon keeps
# its established IKE_SA: the connection's children trap, so reloading only moves the trap policies).
site_reload() {
  cp "$2" "$OUT/peers/$1.json"
  site_from_peer cny "$1" && load_site_swan cny "$1"
}

check_hitless() {
  ping1 chost "$C_SIZE" 10.1.0.1; ping1 whost "$W_SIZE" 10.1.0.1; ping1 whost "$W_SIZE" 10.2.0.1
  wait_until 30 contoso_up; wait_until 30 sa_up IfWe1; wait_until 30 sa_up IfWe2
  wait_until 40 bgp_up woodgrove 10.1.0.1; wait_until 40 bgp_up woodgrove 10.2.0.1
  local bgp0; bgp0=$(bgp_sessions woodgrove)
  local base=$OUT/peers/IfCe1.json
  cp "$base" /tmp/IfCe1-base.json

  # (1) Proposals (rekey): the site takes the new proposals first (peer-config's connection for bundle-h1). By
  # default the supported lossless way (docs/changes.md): the gateway's apply with --peer-first holds the new
  # connection, the site initiates it and then deletes its old CHILD_SA (peer-config --rekey's steps), and the phase
  # must lose none. S2SGW_LAB_REKEY=gateway measures apply's default instead (the gateway initiates: at most 10).
  if [ "${S2SGW_LAB_REKEY:-}" = gateway ]; then
    site_reload IfCe1 "$OUT/peers/IfCe1-h1.json"
    hl_phase "(1) proposal change (rekey), the gateway initiating" "$OUT/bundle-h1/gw1" 10 1 0
  else
    local steps; steps=$(grep -cE 'swanctl --initiate --ike IfCe1 --child IfCe1|swanctl --terminate --child-id' "$OUT/peers/IfCe1-rekey.txt" 2> /dev/null || true)
    check "hitless: (1) peer-config --rekey names the site's initiate and its old CHILD_SA's terminate" "${steps:-0} line(s) in peers/IfCe1-rekey.txt" test "${steps:-0}" -ge 2
    site_reload IfCe1 "$OUT/peers/IfCe1-h1.json"
    hl_phase "(1) proposal change (rekey), the peer first" "$OUT/bundle-h1/gw1" 1 1 1 --peer-first 30
  fi
  local prop; prop=$(swan gw --list-sas --ike "$(contoso_conn)" 2> /dev/null | grep -oE 'AES_GCM_16-128[^ ]*|ECP_256' | sort -u | tr '\n' ' ')
  check "hitless: (1) Contoso NY's SAs use the new proposals" "${prop:-none of AES_GCM_16-128, ECP_256}" test -n "$prop"

  # (2) PSK rotation, docs/psk-rotation.md. Stage 1: the gateway's operator generates the PSK (printed once).
  mkdir -p -m 700 /etc/s2sgw/secrets
  local psk ref
  psk=$(STRONGSWAN_CONF=$RUN/gw/strongswan.conf s2sgw secret rotate --tenant contoso --connection IfCe1 --generate 2> /tmp/rotate.err)
  ref=$(grep -oE 'file:[^ ]*\.psk' /tmp/rotate.err | head -n 1)
  check "hitless: (2) stage 1: s2sgw secret rotate --generate staged a new PSK" "${#psk} characters printed once; reference ${ref:-none} (the bundle names file:/etc/s2sgw/secrets/contoso/IfCe1.2.psk); mode $(stat -c %a /etc/s2sgw/secrets/contoso/IfCe1.2.psk 2> /dev/null)" \
    test "${#psk}" -ge 40 -a "$ref" = file:/etc/s2sgw/secrets/contoso/IfCe1.2.psk -a "$(stat -c %a /etc/s2sgw/secrets/contoso/IfCe1.2.psk 2> /dev/null)" = 600
  # Stage 2: the site puts it in its secrets and loads the credentials only (the established IKE_SA is untouched).
  local grab; grab=$(grep -c 'swanctl --load-creds' "$OUT/peers/IfCe1-rotation.txt" || true)
  cp "$OUT/peers/IfCe1-h2.json" "$OUT/peers/IfCe1.json"
  site_from_peer cny IfCe1
  swan cny --load-creds --noprompt --file "$RUN/cny/swanctl.conf" > "$LOGS/swanctl-cny-creds.log" 2>&1
  local rc=$?
  check "hitless: (2) stage 2: the site loads the new PSK with swanctl --load-creds (as peer-config --psk-rotation says)" "exit $rc; the rotation text names it $grab time(s); Contoso NY still up under $(contoso_conn)" \
    test "$rc" = 0 -a "$grab" -gt 0
  # Stage 3: the gateway's apply of the release that names the new file.
  hl_phase "(2) PSK rotation (replace)" "$OUT/bundle-h2/gw1" 1 0

  # (3) Site address: the site gets 131.107.0.11 and peer-config's connection for it, then the gateway applies.
  ns cny ip address add 131.107.0.11/24 dev eth0
  site_reload IfCe1 "$OUT/peers/IfCe1-h3.json"
  hl_phase "(3) site address change (replace)" "$OUT/bundle-h3/gw1" 10
  local peer; peer=$(swan gw --list-sas --ike "$(contoso_conn)" 2> /dev/null | grep -oE '131\.107\.0\.1[01]\[' | head -n 1 | tr -d '[')
  check "hitless: (3) Contoso NY's IKE_SA is with the new site address" "remote ${peer:-none}" test "$peer" = 131.107.0.11

  local bgp1; bgp1=$(bgp_sessions woodgrove)
  check "hitless: Woodgrove's BGP sessions not reset by the three changes" "before: $(sessions_text "$bgp0"); after: $(sessions_text "$bgp1")" not_reset "$bgp0" "$bgp1"
  local cb; cb=$(bgp_sessions contoso)
  note "hitless: Contoso's own BGP session after the three changes: $(sessions_text "$cb")"

  # Back to the base bundle (the site first), so that the checks after this one find the host they expect.
  site_reload IfCe1 /tmp/IfCe1-base.json
  apply_bundle "hitless: back to the base bundle" "$BUNDLE"
  wait_until 30 contoso_up
  # The connection lives under either name (the PSK phase kept its IKE_SA, so the way back may land on IfCe1~2): a
  # full apply of the same bundle loads everything with swanctl --load-all, which unloads IfCe1~2 but leaves its
  # IKE_SA up, and then moves the connection back under IfCe1 make-before-break (settleAlternates).
  if [ "$(contoso_conn)" = 'IfCe1~2' ]; then
    apply_bundle "hitless: a full apply of the base bundle with Contoso NY under IfCe1~2" "$BUNDLE" --full
    local settled; settled=$(grep -oE 'IfCe1: (moved from its alternate|terminated IKE_SA|unloaded its alternate)[^;]*' "$APPLY_LOG" | tail -n 2 | tr '\n' ' ')
    check "hitless: the full apply moved Contoso NY back under IfCe1 (settling the alternate name)" "${settled:-nothing logged}; connections: $(swan gw --list-conns 2> /dev/null | grep -oE '^IfCe1(~2)?:' | tr '\n' ' ')" \
      test -n "$settled"
    wait_until 30 contoso_up
  fi
  ping1 chost "$C_SIZE" 10.1.0.1
  check "hitless: Contoso NY is up again under its own name" "$(contoso_conn)" test "$(contoso_conn)" = IfCe1
  ns cny ip address del 131.107.0.11/24 dev eth0
}
