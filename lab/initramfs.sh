#!/bin/bash
# Builds the guest's initramfs: a static busybox, the few modules needed to reach the host's
# files, and lab/init as /init. Usage: initramfs.sh KERNEL_VERSION KERNEL_DIR OUTPUT.cpio.gz
#
# The initramfs is the guest's first root filesystem. Its only job is to mount this host's root
# folder (shared by qemu over 9p, a file-sharing protocol over a virtual PCI device) and switch to
# it, so the guest runs the host's own strongSwan, FRR, nft and bash without a disk image.
set -euo pipefail
version=$1 kdir=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,dev,proc,sys,mnt,newroot,modules}
cp /bin/busybox "$work/bin/busybox"
file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || {
  # A dynamically linked busybox would need the host's libc inside the initramfs.
  echo "lab/initramfs.sh: /bin/busybox is not static; install busybox-static" >&2; exit 1; }
cp "$here/init" "$work/init"
chmod +x "$work/init"

# virtio_pci: the bus qemu's devices sit on; 9pnet_virtio + 9p: the shared folders;
# overlay: a writable layer over the read-only host root; virtio_rng: entropy, so charon's
# crypto does not wait for the guest to gather randomness.
# `modprobe --show-depends` lists each module after its dependencies, in load order.
: > "$work/modules/order"
for m in virtio_pci 9pnet_virtio 9p overlay virtio_rng; do
  modprobe -d "$kdir" -S "$version" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
  cp "$ko" "$work/modules/"
  basename "$ko" >> "$work/modules/order"
done

# cpio "newc" is the format the kernel unpacks; gzip is a compression every kernel understands.
(cd "$work" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$out"
