#!/usr/bin/env bash
# Installs what s2sgw's checks and tests need: the real tools from Debian packages (only those missing), then npm ci.
set -euo pipefail
cd "$(dirname "$0")/.."

# The programs that read the generated files on a gateway, so `build --check` and the tests can run them
# (prometheus for its promtool: the tests check `s2sgw metrics` output with `promtool check metrics`).
PACKAGES=(
  iproute2 nftables netplan.io
  strongswan-swanctl charon-systemd libstrongswan-standard-plugins libstrongswan-extra-plugins strongswan-pki
  frr frr-pythontools
  libcharon-extauth-plugins libcharon-extra-plugins
  git procps iputils-ping
  util-linux  # flock(1): apply's host lock (src/apply/host-lock.ts)
  prometheus
  openssh-client bsdutils  # ssh-keygen (s2sgw sign, signed bundles), logger (audit to the journal)
  # The Debian package (scripts/package.sh) and its test: strip, dpkg-deb, lintian, a clean Debian 12 root.
  binutils lintian mmdebstrap
  # The Ansible collection (ansible/) and its sandbox rollout (test/ansible.test.ts): Debian's, no pip.
  ansible ansible-core ansible-lint
  # VRRP for a tenant on an HA pair: the keepalived target's check (keepalived -t) and test/keepalived.test.ts.
  keepalived
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The lab (part of `npm test`): qemu, busybox, iperf3 and the rest, and the kernel package it boots.
bash lab/setup.sh

npm ci --no-audit --no-fund
