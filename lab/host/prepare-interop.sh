#!/bin/bash
# Host side of the interoperability checks (issue 22; lab/guest/interop.sh), run by prepare-example.sh:
#   config-interop/, bundle-interop/  config-second plus lab/interop/tenants/adatum.yaml
#   peers/IfAe3.json                  peer-config --format json (the strongSwan site behind NAT)
#   libreswan/IFACE/                  peer-config --format libreswan --out (ipsec.conf, ipsec.secrets, frr.conf)
#   libreswan/pkg/                    libreswan itself, unpacked by lab/libreswan.sh (the guest runs its pluto)
# Usage: prepare-interop.sh RUN_DIR CLI_JS
set -euo pipefail
run=$1 cli=$2
lab=$(cd "$(dirname "$0")/.." && pwd)
s2sgw() { node -e "require(process.argv[1]).main(process.argv.slice(2)).then((c) => process.exit(c))" "$cli" "$@"; }

cp -r "$run/config-second" "$run/config-interop"
cp "$lab"/interop/tenants/*.yaml "$run/config-interop/tenants/"
s2sgw build --config "$run/config-interop" --out "$run/bundle-interop" > "$run/bundle-interop.log" 2>&1 \
  || { cat "$run/bundle-interop.log" >&2; echo "prepare: s2sgw build of config-interop failed" >&2; exit 1; }
s2sgw peer-config --config "$run/config-interop" --tenant adatum --connection IfAe3 --format json > "$run/peers/IfAe3.json"
for c in IfAe1 IfAe2; do
  s2sgw peer-config --config "$run/config-interop" --tenant adatum --connection "$c" --format libreswan --out "$run/libreswan/$c"
done
# A copy in the run folder: the guest's /tmp is its own, and the cache may live there (S2SGW_LAB_CACHE).
pkg=$(bash "$lab/libreswan.sh")
cp -a "$pkg" "$run/libreswan/pkg"
