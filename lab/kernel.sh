#!/bin/bash
# Fetches Debian's kernel package and unpacks it into the lab's cache; prints "VERSION DIR".
#
# Why a downloaded kernel: this host's kernel lacks VRF, VLAN, XFRM interfaces and ESP, and
# cannot load modules. Debian's stock kernel has all of them as modules. We never install it:
# `apt-get download` fetches the .deb, `dpkg -x` unpacks it into a folder, and qemu boots the
# vmlinuz from that folder. `depmod` writes the module index so `modprobe` works in the guest.
set -euo pipefail

cache=${S2SGW_LAB_CACHE:-$(cd "$(dirname "$0")" && pwd)/.cache}
mkdir -p "$cache"

# linux-image-amd64 is Debian's meta package; its dependency names the real kernel package
# (e.g. linux-image-6.1.0-56-amd64). Resolve it from the archive rather than hard-coding it.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$pkg" ]; then
  # No package lists yet on a fresh machine.
  apt-get update -q >&2
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
[ -n "$pkg" ] || { echo "lab/kernel.sh: cannot resolve linux-image-amd64" >&2; exit 1; }
version=${pkg#linux-image-}          # e.g. 6.1.0-56-amd64 (= `uname -r` in the guest)
dir=$cache/kernel/$version

if [ ! -f "$dir/.ready" ]; then
  echo "lab/kernel.sh: fetching $pkg" >&2
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$cache" && apt-get download -q "$pkg" >&2)
  deb=$(ls "$cache"/"${pkg}"_*.deb | head -n1)
  dpkg -x "$deb" "$dir"
  rm -f "$deb"
  depmod -b "$dir" "$version"
  touch "$dir/.ready"
fi
echo "$version $dir"
