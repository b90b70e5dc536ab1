#!/bin/bash
# Host side of the example scenario: the configs, bundles and site configs the guest applies, all made
# with s2sgw itself before the VM boots (node runs much faster here than under emulation).
#
# Usage: prepare-example.sh RUN_DIR CLI_JS   (run by lab/run.sh; everything lands in RUN_DIR)
#
#   config/          the bundled example (gateways/, tenants/, allocations.lock.yaml), with two lab edits to
#                    Contoso: IfCe1 gets a post-connection route 172.16.1.0/24 (check 5; also a destination
#                    outside 10.1.0.0/16 for the filter checks), and maxPrefixes 2 (check 4b)
#   bundle/gw1       `s2sgw build` of config/: what the gateway is set up from
#   peers/IFACE.json `s2sgw peer-config --format json` of every connection: each site's swanctl.conf, FRR
#                    snippet and the secrets it needs (as references)
#   bundle-change/   Contoso changed (rate 2048 kbit/s both ways, inbound tcp/22 permitted): check 8
#   bundle-removal/  Woodgrove's file removed: check 9
#   bundle-rejected/ bundle-change with a broken nft line (manifest updated to match): nft refuses it (check 10)
#   bundle-h1..h3/   Contoso NY's proposals, then PSK, then site address changed: the hitless check (issue 18)
set -euo pipefail
run=$1 cli=$2
lab=$(cd "$(dirname "$0")/.." && pwd)
repo=$(dirname "$lab")
s2sgw() { node -e "require(process.argv[1]).main(process.argv.slice(2)).then((c) => process.exit(c))" "$cli" "$@"; }
edit() { node "$lab/host/edit-yaml.js" "$@"; }
build() { s2sgw build --config "$1" --out "$2" > "$2.log" 2>&1 || { cat "$2.log" >&2; echo "prepare: s2sgw build of $1 failed" >&2; exit 1; }; }

mkdir -p "$run/config"
cp -r "$repo/gateways" "$repo/tenants" "$run/config/"
[ -f "$repo/allocations.lock.yaml" ] && cp "$repo/allocations.lock.yaml" "$run/config/"
edit "$run/config/tenants/contoso.yaml" connections.0.postConnectRoutes '[{"to":"172.16.1.0/24"}]'
# maxPrefixes 2: exactly what Contoso NY advertises (10.1.0.0/16 and 172.16.1.0/24), so one more prefix
# from the site crosses it (check 4b). The example's 1000 would need a thousand announcements.
edit "$run/config/tenants/contoso.yaml" bgp.maxPrefixes 2
build "$run/config" "$run/bundle"

# Every connection's site, from peer-config (one JSON per connection: swanctl, frr, secrets).
mkdir -p "$run/peers"
jq -r '.tenants | to_entries[] | .key as $t | .value.connections[] | "\($t) \(.)"' "$run/bundle/gw1/manifest.json" |
  while read -r tenant conn; do
    s2sgw peer-config --config "$run/config" --tenant "$tenant" --connection "$conn" --format json > "$run/peers/$conn.json" \
      || { echo "prepare: s2sgw peer-config --tenant $tenant --connection $conn failed" >&2; exit 1; }
  done

# The variants start from config/ after its build, so they share its allocations.lock.yaml (ids stay put).
cp -r "$run/config" "$run/config-change"
edit "$run/config-change/tenants/contoso.yaml" connections.0.rate '{"txKbps":2048,"rxKbps":2048}'
edit "$run/config-change/tenants/contoso.yaml" filters.1.permit.+ '{"destination":"192.168.0.0/29","protocol":"tcp","destinationPort":22}'
build "$run/config-change" "$run/bundle-change"

# Issue 18's hitless check (lab/guest/checks-hitless.sh), each variant on top of the one before: Contoso NY's
# proposals change (rekey), then its PSK is rotated to the file `s2sgw secret rotate` writes in the guest (replace),
# then its site moves to 131.107.0.11 (replace). Each variant's site config comes from peer-config too.
cp -r "$run/config" "$run/config-h1"
edit "$run/config-h1/tenants/contoso.yaml" connections.0.ike '{"proposals":["aes128gcm16-prfsha256-ecp256"],"lifetime":"8h"}'
edit "$run/config-h1/tenants/contoso.yaml" connections.0.esp '{"proposals":["aes128gcm16-ecp256"],"lifetime":"1h"}'
build "$run/config-h1" "$run/bundle-h1"
cp -r "$run/config-h1" "$run/config-h2"
edit "$run/config-h2/tenants/contoso.yaml" connections.0.auth.psk '"file:/etc/s2sgw/secrets/contoso/IfCe1.2.psk"'
build "$run/config-h2" "$run/bundle-h2"
cp -r "$run/config-h2" "$run/config-h3"
edit "$run/config-h3/tenants/contoso.yaml" connections.0.destination '"131.107.0.11"'
build "$run/config-h3" "$run/bundle-h3"
for v in h1 h2 h3; do
  s2sgw peer-config --config "$run/config-$v" --tenant contoso --connection IfCe1 --format json > "$run/peers/IfCe1-$v.json" \
    || { echo "prepare: s2sgw peer-config of config-$v failed" >&2; exit 1; }
done
s2sgw peer-config --config "$run/config-h1" --tenant contoso --connection IfCe1 --psk-rotation > "$run/peers/IfCe1-rotation.txt" \
  || { echo "prepare: s2sgw peer-config --psk-rotation failed" >&2; exit 1; }
# The site's steps for (1), the proposal change (the gateway's apply --peer-first waits for them).
s2sgw peer-config --config "$run/config-h1" --tenant contoso --connection IfCe1 --rekey > "$run/peers/IfCe1-rekey.txt" \
  || { echo "prepare: s2sgw peer-config --rekey failed" >&2; exit 1; }

cp -r "$run/config" "$run/config-removal"
rm "$run/config-removal/tenants/woodgrove.yaml"
build "$run/config-removal" "$run/bundle-removal"

# A bundle a real tool rejects: the change bundle with one nft rule misspelt, its manifest updated so the
# bundle itself verifies (as if the compiler had a bug). apply's reload-nftables (nft -f, all-or-nothing) must
# refuse it, and the switch roll back.
cp -r "$run/bundle-change" "$run/bundle-rejected"
nft=$run/bundle-rejected/gw1/nftables/s2sgw.nft
grep -q 'counter drop comment "tenants/contoso.yaml' "$nft" || { echo "prepare: no Contoso drop rule to break in $nft" >&2; exit 1; }
sed -i '0,/counter drop comment "tenants\/contoso.yaml/s//counter dorp comment "tenants\/contoso.yaml/' "$nft"
# The manifest as the compiler would have written it: the file's sha256, and Contoso's digest moved (it
# covers Contoso's sections, one of which changed; apply learns from it which tenants to reload).
sum=$(sha256sum "$nft" | cut -d' ' -f1)
digest=$(jq -r .tenants.contoso.digest "$run/bundle-rejected/gw1/manifest.json" | cat - "$nft" | sha256sum | cut -d' ' -f1)
jq --arg s "$sum" --arg d "$digest" '.files["nftables/s2sgw.nft"].sha256 = $s | .tenants.contoso.digest = $d' \
  "$run/bundle-rejected/gw1/manifest.json" > "$run/manifest.tmp"
mv "$run/manifest.tmp" "$run/bundle-rejected/gw1/manifest.json"

# The second scenario, applied on top of the removal: Tailspin (VSID/VXLAN, certificate, IPv6 outer
# addresses) and Litware (EAP-MSCHAPv2), from lab/second/tenants/. Their sites come from peer-config too.
cp -r "$run/config-removal" "$run/config-second"
cp "$lab"/second/tenants/*.yaml "$run/config-second/tenants/"
build "$run/config-second" "$run/bundle-second"
for tc in tailspin:IfTe1 litware:IfLe1; do
  s2sgw peer-config --config "$run/config-second" --tenant "${tc%:*}" --connection "${tc#*:}" --format json > "$run/peers/${tc#*:}.json" \
    || { echo "prepare: s2sgw peer-config --tenant ${tc%:*} --connection ${tc#*:} failed" >&2; exit 1; }
done

# A throwaway CA (strongSwan's pki, ECDSA: quick), the gateway's identity (gateways/gw1.yaml names
# /etc/s2sgw/pki/gw1.pem, gw1.key, fabrikam-root.pem) and Tailspin's site certificate with the subject
# its tenant file names. The guest copies them where the configs point.
pki=$run/pki
mkdir -p "$pki"
pki --gen --type ecdsa --size 256 --outform pem > "$pki/ca.key"
pki --self --ca --lifetime 30 --in "$pki/ca.key" --type ecdsa --dn "CN=Fabrikam Lab Root, O=Fabrikam" --outform pem > "$pki/ca.pem"
issue() {  # issue NAME DN SAN...
  local name=$1 dn=$2 san; shift 2
  pki --gen --type ecdsa --size 256 --outform pem > "$pki/$name.key"
  pki --pub --in "$pki/$name.key" --type ecdsa \
    | pki --issue --lifetime 30 --cacert "$pki/ca.pem" --cakey "$pki/ca.key" --dn "$dn" $(for san in "$@"; do echo --san "$san"; done) --outform pem > "$pki/$name.pem"
}
issue gw1 "CN=gw1.fabrikam.example, O=Fabrikam" gw1.fabrikam.example 203.0.113.10 2001:db8:ffff::10
issue IfTe1 "CN=edge.tailspin.example, O=Tailspin Toys" edge.tailspin.example

# Interoperability (issue 22): libreswan sites and a site behind NAT, on top of the second scenario.
bash "$lab/host/prepare-interop.sh" "$run" "$cli"

# High availability (issue 21): a tenant on the pair gw2 + gw3, for the `ha` check (lab/host/prepare-ha.sh).
bash "$lab/host/prepare-ha.sh" "$run" "$cli"
