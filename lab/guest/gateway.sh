# The gateway's side: `s2sgw apply` in the gw namespace, run as an operator runs it on a gateway host.
# Sourced by the scenario. Nothing on the gateway is configured any other way.
#
# The guest's / is the host's own root (with a RAM overlay), so apply keeps its state where it would on
# a gateway (/var/lib/s2sgw, /etc/frr/frr.conf, /etc/swanctl/conf.d/s2sgw.conf, ...). What differs from a
# real host is only how apply reaches the daemons: the gateway's charon and FRR run in the gw namespace
# with a private VICI socket and FRR pathspace, which apply's --netns, --vici and --frr-pathspace name.

# s2sgw ARGS...: the Debian package's /usr/bin/s2sgw that the host unpacked (lab/run.sh, S2SGW_LAB_PACKAGE), run
# (it needs no node); or, without a package, the compiled CLI the host built the bundle with (S2SGW_LAB_DIST).
if [ -n "${PKG:-}" ]; then
  S2SGW_EXE=$PKG/usr/bin/s2sgw
  s2sgw() { "$S2SGW_EXE" "$@"; }
  if [ "$(PATH=/nonexistent "$S2SGW_EXE" --version 2>&1)" = "$(node -p "require('$DIST/../package.json').version")" ]; then
    pass package "the gateway runs /usr/bin/s2sgw from $(cat "$PKG/name"), not the checkout (needs no node)"
  else
    fail package "/usr/bin/s2sgw from $(cat "$PKG/name") does not run: $(PATH=/nonexistent "$S2SGW_EXE" --version 2>&1 | head -n 3)"
  fi
else
  s2sgw() { node -e "require(process.argv[1]).main(process.argv.slice(2)).then((c) => process.exit(c))" "$DIST/src/cli.js" "$@"; }
fi

APPLY_LOG=$LOGS/apply-gw.log
COMMANDS_LOG=/var/log/s2sgw/commands.log

# gw_s2sgw COMMAND ARGS...: apply/rollback/status against the lab's gateway. STRONGSWAN_CONF is the gw
# charon's strongswan.conf (the lab's /etc/strongswan.conf): the swanctl that apply runs loads only the
# plugins it needs from it. Output goes to the apply log; the exit code is the command's.
gw_s2sgw() {
  local c=$1; shift
  echo "=== s2sgw $c $* (uptime $(now)s)" >> "$APPLY_LOG"
  STRONGSWAN_CONF=$RUN/gw/strongswan.conf s2sgw "$c" --netns gw --vici "unix://$RUN/gw/charon.vici" --frr-pathspace gw "$@" >> "$APPLY_LOG" 2>&1
}

# apply_steps FROM_LINE: what apply ran since that line of its command log, as "step:commands" words.
apply_steps() {
  tail -n +"$1" "$COMMANDS_LOG" 2> /dev/null | jq -r '.step' | uniq -c | awk '{ printf "%s%s:%s", sep, $2, $1; sep = " " }'
}
log_lines() { [ -f "$COMMANDS_LOG" ] && wc -l < "$COMMANDS_LOG" || echo 0; }

# apply_bundle NAME BUNDLE [ARGS...]: one apply, reported as a PASS/FAIL line NAME with its time and steps.
# Sets APPLY_RC; its output also in $APPLY_LOG.last (what a check greps must be this apply's, not an earlier one's).
apply_bundle() {
  local name=$1 bundle=$2; shift 2
  local mark t0 t start
  mark=$(($(log_lines) + 1)) t0=$(now) start=$(($( [ -f "$APPLY_LOG" ] && wc -l < "$APPLY_LOG" || echo 0) + 1))
  gw_s2sgw apply --bundle "$bundle" "$@"
  APPLY_RC=$?
  tail -n +"$start" "$APPLY_LOG" > "$APPLY_LOG.last"
  t=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  if [ "$APPLY_RC" = 0 ]; then
    pass "$name" "exit 0 in ${t}s; commands per step: $(apply_steps "$mark")"
  else
    fail "$name" "exit $APPLY_RC in ${t}s: $(grep -E 's2sgw apply:' "$APPLY_LOG" | tail -n 3 | tr '\n' ' ')"
  fi
}
