#!/bin/bash
# The guest's main program (PID 1 after lab/init switched to the host's root): prepares the
# system, runs the scenario, writes the exit code to /s2sgw-lab/rc and powers the VM off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
OUT=/s2sgw-lab
for arg in $(cat /proc/cmdline); do
  case $arg in
    s2sgw.lab=*) export LAB=${arg#*=} ;;
    s2sgw.scenario=*) scenario=${arg#*=} ;;
    s2sgw.checks=*) export CHECKS=${arg#*=} ;;
    s2sgw.dist=*) export DIST=${arg#*=} ;;
    s2sgw.pkg=*) export PKG=${arg#*=} ;;
    # S2SGW_MBB_PEER_MS on the host (apply --peer-first's old spelling, in ms): for the gateway's applies.
    s2sgw.mbb_peer_ms=*) export S2SGW_MBB_PEER_MS=${arg#*=} ;;
    # S2SGW_LAB_REKEY=gateway on the host: the hitless check's phase (1) without --peer-first (lab/run.sh).
    s2sgw.rekey=*) export S2SGW_LAB_REKEY=${arg#*=} ;;
  esac
done

# Whatever happens, write rc and power off: PID 1 exiting would panic the kernel instead.
finish() {
  local rc=$?
  [ "${FAILED:-0}" = 1 ] && [ "$rc" = 0 ] && rc=1
  echo "$rc" > "$OUT/rc"
  sync
  busybox poweroff -f
}
trap finish EXIT
exec >> "$OUT/guest.log" 2>&1

# The tmpfs mounts below would hide the repository if it lives under one of those folders (CI's
# clean clone is in /tmp): reach it through a bind mount at a fixed place instead. Node finds
# node_modules from the real path of dist/, so the whole repository goes, not only lab/ and dist/.
REPO=$(dirname "$LAB")
mkdir -p /s2sgw-repo && mount --bind "$REPO" /s2sgw-repo || { echo "cannot bind $REPO"; exit 1; }
case $DIST in "$REPO"/*) DIST=/s2sgw-repo/${DIST#"$REPO"/} ;; esac
case ${PKG:-} in "$REPO"/*) PKG=/s2sgw-repo/${PKG#"$REPO"/} ;; esac
export LAB=/s2sgw-repo/lab DIST

# The overlay shows the host's /run (its FRR and charon leftovers): start from an empty one.
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/netns /run/lab /var/run 2> /dev/null
# devtmpfs has no /dev/fd (udev or systemd make it on a normal system): bash's <(...) needs it.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
mount -t tmpfs tmpfs /var/log  # daemons that log by default must not write to the host's logs

# A host always has a name; the kernel's default "(none)" is one FRR prints (`hostname (none)`) and then
# cannot read back, which breaks frr-reload.py.
hostname s2sgw-lab
source "$LAB/guest/lib.sh" || { echo "cannot read $LAB/guest/lib.sh"; exit 1; }
phase boot
[ -f "$LAB/guest/scenario-$scenario.sh" ] || { echo "no scenario $LAB/guest/scenario-$scenario.sh"; exit 1; }
source "$LAB/guest/scenario-$scenario.sh"
# Development (S2SGW_LAB_DEBUG on the host): a script run after the scenario, output in guest.log.
if [ -f "$OUT/debug.sh" ]; then set +e; echo "=== debug.sh"; source "$OUT/debug.sh"; fi
