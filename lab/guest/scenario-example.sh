# The bundled example (gateways/gw1.yaml, tenants/contoso.yaml, tenants/woodgrove.yaml) on a real
# data plane: topology, gateway from the bundle, sites, then the checks. Sourced by main.sh.
set -u
source "$LAB/guest/topology.sh"
source "$LAB/sites-by-hand.sh"
source "$LAB/guest/checks.sh"
BUNDLE=$OUT/bundle/gw1

# The lab's PSKs: the bundle names them (env:NAME); apply resolves them from its environment.
export CONTOSO_NY_PSK=lab-contoso-ny-not-a-secret
export WOODGROVE_NY_PSK=lab-woodgrove-ny-not-a-secret
export WOODGROVE_SFO_PSK=lab-woodgrove-sfo-not-a-secret

modprobe -a vrf 8021q xfrm_interface esp4 veth dummy bridge
namespaces

# The daemons a gateway host and the sites run before any configuration (systemd would start
# them on a real host). staticd carries FRR's static routes; the sites need none. They start
# before the links exist (they follow link changes), so their slow first start (~10 s to read
# their libraries over 9p) overlaps with building the topology.
start_charon gw "$BUNDLE/swanctl/strongswan.d/s2sgw.conf"
for s in cny wny wsfo; do start_charon "$s"; done
topology
phase topology
start_frr gw zebra staticd bgpd
for s in cny wny wsfo; do start_frr "$s" zebra bgpd; done
for n in gw cny wny wsfo; do
  wait_until 20 charon_ready "$n" || fail "charon in $n" "no VICI socket after 20 s"
  wait_until 20 frr_ready "$n" || fail "FRR in $n" "vtysh gets no answer after 20 s"
done
phase daemons

# The sites first: they stand before the gateway dials them. TEMPORARY hand-written configs
# until `s2sgw peer-config` exists.
site_by_hand cny 131.107.0.10 "$CONTOSO_NY_PSK" 65001 10.1.0.1 10.1.0.0/16 172.16.1.0/24
site_by_hand wny 131.107.1.10 "$WOODGROVE_NY_PSK" 65001 10.1.0.1 10.1.0.0/16 172.16.2.0/24
site_by_hand wsfo 131.107.2.10 "$WOODGROVE_SFO_PSK" 65002 10.2.0.1 10.2.0.0/16 172.16.3.0/24
for s in cny wny wsfo; do
  swan "$s" --load-all --noprompt --file "$RUN/$s/swanctl.conf" > "$LOGS/swanctl-$s.log" 2>&1 \
    || fail "sites: $s loads its swanctl.conf" "$(tail -n 2 "$LOGS/swanctl-$s.log" | tr '\n' ' ')"
  vty "$s" -f "$RUN/$s/frr.conf" >> "$LOGS/vtysh-$s.log" 2>&1
  counters "$s"
done
counters chost; counters whost; counters inet
phase sites

# The gateway: ONLY the bundle. TEMPORARY by-hand steps until `s2sgw apply` is in the CLI.
if bash "$LAB/gateway-by-hand.sh" gw "$BUNDLE" "$RUN/gw" > "$LOGS/apply-gw.log" 2>&1; then
  pass "apply: gateway set up from the bundle" "$(grep -c 'gateway-by-hand:' "$LOGS/apply-gw.log") steps, sysctl links frr strongswan nftables tc"
else
  fail "apply: gateway set up from the bundle" "$(tail -n 3 "$LOGS/apply-gw.log" | tr '\n' ' ')"
fi
sas_after_load=$(swan gw --list-sas | grep -c ' ESTABLISHED' || true)
phase apply

for c in on-demand child-sas isolation bgp filters rate redial; do
  wanted "$c" || continue
  "check_${c//-/_}"
  [ "$c" = child-sas ] && check_no_charon_routes
  phase "$c"
done
