# The bundled example (gateways/gw1.yaml, tenants/contoso.yaml, tenants/woodgrove.yaml) on a real
# data plane: topology, sites from `s2sgw peer-config`, the gateway from `s2sgw apply`, then the checks.
# Sourced by main.sh. The bundles and site configs were made on the host (lab/host/prepare-example.sh).
set -u
source "$LAB/guest/topology.sh"
source "$LAB/guest/sites.sh"
source "$LAB/guest/gateway.sh"
source "$LAB/guest/checks.sh"
source "$LAB/guest/checks-change.sh"
source "$LAB/guest/checks-hitless.sh"
source "$LAB/guest/checks-foreign.sh"
source "$LAB/guest/checks-operate.sh"
source "$LAB/guest/second.sh"
source "$LAB/guest/interop.sh"
source "$LAB/guest/ha.sh"
BUNDLE=$OUT/bundle/gw1

# The lab's PSKs: the bundle names them (env:NAME); apply resolves them from its environment, and the
# sites' secrets blocks are filled from the same values.
export CONTOSO_NY_PSK=lab-contoso-ny-not-a-secret
export WOODGROVE_NY_PSK=lab-woodgrove-ny-not-a-secret
export WOODGROVE_SFO_PSK=lab-woodgrove-sfo-not-a-secret
# The second scenario's EAP secret is a file reference (file:/etc/s2sgw/secrets/litware-ifle1, mode 0600).
LITWARE_EAP=lab-litware-eap-not-a-secret
# Which namespace is the site of which connection.
declare -A SITE=([IfCe1]=cny [IfWe1]=wny [IfWe2]=wsfo)

# Only what the lab's topology needs: the gateway's modules are apply's business.
modprobe -a veth dummy bridge
namespaces

# The daemons a gateway host and the sites run before any configuration (systemd would start them on a
# real host). staticd carries FRR's static routes; the sites need none. They start before the links
# exist (they follow link changes), so their slow first start (~10 s to read their libraries over 9p)
# overlaps with building the topology. The gateway's charon reads what apply writes to
# /etc/strongswan.d/ (a glob: nothing matches before the first apply).
gateway_start_settings
start_charon gw "/etc/strongswan.d/s2sgw*.conf"
for s in cny wny wsfo tsite lsite; do start_charon "$s"; done
wanted interop && interop_daemons
topology
second_topology
interop_topology
phase topology
start_frr gw zebra staticd bgpd
for s in cny wny wsfo; do start_frr "$s" zebra bgpd; done
# (FRR follows link changes, but zebra started before a quick batch can miss an address: start after it.)
wanted interop && start_frr asite zebra bgpd
for n in gw cny wny wsfo; do
  wait_until 20 charon_ready "$n" || fail "charon in $n" "no VICI socket after 20 s"
  wait_until 20 frr_ready "$n" || fail "FRR in $n" "vtysh gets no answer after 20 s"
done
for n in tsite lsite; do wait_until 20 charon_ready "$n" || fail "charon in $n" "no VICI socket after 20 s"; done
phase daemons

# The sites' IPsec first, so they stand before the gateway dials them. Their BGP follows the on-demand
# check: a site router's session would dial the tunnel from the site's side (peer-config gives the site
# start_action = trap too), and that check is about the gateway dialing on demand.
for c in IfCe1 IfWe1 IfWe2; do site_from_peer "${SITE[$c]}" "$c" && load_site_swan "${SITE[$c]}" "$c"; done
for s in cny wny wsfo chost whost inet; do counters "$s"; done
phase sites

# The gateway: ONLY `s2sgw apply` of the bundle, with the lab's secrets in its environment.
apply_bundle "apply: gateway set up by s2sgw apply of the bundle" "$BUNDLE"
sas_after_load=$(swan gw --list-sas | grep -c ' ESTABLISHED' || true)
phase apply
if [ "$APPLY_RC" != 0 ]; then
  fail "checks" "skipped: the gateway was not set up"; CHECKS=none
fi

for c in on-demand child-sas isolation bgp operate post-connect filters rate redial hitless change faults removal foreign-device second interop max-prefixes ha; do
  if [ "$c" = child-sas ]; then
    # The sites' routers now: their sessions ride the tunnels the checks bring up.
    for s in cny wny wsfo; do load_site_frr "$s"; done
  fi
  wanted "$c" || continue
  # hitless (issue 18) and ha (issue 21) run only when named (S2SGW_LAB_CHECKS=hitless or ha): neither passes twice in a
  # row yet (docs/psk-rotation.md#measured-in-the-lab, docs/ha.md), so neither is part of the default run.
  [ "$c" = hitless ] || [ "$c" = ha ] && [[ ",$CHECKS," != *",$c,"* ]] && continue
  "check_${c//-/_}"
  [ "$c" = child-sas ] && check_no_charon_routes
  phase "$c"
done
