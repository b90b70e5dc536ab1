# The customer sites: each one's strongSwan and FRR are exactly what `s2sgw peer-config` printed for its
# connection (lab/host/prepare-*.sh ran it into $OUT/peers/IFACE.json); the lab only fills in the secrets
# block from the JSON's `secrets` list, as a customer does with the value the provider hands over.
# Sourced by the scenario.

# resolve REF: a secret reference's value (env:NAME from the lab's environment, file:/path).
resolve() {
  case $1 in
    env:*) local v=${1#env:}; printf '%s' "${!v:?$v is not set}" ;;
    file:*) cat "${1#file:}" ;;
    *) echo "unsupported secret reference $1" >&2; return 1 ;;
  esac
}

# site_from_peer NS IFACE: writes $RUN/NS/swanctl.conf (peer-config's, plus the secrets) and frr.conf.
site_from_peer() {
  local n=$1 j=$OUT/peers/$2.json
  mkdir -p "$RUN/$n"
  [ -f "$j" ] || { fail "sites: $n from peer-config" "$j is missing"; return 1; }
  {
    jq -r .swanctl "$j"
    echo "secrets {"
    local section ref ids id i
    while IFS=$'\t' read -r section ref ids; do
      echo "  $section {"
      i=0
      for id in $ids; do echo "    id-$i = \"$id\""; i=$((i + 1)); done
      echo "    secret = \"$(resolve "$ref")\""
      echo "  }"
    done < <(jq -r '.secrets[] | [.section, .ref, (.ids | join(" "))] | @tsv' "$j")
    echo "}"
  } > "$RUN/$n/swanctl.conf"
  chmod 600 "$RUN/$n/swanctl.conf"
  jq -r '.frr // empty' "$j" > "$RUN/$n/frr.conf"
}

# load_site_swan NS IFACE: the site's connection and secrets into its charon (trap policies: nothing is
# sent yet). Fails unless charon took the connection and every secret peer-config listed.
load_site_swan() {
  local want; want=$(jq '.secrets | length' "$OUT/peers/$2.json")
  swan "$1" --load-all --noprompt --file "$RUN/$1/swanctl.conf" > "$LOGS/swanctl-$1.log" 2>&1
  local rc=$? conns secrets
  conns=$(grep -c "^loaded connection '$2'" "$LOGS/swanctl-$1.log")
  secrets=$(grep -cE "^loaded (ike|eap) secret" "$LOGS/swanctl-$1.log")
  [ "$rc$conns$secrets" = "01$want" ] || fail "sites: $1 loads peer-config's swanctl.conf for $2" \
    "swanctl exit $rc, $conns connection(s), $secrets of $want secret(s): $(grep -iE 'fail|error' "$LOGS/swanctl-$1.log" | head -n 2 | tr '\n' ' ')"
}
# load_site_frr NS: the site router's BGP from peer-config's FRR snippet, if the connection has one.
load_site_frr() {
  [ -s "$RUN/$1/frr.conf" ] || return 0
  vty "$1" -f "$RUN/$1/frr.conf" > "$LOGS/vtysh-$1.log" 2>&1
  # (vtysh -N also says it has no vtysh.conf of that pathspace: not a complaint about the snippet.)
  local bad; bad=$(grep -v "Can't open configuration file" "$LOGS/vtysh-$1.log" | grep -E '^% |line [0-9]+:' | head -n 2 | tr '\n' ' ')
  [ -z "$bad" ] || fail "sites: $1 loads its peer-config FRR snippet" "$bad"
}
