#!/bin/bash
# Installs the Debian packages the lab needs (idempotent: installs only what is missing).
#
# The lab boots Debian's own kernel under qemu's software emulation and shares this host's
# userland with the guest, so every program the guest runs (strongSwan, FRR, iperf3, ...) is
# installed here, on the host. Then it fetches the kernel package the lab boots (lab/kernel.sh:
# Debian's linux-image, unpacked into lab/.cache, never installed), so a run downloads nothing.
set -euo pipefail

packages=(
  qemu-system-x86        # the emulator (installed without recommends: no GUI, no firmware extras)
  busybox-static         # the initramfs's only program: a static shell, mount, insmod, switch_root
  cpio                   # packs the initramfs
  kmod                   # depmod/modprobe for the guest kernel's modules
  xz-utils               # Debian's kernel modules are .ko.xz
  iproute2 iputils-ping procps
  strongswan-swanctl charon-systemd libstrongswan-standard-plugins
  strongswan-pki         # the second scenario's throwaway CA and certificates
  libcharon-extauth-plugins  # eap-identity and eap-mschapv2 (the second scenario's EAP site)
  frr                    # zebra + bgpd per network namespace
  frr-pythontools        # frr-reload.py: s2sgw apply reloads FRR with it
  jq                     # the lab reads peer-config's JSON, apply's command log and FRR's JSON with it
  iperf3                 # rate checks
  conntrack              # shows conntrack zones when a check fails
  netcat-openbsd         # TCP probes with a chosen source port (filter checks)
  nftables
  # libreswan's libraries: the lab unpacks libreswan itself (lab/libreswan.sh; the package conflicts
  # with strongSwan) and runs its pluto as one customer site; certutil makes its NSS database
  libnss3-tools libnss3 libnspr4 libldns3 libunbound8 libevent-core-2.1-7 libevent-pthreads-2.1-7
  libcurl3-nss libcap-ng0 libaudit1 libldap-2.5-0 libpam0g libselinux1 libsystemd0 libcrypt1
)

missing=()
for p in "${packages[@]}"; do
  # dpkg-query prints "install ok installed" only for a fully installed package
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "lab/setup.sh: all ${#packages[@]} packages installed"
else
  echo "lab/setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # iperf3's postinst may ask about a daemon: noninteractive takes its default (the lab starts iperf3 itself).
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

kernel=$(bash "$(dirname "$0")/kernel.sh")  # "VERSION DIR"; set -e stops here if the fetch fails
echo "lab/setup.sh: kernel ${kernel%% *} ready"
libreswan=$(bash "$(dirname "$0")/libreswan.sh")
echo "lab/setup.sh: libreswan ready in $libreswan"
