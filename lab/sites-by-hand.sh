# TEMPORARY: the customer sites' side of each connection, written by hand to mirror the gateway's
# swanctl connections in the bundle. To be replaced by `s2sgw peer-config` once it exists.
# Sourced by the scenario; site_by_hand writes NS's swanctl.conf and frr.conf into $RUN/NS/.
#
# The site is a typical customer device: policy-based IPsec (no XFRM interface), responding only
# (the gateway dials on demand), its whole address space on its side and the tenant's network
# (192.168.0.0/29) on the gateway's side; BGP passive, so only the gateway opens the session.

# site_by_hand NS OUTER_ADDR PSK ASN ROUTER_ADDR PREFIX...
site_by_hand() {
  local n=$1 outer=$2 psk=$3 asn=$4 rid=$5; shift 5
  mkdir -p "$RUN/$n"
  cat > "$RUN/$n/swanctl.conf" <<CONF
connections {
  gw1 {
    version = 2
    local_addrs = $outer
    remote_addrs = 203.0.113.10
    proposals = aes256gcm16-prfsha384-ecp384
    rekey_time = 8h
    dpd_delay = 30s
    mobike = no
    local { auth = psk
            id = $outer }
    remote { auth = psk
             id = 203.0.113.10 }
    children {
      gw1 {
        local_ts = 0.0.0.0/0
        remote_ts = 192.168.0.0/29
        esp_proposals = aes256gcm16-ecp384
        rekey_time = 1h
        start_action = none
      }
    }
  }
}
secrets {
  ike-gw1 {
    id-1 = $outer
    id-2 = 203.0.113.10
    secret = "$psk"
  }
}
CONF
  {
    echo "frr defaults traditional"
    echo "hostname $n"
    echo "router bgp $asn"
    echo " bgp router-id $rid"
    echo " no bgp ebgp-requires-policy"
    echo " neighbor 192.168.0.1 remote-as 64512"
    echo " neighbor 192.168.0.1 passive"
    echo " neighbor 192.168.0.1 update-source $rid"
    echo " neighbor 192.168.0.1 ebgp-multihop 2"
    echo " address-family ipv4 unicast"
    local p
    for p in "$@"; do echo "  network $p"; done
    echo " exit-address-family"
  } > "$RUN/$n/frr.conf"
}
