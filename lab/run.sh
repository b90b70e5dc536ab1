#!/bin/bash
# `npm run lab`: boots Debian's kernel under qemu, runs the lab scenario inside it, prints each
# check as PASS or FAIL and exits non-zero on any failure or timeout. See docs/lab.md.
#
# Host side only: it makes the bundles and the sites' configs with s2sgw (lab/host/prepare-*.sh),
# boots the VM and judges the results. Everything that touches the data plane, `s2sgw apply`
# included, runs in the guest (lab/guest/main.sh).
#
# Environment:
#   S2SGW_LAB_TIMEOUT  seconds before qemu is killed (default 1200: a hung guest, not a slow run; runs take ~5 min;
#                      2400 when the checks name ha)
#   S2SGW_LAB_DIST     compiled s2sgw to use, on the host and in the guest (default dist; e.g. dist-lab)
#   S2SGW_LAB_CACHE    where the kernel is kept (default lab/.cache)
#   S2SGW_LAB_SCENARIO which lab/guest/scenario-NAME.sh to run (default example)
#   S2SGW_LAB_CHECKS   comma-separated subset of checks to run (development; default all)
#   S2SGW_LAB_KEEP=1   keep the bundles and configs in lab/.cache/run even when everything passed
#   S2SGW_LAB_DEBUG    a guest script to run after the scenario (development)
#   S2SGW_LAB_MEM      guest memory in MiB (default 512; 1536 when the checks name ha: its two extra gateways)
#   S2SGW_LAB_PACKAGE  the Debian package whose /usr/bin/s2sgw the gateway runs (default dist/pkg/s2sgw_<v>_<arch>.deb,
#                      built when missing or older than dist/; `none`: the checkout's dist/ instead)
#   S2SGW_LAB_REKEY=gateway  the hitless check's phase (1) with the gateway initiating the rekey (apply's default, 1 to 4
#                      pings lost under emulation) instead of `apply --peer-first` and the site's peer-config --rekey steps
#   S2SGW_MBB_PEER_MS  passed to the guest's gateway applies (the old spelling of apply --peer-first, in ms)
set -uo pipefail
lab=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$lab")
cache=${S2SGW_LAB_CACHE:-$lab/.cache}
dist=${S2SGW_LAB_DIST:-dist}
timeout=${S2SGW_LAB_TIMEOUT:-1200}
# The ha check's four applies and three cases took 1140 s of guest time alone at host load 7-10 (docs/ha.md).
[ -z "${S2SGW_LAB_TIMEOUT:-}" ] && [[ ",${S2SGW_LAB_CHECKS:-}," == *",ha,"* ]] && timeout=2400
# Three gateways' daemons, the sites and the listeners: 512 MiB leaves little page cache for the programs, each page-in
# comes over 9p from a loaded host; a gateway host keeps its programs in its page cache.
[ -z "${S2SGW_LAB_MEM:-}" ] && [[ ",${S2SGW_LAB_CHECKS:-}," == *",ha,"* ]] && export S2SGW_LAB_MEM=1536
scenario=${S2SGW_LAB_SCENARIO:-example}
t_start=$(date +%s.%N)

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
die() { echo "FAIL lab: $*"; echo "0 passed, 1 failed"; exit 1; }
host_phase() { echo "PHASE host-$1 $(elapsed "$2")s"; }

# 1. Tools. lab/setup.sh installs them; here we only look, so a run never installs silently.
for tool in qemu-system-x86_64 busybox cpio depmod charon-systemd swanctl vtysh frr-reload.py iperf3 nc jq pki certutil node; do
  command -v "$tool" > /dev/null || [ -x "/usr/sbin/$tool" ] || [ -x "/usr/lib/frr/$tool" ] \
    || die "$tool is missing: run \`bash lab/setup.sh\` (as root) first"
done
[ "$(id -u)" = 0 ] || die "the lab must run as root (qemu shares / and the guest needs root inside it)"

# 2. Kernel (downloaded once, then cached) and initramfs (rebuilt each run, ~0.3 s).
t=$(date +%s.%N)
read -r kver kdir < <(bash "$lab/kernel.sh") || die "could not fetch the kernel"
[ -n "${kdir:-}" ] || die "could not fetch the kernel"
# The guest reaches it through the host's root: a cache whose kernel/ is a link (a worktree sharing main's)
# must be named by its real path, since the guest resolves an absolute link target outside /mnt/host.
kdir=$(readlink -f "$kdir")
run=$cache/run
rm -rf "$run" && mkdir -p "$run/logs" && chmod 1777 "$run/logs"
bash "$lab/initramfs.sh" "$kver" "$kdir" "$run/initrd.gz" || die "could not build the initramfs"
host_phase kernel "$t"

# 3. The bundles and the sites' configs, made with s2sgw itself (build, peer-config) from copies of the
#    example config, so no lock file write touches the repository: lab/host/prepare-SCENARIO.sh.
t=$(date +%s.%N)
[ -f "$repo/$dist/src/cli.js" ] || die "$dist/src/cli.js is missing: run \`npm run build:ts\` (or set S2SGW_LAB_DIST)"
# Development: S2SGW_LAB_DEBUG=FILE runs that guest script at the end of the scenario (its output in guest.log).
[ -n "${S2SGW_LAB_DEBUG:-}" ] && cp "$S2SGW_LAB_DEBUG" "$run/debug.sh"
bash "$lab/host/prepare-$scenario.sh" "$run" "$repo/$dist/src/cli.js" > "$run/prepare.log" 2>&1 \
  || { tail -n 20 "$run/prepare.log"; die "preparing the bundles failed (s2sgw build or peer-config)"; }
host_phase build "$t"

# 3b. The gateway runs the installed package's executable, as a real host does (docs/packaging.md), not the
#     checkout: unpacked here, natively, into the shared run folder; the guest runs it from there, without node.
t=$(date +%s.%N)
pkg=${S2SGW_LAB_PACKAGE:-}
if [ -z "$pkg" ] && [ "$dist" = dist ]; then
  pkg=$repo/dist/pkg/s2sgw_$(node -p "require('$repo/package.json').version.replace(/-/g, '~')")_$(dpkg --print-architecture).deb
  if [ ! -f "$pkg" ] || [ "$pkg" -ot "$repo/dist/src/cli.js" ]; then
    S2SGW_PACKAGE_QUICK=1 bash "$repo/scripts/package.sh" > "$run/package.log" 2>&1 || { tail -n 20 "$run/package.log"; die "building the package failed"; }
  fi
fi
pkg_arg=
if [ -n "$pkg" ] && [ "$pkg" != none ]; then
  dpkg-deb -x "$pkg" "$run/pkg" || die "cannot unpack $pkg"
  basename "$pkg" > "$run/pkg/name"
  # The guest reaches it through the host's root (page-cached), not the run folder's share (uncached: every
  # page of the 88 MB executable would cross 9p at each start).
  pkg_arg=" s2sgw.pkg=$run/pkg"
fi
host_phase package "$t"

# 4. Boot. What each qemu option is for:
#   -accel tcg,tb-size=128  software emulation (this host's KVM cannot run a stock kernel);
#                           tb-size caps the translation cache (peak RSS ~400 MB instead of ~800)
#   -cpu max -M q35         a modern emulated CPU and chipset (AES instructions for ESP)
#   -m 512 -smp 2           guest memory (S2SGW_LAB_MEM, MiB) and CPUs
#   -kernel/-initrd/-append boot the kernel directly, no disk image or boot loader
#   -virtfs ... hostroot    this host's / shared read-only over 9p: the guest runs our programs
#   -virtfs ... labrun      the run folder, read-write: the bundle goes in, report/logs/rc come out
#   -no-reboot              a guest panic or reboot ends qemu instead of looping
#   -serial file:           the guest console (kernel messages) into console.log
# `timeout` wraps qemu itself (not a shell around it), so a hung guest is really killed.
t=$(date +%s.%N)
: > "$run/report"
tail -n +1 -F "$run/report" 2> /dev/null | grep --line-buffered -E '^(PASS|FAIL|PHASE|NOTE)' &
tail_pid=$!
timeout -k 5 "$timeout" qemu-system-x86_64 \
  -accel tcg,tb-size=128 -cpu max -M q35 -m "${S2SGW_LAB_MEM:-512}" -smp 2 \
  -nodefaults -display none -no-reboot -serial "file:$run/console.log" \
  -device virtio-rng-pci \
  -kernel "$kdir/boot/vmlinuz-$kver" -initrd "$run/initrd.gz" \
  -append "console=ttyS0 quiet panic=-1 s2sgw.kver=$kver s2sgw.kmods=$kdir s2sgw.main=$lab/guest/main.sh s2sgw.lab=$lab s2sgw.scenario=$scenario s2sgw.checks=${S2SGW_LAB_CHECKS:-all} s2sgw.dist=$repo/$dist$pkg_arg${S2SGW_MBB_PEER_MS:+ s2sgw.mbb_peer_ms=$S2SGW_MBB_PEER_MS}${S2SGW_LAB_REKEY:+ s2sgw.rekey=$S2SGW_LAB_REKEY}" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$run,mount_tag=labrun,security_model=none"
qemu_rc=$?
sleep 0.3  # let tail print the last lines it has read (tail polls the file)
kill "$tail_pid" 2> /dev/null; wait "$tail_pid" 2> /dev/null
host_phase vm "$t"

# 5. Judge by the files the guest wrote, not qemu's exit status (qemu exits 0 on power-off).
passed=$(grep -c '^PASS' "$run/report")
failed=$(grep -c '^FAIL' "$run/report")
if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
  echo "FAIL lab: qemu killed after ${timeout}s (guest hung or too slow); last console lines:"
  tail -n 15 "$run/console.log" | sed 's/^/  | /'
  failed=$((failed + 1))
elif [ ! -f "$run/rc" ]; then
  echo "FAIL lab: the guest stopped without writing rc (qemu exit $qemu_rc); last console lines:"
  tail -n 15 "$run/console.log" | sed 's/^/  | /'
  failed=$((failed + 1))
elif [ "$passed" = 0 ] && [ "$failed" = 0 ]; then
  # A guest that ran no check at all proves nothing: a failure, whatever its rc says.
  echo "FAIL lab: the guest ran no check (rc $(cat "$run/rc")); last lines of guest.log:"
  tail -n 15 "$run/guest.log" 2> /dev/null | sed 's/^/  | /'
  failed=1
elif [ "$(cat "$run/rc")" != 0 ] && [ "$failed" = 0 ]; then
  echo "FAIL lab: guest script exited $(cat "$run/rc") without a failed check; see $run/guest.log"
  tail -n 15 "$run/guest.log" 2> /dev/null | sed 's/^/  | /'
  failed=$((failed + 1))
fi

if [ "$failed" != 0 ]; then
  echo "--- logs (full files in $run/logs) ---"
  tail -n 25 "$run/guest.log" 2> /dev/null | sed 's/^/  guest.log: /'
  for f in "$run"/logs/*.log; do
    [ -s "$f" ] || continue
    # The ~dozen "plugin 'X': failed to load" lines at charon's start are harmless noise.
    grep -v "failed to load" "$f" | tail -n 25 | awk -v f="$(basename "$f")" '{ print "  " f ": " $0 }'
  done
fi

echo "PHASE total $(elapsed "$t_start")s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "${S2SGW_LAB_KEEP:-0}" != 1 ] && rm -rf "$run"/bundle* "$run"/config* "$run/pki" "$run/peers" "$run/initrd.gz" "$run/pkg"
[ "$failed" = 0 ]
