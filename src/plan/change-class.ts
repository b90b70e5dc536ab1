// Change classes: what a change to a tenant does to its traffic, from the tenant fields that changed. Pure.
// The table below is the one place that says it; test/change-class.test.ts fails when a field of
// schema/tenant.schema.json (walked recursively, through its $refs) is missing from it.

/** Ordered from harmless to worst: `plan --fail-on C` fails on C and every class after it. */
export const CHANGE_CLASSES = ['hitless', 'rekey', 'replace', 'disruptive'] as const;
export type ChangeClass = (typeof CHANGE_CLASSES)[number];

export interface Classified {
  class: ChangeClass;
  /** Why, in words; a disruptive one says for how long traffic is expected to stop. */
  reason: string;
}

const HITLESS_ROUTE: Classified = { class: 'hitless', reason: 'routes change in the VRF: no SA or BGP session is touched' };
const HITLESS_FILTER: Classified = { class: 'hitless', reason: 'the filter chain is replaced in one nftables transaction: no SA or session is touched' };
const REKEY: Classified = { class: 'rekey', reason: 'proposal or lifetime change: new SAs with them are negotiated under the connection\'s other name while traffic flows on the old ones, which end once the new are up (make-before-break: strongSwan 5.9.8 cannot rekey onto new proposals)' };
const REPLACE_AUTH: Classified = { class: 'replace', reason: 'identity or credentials change: the connection is loaded again (make-before-break: traffic stays on the old SA until the new one is up)' };
const REPLACE_ADDR: Classified = { class: 'replace', reason: 'an address of the tunnel changes: the connection is loaded again (make-before-break: traffic stays on the old SA until the new one is up)' };
const RELINK = 'traffic stops while the link is recreated and the routes are installed again (about a second)';
const DISRUPT_LINK: Classified = { class: 'disruptive', reason: `the tenant's VLAN/VXLAN link is recreated: ${RELINK}` };
const DISRUPT_ADDR: Classified = { class: 'disruptive', reason: `the tenant's address changes: ${RELINK}; hosts that use the old address lose it for good` };
const BGP_RESET: Classified = { class: 'disruptive', reason: 'the BGP session restarts: routes learned through it are gone until it is back (seconds; at most the hold time, 180 s by default)' };
const HA_MOVE: Classified = { class: 'disruptive', reason: "the tenant's shared address changes hands between the interface and keepalived: traffic stops until VRRP settles (about 3 s)" };
const HA_SAME: Classified = { class: 'hitless', reason: "the pair's state changes, not who holds the shared address" };
export { HA_MOVE, HA_SAME };
const NONE: Classified = { class: 'hitless', reason: 'names the tenant or holds its parts: a change to it is classified by the field that changed' };

/**
 * Every field of schema/tenant.schema.json by its path (`[]` an array's items), with its class.
 * A path classifies that field's own value; the fields below it have their own rows.
 */
export const TENANT_FIELDS: Readonly<Record<string, Classified>> = {
  tenant: { class: 'disruptive', reason: 'a renamed tenant is removed and added again: its traffic stops until the new one is up (seconds)' },
  routingDomain: { class: 'hitless', reason: 'a label for the tenant: nothing on the host changes' },
  cryptoProfile: { class: 'hitless', reason: 'which proposals validate accepts: nothing on the host changes (a proposal it makes you change is its own change)' },
  gateways: { class: 'disruptive', reason: 'the tenant leaves or joins a gateway: on one it is removed (traffic stops for good there), on the other added' },
  network: NONE,
  'network.interface': DISRUPT_LINK,
  'network.vlan': DISRUPT_LINK,
  'network.vsid': DISRUPT_LINK,
  'network.vteps': { class: 'hitless', reason: 'VXLAN flood entries change on the existing link: traffic keeps flowing' },
  'network.addresses': DISRUPT_ADDR,
  'network.ha': HA_MOVE,
  'network.ha.vrid': HA_MOVE,
  'network.ha.advertInterval': { class: 'hitless', reason: 'keepalived reloads with the new interval: the master keeps the address (VRRPv3: a standby follows the interval it receives)' },
  'network.ha.addresses': HA_MOVE,
  connections: NONE,
  'connections[]': NONE,
  'connections[].interface': { class: 'disruptive', reason: 'a renamed connection is removed and added again: its tunnel drops until the new one is up (seconds, the peer\'s own reconnect)' },
  'connections[].destination': REPLACE_ADDR,
  'connections[].source': REPLACE_ADDR,
  'connections[].auth': REPLACE_AUTH,
  'connections[].auth.psk': REPLACE_AUTH,
  'connections[].auth.certificate': REPLACE_AUTH,
  'connections[].auth.certificate.subject': REPLACE_AUTH,
  'connections[].auth.eap': REPLACE_AUTH,
  'connections[].auth.eap.method': REPLACE_AUTH,
  'connections[].auth.eap.secret': REPLACE_AUTH,
  'connections[].remoteId': REPLACE_AUTH,
  'connections[].trafficSelectors': { class: 'replace', reason: 'the traffic selectors change: the connection is loaded again with new child SAs (make-before-break)' },
  'connections[].connect': { class: 'rekey', reason: 'how the tunnel starts changes: the connection is updated in place, its SAs stay' },
  'connections[].ike': REKEY,
  'connections[].ike.proposals': REKEY,
  'connections[].ike.lifetime': REKEY,
  'connections[].esp': REKEY,
  'connections[].esp.proposals': REKEY,
  'connections[].esp.lifetime': REKEY,
  'connections[].dpd': { class: 'rekey', reason: 'dead peer detection changes: the connection is updated in place, its SAs stay' },
  'connections[].rate': { class: 'hitless', reason: 'the tc rate changes in place: no SA or session is touched' },
  'connections[].rate.txKbps': { class: 'hitless', reason: 'the tc rate changes in place: no SA or session is touched' },
  'connections[].rate.rxKbps': { class: 'hitless', reason: 'the tc rate changes in place: no SA or session is touched' },
  'connections[].routes': HITLESS_ROUTE,
  'connections[].routes[]': HITLESS_ROUTE,
  'connections[].routes[].to': HITLESS_ROUTE,
  'connections[].routes[].metric': HITLESS_ROUTE,
  'connections[].postConnectRoutes': HITLESS_ROUTE,
  'connections[].postConnectRoutes[]': HITLESS_ROUTE,
  'connections[].postConnectRoutes[].to': HITLESS_ROUTE,
  'connections[].postConnectRoutes[].metric': HITLESS_ROUTE,
  bgp: NONE,
  'bgp.asn': BGP_RESET,
  'bgp.routerId': BGP_RESET,
  'bgp.neighbors': NONE,
  'bgp.neighbors[]': NONE,
  'bgp.neighbors[].address': BGP_RESET,
  'bgp.neighbors[].remoteAsn': BGP_RESET,
  'bgp.neighbors[].via': BGP_RESET,
  'bgp.advertise': { class: 'hitless', reason: 'BGP policy changes: updates are sent on the sessions that stay up' },
  'bgp.maxPrefixes': { class: 'hitless', reason: 'the prefix limit changes on the sessions that stay up' },
  filters: HITLESS_FILTER,
  'filters[]': HITLESS_FILTER,
  'filters[].interface': HITLESS_FILTER,
  'filters[].direction': HITLESS_FILTER,
  'filters[].permit': HITLESS_FILTER,
  'filters[].permit[]': HITLESS_FILTER,
  'filters[].deny': HITLESS_FILTER,
  'filters[].deny[]': HITLESS_FILTER,
  'filters[].permit[].source': HITLESS_FILTER,
  'filters[].permit[].destination': HITLESS_FILTER,
  'filters[].permit[].protocol': HITLESS_FILTER,
  'filters[].permit[].sourcePort': HITLESS_FILTER,
  'filters[].permit[].destinationPort': HITLESS_FILTER,
  'filters[].permit[].icmpType': HITLESS_FILTER,
  'filters[].permit[].icmpCode': HITLESS_FILTER,
  'filters[].deny[].source': HITLESS_FILTER,
  'filters[].deny[].destination': HITLESS_FILTER,
  'filters[].deny[].protocol': HITLESS_FILTER,
  'filters[].deny[].sourcePort': HITLESS_FILTER,
  'filters[].deny[].destinationPort': HITLESS_FILTER,
  'filters[].deny[].icmpType': HITLESS_FILTER,
  'filters[].deny[].icmpCode': HITLESS_FILTER,
};

/** Whole things coming or going: not a field's change but the thing's. */
export const LIFECYCLE: Readonly<Record<string, Classified>> = {
  'tenant added': { class: 'hitless', reason: 'a new tenant: nothing existing is touched' },
  'tenant removed': { class: 'disruptive', reason: "the tenant is removed: its traffic stops for good" },
  'connection added': { class: 'hitless', reason: 'a new tunnel: nothing existing is touched' },
  'connection removed': { class: 'disruptive', reason: 'the connection is removed: its tunnel stops for good' },
  'bgp added': { class: 'hitless', reason: 'BGP starts: nothing existing is touched' },
  'bgp removed': { class: 'disruptive', reason: 'BGP is removed: every session ends for good, with the routes learned through it' },
  'bgp-neighbor added': { class: 'hitless', reason: 'a new BGP session: the others stay up' },
  'bgp-neighbor removed': { class: 'disruptive', reason: 'the BGP session ends for good, with the routes learned through it' },
  'filter added': HITLESS_FILTER,
  'filter removed': HITLESS_FILTER,
  /** Generated lines changed with no field the summary shows (a gateway default, a newer s2sgw). */
  unknown: { class: 'replace', reason: 'generated lines changed with no tenant field s2sgw can name: treated as a replace (the connection may be loaded again)' },
};

export const rank = (c: ChangeClass): number => CHANGE_CLASSES.indexOf(c);

/** The worst class among the fields (paths as in TENANT_FIELDS); its reason is the first field's of that class. */
export function classify(fields: string[]): Classified {
  let worst: Classified | undefined;
  for (const f of fields) {
    const c = TENANT_FIELDS[f];
    if (!c) throw new Error(`change-class: no class for tenant field ${f}`);
    if (!worst || rank(c.class) > rank(worst.class)) worst = c;
  }
  if (!worst) throw new Error('change-class: classify() needs at least one field');
  return worst;
}

/** Whether a change of class `c` trips `--fail-on threshold`. */
export const atLeast = (c: ChangeClass, threshold: ChangeClass): boolean => rank(c) >= rank(threshold);
