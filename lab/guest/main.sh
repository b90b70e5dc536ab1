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
    s2sgw.dev=*) export DEV=${arg#*=} ;;
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

# The overlay shows the host's /run (its FRR and charon leftovers): start from an empty one.
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/netns /run/lab /var/run 2> /dev/null
mount -t tmpfs tmpfs /var/log  # daemons that log by default must not write to the host's logs

source "$LAB/guest/lib.sh"
phase boot
source "$LAB/guest/scenario-$scenario.sh"
