# The lab's network: one network namespace per role, joined by veth pairs (virtual cables).
# Sourced by the scenario. Addresses follow gateways/gw1.yaml and tenants/*.yaml.
#
#   chost (Contoso 192.168.0.2) --access VLAN 4000--+
#                                                   sw (VLAN-filtering bridge) --trunk-- gw eth1
#   whost (Woodgrove 192.168.0.2) --access VLAN 4001+
#
#   gw eth0 203.0.113.10 -- inet (a router: "the internet") -- cny  131.107.0.10 (Contoso New York, LAN 10.1.0.0/16)
#                                                            -- wny  131.107.1.10 (Woodgrove New York, LAN 10.1.0.0/16)
#                                                            -- wsfo 131.107.2.10 (Woodgrove San Francisco, LAN 10.2.0.0/16)
# Contoso NY also owns 172.16.1.0/24: the lab's copy of the example gives IfCe1 a post-connection route
# to it (lab/host/prepare-example.sh).

ROLES="gw inet cny wny wsfo sw chost whost tsite lsite thost lhost"  # the last four: lab/guest/second.sh

# namespaces: the empty roles, so daemons can start in them while the links are made.
namespaces() {
  for r in $ROLES; do echo "netns add $r"; done | ip -batch -
}

topology() {
  # Every `ip` run is read over 9p and costs ~0.13 s under emulation: batch the commands.
  {
    # `link add A netns X type veth peer name B netns Y` creates the cable with each end in place.
    echo "link add eth0 netns gw type veth peer name gw netns inet"
    echo "link add eth1 netns gw type veth peer name trunk netns sw"
    for s in cny wny wsfo; do echo "link add eth0 netns $s type veth peer name $s netns inet"; done
    for h in chost whost; do echo "link add eth0 netns $h type veth peer name $h netns sw"; done
  } | ip -batch -

  ip -n gw -batch - <<'EOF'
link set lo up
link set eth0 up
link set eth1 up
address add 203.0.113.10/24 dev eth0
route add default via 203.0.113.1
EOF

  ip -n inet -batch - <<'EOF'
link set lo up
address add 203.0.113.1/24 dev gw
address add 131.107.0.1/24 dev cny
address add 131.107.1.1/24 dev wny
address add 131.107.2.1/24 dev wsfo
link set gw up
link set cny up
link set wny up
link set wsfo up
EOF
  ns inet sysctl -qw net.ipv4.ip_forward=1

  site_links cny 131.107.0.10 131.107.0.1 10.1.0.1/16 172.16.1.1/24
  site_links wny 131.107.1.10 131.107.1.1 10.1.0.1/16
  site_links wsfo 131.107.2.10 131.107.2.1 10.2.0.1/16

  # The provider's switch: a VLAN-aware bridge. The hosts sit on access ports (untagged, one
  # VLAN each); the gateway's eth1 is the trunk carrying both VLANs tagged.
  ip -n sw -batch - <<'EOF'
link set lo up
link add br0 type bridge vlan_filtering 1
link set trunk master br0
link set chost master br0
link set whost master br0
link set trunk up
link set chost up
link set whost up
link set br0 up
EOF
  bridge -n sw -batch - <<'EOF'
vlan add dev trunk vid 4000
vlan add dev trunk vid 4001
vlan del dev chost vid 1
vlan add dev chost vid 4000 pvid untagged
vlan del dev whost vid 1
vlan add dev whost vid 4001 pvid untagged
EOF

  for h in chost whost; do
    ip -n "$h" -batch - <<'EOF'
link set lo up
link set eth0 up
address add 192.168.0.2/29 dev eth0
route add default via 192.168.0.1
EOF
  done
}

# site_links NS OUTER GATEWAY LAN...: a customer site: its Internet address, and a dummy interface
# standing for its LAN (the site router's inside address is the BGP neighbor).
site_links() {
  local n=$1 outer=$2 gw=$3 a; shift 3
  {
    echo "link set lo up"
    echo "link set eth0 up"
    echo "address add $outer/24 dev eth0"
    echo "route add default via $gw"
    echo "link add lan0 type dummy"
    for a in "$@"; do echo "address add $a dev lan0"; done
    echo "link set lan0 up"
  } | ip -n "$n" -batch -
}
