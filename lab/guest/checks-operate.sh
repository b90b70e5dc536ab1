# Day-2 operation on the lab's gateway (issue 16): `s2sgw status` exit codes on a healthy host and
# after a VRF was deleted by hand, and `s2sgw metrics` showing each tunnel up. Sourced by the scenario;
# runs after the BGP check (every tunnel and session up) and leaves the host as it found it.

# gw_status ARGS...: `s2sgw status` against the gateway, its JSON in $LOGS/status.json; returns its exit code.
gw_status() {
  STRONGSWAN_CONF=$RUN/gw/strongswan.conf s2sgw status --netns gw --vici "unix://$RUN/gw/charon.vici" --frr-pathspace gw --format json "$@" > "$LOGS/status.json" 2>> "$APPLY_LOG"
}
# degraded_list: what the last status found degraded, one "tenant:what" word each.
degraded_list() { jq -r '[.degraded[] | "\(.tenant // "host"):\(.what)"] | join(" ")' "$LOGS/status.json" 2> /dev/null; }
status_is() { gw_status; [ "$?" = "$1" ]; }

check_operate() {
  # Every tunnel up and every session established, as the checks before leave them (or dialed here).
  ping1 chost "$C_SIZE" 10.1.0.1; ping1 whost "$W_SIZE" 10.1.0.1; ping1 whost "$W_SIZE" 10.2.0.1
  local c v rc
  for c in IfCe1 IfWe1 IfWe2; do wait_until 30 sa_up "$c"; done
  for v in contoso:10.1.0.1 woodgrove:10.1.0.1 woodgrove:10.2.0.1; do wait_until 40 bgp_up "${v%%:*}" "${v#*:}"; done

  gw_status; rc=$?
  check "status: exit 0 on the healthy gateway" "exit $rc, health $(jq -r .health "$LOGS/status.json" 2> /dev/null), degraded: $(degraded_list)" test "$rc" = 0

  local prom=$LOGS/s2sgw.prom up
  STRONGSWAN_CONF=$RUN/gw/strongswan.conf s2sgw metrics --netns gw --vici "unix://$RUN/gw/charon.vici" --frr-pathspace gw --output "$prom" 2>> "$APPLY_LOG"
  up=$(grep -cE '^s2sgw_connection_up\{tenant="(contoso",connection="IfCe1|woodgrove",connection="IfWe1|woodgrove",connection="IfWe2)"\} 1$' "$prom" 2> /dev/null)
  check "metrics: the textfile shows each tunnel up" "$up of 3 s2sgw_connection_up 1; $(grep -c '^s2sgw_' "$prom" 2> /dev/null) samples; $(grep -E '^s2sgw_tenant_bgp_sessions_established' "$prom" | tr '\n' ' ')" test "$up" = 3
  if command -v promtool > /dev/null; then
    check "metrics: promtool check metrics accepts the file" "$(promtool check metrics < "$prom" 2>&1 | head -n 3 | tr '\n' ' ')" bash -c "promtool check metrics < '$prom'"
  fi

  # An operator (or something else) deletes a tenant's VRF by hand: status says degraded (3), naming it.
  ns gw ip link del woodgrove
  gw_status; rc=$?
  check "status: exit 3 (degraded) after the woodgrove VRF was deleted by hand" "exit $rc, degraded: $(degraded_list)" \
    bash -c "[ $rc = 3 ] && jq -e '[.degraded[] | select(.tenant == \"woodgrove\" and .what == \"vrf-missing\")] | length == 1' '$LOGS/status.json' > /dev/null"
  gw_status --tenant contoso; rc=$?
  check "status --tenant contoso: exit 0, the other tenant's VRF is not its business" "exit $rc, degraded: $(degraded_list)" test "$rc" = 0

  # `apply --full` of the same bundle puts the VRF back; the sessions in it are reset to come back at once.
  apply_bundle "status: apply --full puts the deleted VRF back" "$BUNDLE" --full
  vty gw -c 'clear bgp vrf woodgrove *' > /dev/null 2>&1
  for v in woodgrove:10.1.0.1 woodgrove:10.2.0.1; do wait_until 60 bgp_up "${v%%:*}" "${v#*:}"; done
  wait_until 30 status_is 0
  gw_status; rc=$?
  check "status: exit 0 again after apply --full" "exit $rc after ${WAITED}s, degraded: $(degraded_list)" test "$rc" = 0
}
