#!/bin/bash
# Fetches Debian's libreswan package and unpacks it into the lab's cache; prints its folder.
#
# Debian's libreswan conflicts with strongSwan (both provide an IKE daemon and `ipsec`), and the
# gateway and the other sites run strongSwan: so, like the kernel, it is never installed:
# `apt-get download` fetches the .deb and `dpkg -x` unpacks it. Its libraries (NSS, ldns, libevent,
# unbound, ...) are ordinary packages lab/setup.sh installs. The lab runs `pluto` from here with its
# own config, secrets, NSS database and run folders (lab/guest/libreswan.sh); peer-config's tests
# check their output with `addconn --checkconfig` from here.
set -euo pipefail

cache=${S2SGW_LAB_CACHE:-$(cd "$(dirname "$0")" && pwd)/.cache}
mkdir -p "$cache"
version=$(apt-cache policy libreswan 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
  apt-get update -q >&2
  version=$(apt-cache policy libreswan | awk '/Candidate:/ {print $2; exit}')
fi
[ -n "$version" ] && [ "$version" != "(none)" ] || { echo "lab/libreswan.sh: no libreswan package in the archive" >&2; exit 1; }
dir=$cache/libreswan/$version

if [ ! -f "$dir/.ready" ]; then
  echo "lab/libreswan.sh: fetching libreswan $version" >&2
  rm -rf "$dir" && mkdir -p "$dir"
  tmp=$(mktemp -d)
  # apt's sandbox user cannot write a root-owned mktemp folder: download as root, quietly.
  (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "libreswan=$version" >&2)
  dpkg-deb -x "$tmp"/libreswan_*.deb "$dir"
  rm -rf "$tmp"
  missing=$(ldd "$dir/usr/libexec/ipsec/pluto" | awk '/not found/ {print $1}')
  [ -z "$missing" ] || { echo "lab/libreswan.sh: pluto lacks $missing: run lab/setup.sh" >&2; exit 1; }
  touch "$dir/.ready"
fi
echo "$dir"
