#!/bin/bash
# Host side of the HA check (issue 21, lab/guest/ha.sh, docs/ha.md): the example's config plus a second and
# third gateway (lab/ha/gateways/gw2.yaml, gw3.yaml) and Northwind (lab/ha/tenants/northwind.yaml), a tenant on
# the pair gw2 + gw3 with one static and one BGP site. gw1 and its tenants are not touched by it (their bundle is not applied
# from here).
#
# Usage: prepare-ha.sh RUN_DIR CLI_JS   (run by prepare-example.sh)
#   config-ha/          the example + lab/ha/*, from config/ (the same lock: every id of gw1's tenants stays put)
#   bundle-ha/gw2, gw3  `s2sgw build` of it: the pair's bundles (each with keepalived/keepalived.conf)
#   bundle-ha2/         the same with Northwind Seattle's rate limit changed: the drained rolling apply
#   peers/IfNe1.json    `s2sgw peer-config --format json` of Northwind's static connection on the pair: two swanctl
#                       connections (IfNe1-gw2, IfNe1-gw3), `routes` (the site's XFRM interfaces and metrics), `updown`
#   peers/IfNe2.json    the same for its BGP connection (Boston), with `frr`: a session to each gateway's own address
set -euo pipefail
run=$1 cli=$2
lab=$(cd "$(dirname "$0")/.." && pwd)
s2sgw() { node -e "require(process.argv[1]).main(process.argv.slice(2)).then((c) => process.exit(c))" "$cli" "$@"; }
cp -r "$run/config" "$run/config-ha"
cp "$lab"/ha/gateways/*.yaml "$run/config-ha/gateways/"
cp "$lab"/ha/tenants/*.yaml "$run/config-ha/tenants/"
s2sgw build --config "$run/config-ha" --out "$run/bundle-ha" > "$run/bundle-ha.log" 2>&1 \
  || { cat "$run/bundle-ha.log" >&2; echo "prepare: s2sgw build of config-ha failed" >&2; exit 1; }
[ -f "$run/bundle-ha/gw2/keepalived/keepalived.conf" ] && [ -f "$run/bundle-ha/gw3/keepalived/keepalived.conf" ] \
  || { echo "prepare: the pair's bundles have no keepalived.conf" >&2; exit 1; }
for c in IfNe1 IfNe2; do
  s2sgw peer-config --config "$run/config-ha" --tenant northwind --connection "$c" --format json > "$run/peers/$c.json" \
    || { echo "prepare: s2sgw peer-config --tenant northwind --connection $c failed" >&2; exit 1; }
done
# A change to both gateways for the drained rolling apply (lab/guest/ha.sh): Northwind Seattle's rate limit (tc only),
# built from config-ha after its build (the same lock).
cp -r "$run/config-ha" "$run/config-ha2"
node "$lab/host/edit-yaml.js" "$run/config-ha2/tenants/northwind.yaml" connections.0.rate '{"txKbps":4096,"rxKbps":4096}'
s2sgw build --config "$run/config-ha2" --out "$run/bundle-ha2" > "$run/bundle-ha2.log" 2>&1 \
  || { cat "$run/bundle-ha2.log" >&2; echo "prepare: s2sgw build of config-ha2 failed" >&2; exit 1; }
