// The nftables target's view: every decision about nftables/s2sgw.nft is made here; the templates only print.
//
// Shape of the ruleset (one `table inet s2sgw`, replaced atomically by the file):
// - Conntrack zones. Tenants may use the same addresses, so each tenant's flows live in its own
//   conntrack zone (alloc.tenants[t].zone). The zone is set at raw priority, before conntrack looks
//   the packet up: in prerouting by the input device (the VLAN/VXLAN sub-interface and every XFRM
//   interface; at prerouting, before the VRF hook, iifname is still the real device) and in output
//   by the output device (the same devices plus the VRF device) for the gateway's own traffic, BGP.
// - Filters. The seed's 5-tuple filters become one chain per (interface, direction), reached from
//   the forward hook through two verdict maps keyed by interface name, so the cost per packet does
//   not grow with the number of tenants. `outbound` on X (leaving the network behind X, arriving at
//   the gateway on X) is keyed by the input device: `meta sdifname` for a VRF slave (where iifname
//   is the VRF device), and iifname for a device outside any VRF (sdifname is empty there; no
//   interface is named like a VRF, so the two lookups never both hit). `inbound` on X (the gateway
//   sends it out of X) is keyed by oifname, the real output device.
// - Stateful. The seed's filters are stateless, which would drop the replies of a permitted flow
//   (Contoso's inbound list permits only HTTPS and ping, yet its sites must answer the connections
//   Contoso's network opens). Here established and related packets pass before any filter, so a
//   filter judges only the packet that opens a flow; the per-tenant zones keep one tenant's flow
//   from opening the door for another tenant's identical addresses.
// - Verdicts. A chain is jumped to, never gone to, so both maps are consulted (a packet from IfCi1
//   to IfCe1 meets the outbound filter of IfCi1 and the inbound filter of IfCe1). A permitted packet
//   `return`s (an `accept` would skip the second map); a permit chain ends in `drop`, a deny chain in
//   `return`. Base chains keep `policy accept`: other tables share the hooks, and a drop there would
//   end evaluation for every tenant.
// - Scope. Filters see forwarded traffic only; the gateway's own IKE and BGP are not filtered, so a
//   tenant's filter cannot cut its own BGP session.
// Every tenant line carries `comment "tenants/<t>.yaml:LINE"`, which maps a rejection by nft back
// to the YAML, and lives in that tenant's section (map elements are added with `add element`), chains with `add chain` and
// `add rule`).
// - Flat commands, not `table inet s2sgw { chain ... }` blocks per tenant: nft re-reads the table for each
//   reopened block, so the check grew with the square of the tenants (2,000 tenants: 9.7 s CPU and 1.2 GB
//   for `nft -c` as blocks, 1.3 s and 155 MB flat; 10,000 flat: 6.6 s and 755 MB, linear).
import type { Place } from '../../model/diagnostics';
import { at, FilterRule, Filter, Model, Tenant } from '../../model/model';
import type { TargetInput } from '../target';
import { familyOf, isPortRange, isPrefixOrAddress } from '../../model/formats';

export const TABLE = 'inet s2sgw';
/** Map names; none is an nft keyword (a chain named `fwd` is a syntax error in nft 1.0.6). */
export const MAPS = { zoneIn: 'zone_iif', zoneOut: 'zone_oif', outbound: 'outbound', inbound: 'inbound' } as const;

export interface RuleView {
  /** The match expression; empty matches every packet. */
  match: string;
  verdict: 'return' | 'drop';
  comment: string;
}

export interface ChainView {
  name: string;
  rules: RuleView[];
  /** The last rule: drop for a permit list, return for a deny list. */
  last: RuleView;
}

export interface ElementView {
  map: string;
  key: string;
  comment: string;
  value: string;
}

export interface TenantView {
  table: string;
  name: string;
  file: string;
  zone: number;
  /** Zone elements first, then the filter chains, then the verdict-map elements that reach them. */
  zones: ElementView[];
  chains: ChainView[];
  dispatch: ElementView[];
}

export interface GatewayView {
  table: string;
  maps: typeof MAPS;
}

/** An interface name as an nft quoted string; the schema already limits names to [A-Za-z0-9_.-]. */
function ifname(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`interface name ${JSON.stringify(name)} cannot reach nftables`);
  return `"${name}"`;
}

/** `comment "file:line"`: where a line comes from. Paths are config-relative and quote-free. */
export function comment(place: Place): string {
  if (!/^[A-Za-z0-9_./-]+$/.test(place.file)) throw new Error(`file name ${JSON.stringify(place.file)} cannot reach an nft comment`);
  return `"${place.file}:${place.line}"`;
}

/** A chain name per interface and direction: a prefix keeps it clear of nft keywords and leading digits. */
export function chainName(filter: Pick<Filter, 'interface' | 'direction'>): string {
  ifname(filter.interface);
  return `${filter.direction}_${filter.interface}`;
}

function address(a: string): string {
  if (!isPrefixOrAddress(a)) throw new Error(`${JSON.stringify(a)} is not an address or prefix`);
  return a;
}

function port(p: number | string): string {
  const s = String(p);
  if (!(/^[1-9][0-9]{0,4}$/.test(s) && Number(s) <= 65535) && !isPortRange(s)) throw new Error(`${JSON.stringify(s)} is not a port or port range`);
  return s;
}

function byte(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new Error(`${n} is not an ICMP type or code`);
  return String(n);
}

/** nft names of the schema's protocols; `meta l4proto` takes them in both families. */
const L4PROTO: Record<string, string> = { tcp: 'tcp', udp: 'udp', sctp: 'sctp', icmp: 'icmp', icmpv6: 'ipv6-icmp', gre: 'gre', esp: 'esp', ah: 'ah' };

/**
 * The nft match of one 5-tuple rule. Pure. Addresses pick `ip` or `ip6`; a rule without addresses
 * matches both families. Ports imply their protocol (`tcp dport 443`), as do ICMP types and codes.
 */
export function match(r: FilterRule): string {
  const parts: string[] = [];
  const fam = r.source ?? r.destination;
  const ip = fam === undefined ? '' : familyOf(fam) === 4 ? 'ip' : 'ip6';
  if (r.source !== undefined) parts.push(`${ip} saddr ${address(r.source)}`);
  if (r.destination !== undefined) parts.push(`${ip} daddr ${address(r.destination)}`);
  const proto = r.protocol;
  if (proto !== undefined) {
    if (!(proto in L4PROTO)) throw new Error(`protocol ${JSON.stringify(proto)} is not known to the nftables target`);
    const specific: string[] = [];
    if (proto === 'tcp' || proto === 'udp' || proto === 'sctp') {
      if (r.sourcePort !== undefined) specific.push(`${proto} sport ${port(r.sourcePort)}`);
      if (r.destinationPort !== undefined) specific.push(`${proto} dport ${port(r.destinationPort)}`);
    }
    if (proto === 'icmp' || proto === 'icmpv6') {
      if (r.icmpType !== undefined) specific.push(`${proto} type ${byte(r.icmpType)}`);
      if (r.icmpCode !== undefined) specific.push(`${proto} code ${byte(r.icmpCode)}`);
    }
    parts.push(...(specific.length ? specific : [`meta l4proto ${L4PROTO[proto]}`]));
  }
  return parts.join(' ');
}

function filterChain(model: Model, f: Filter): ChainView {
  const verdict = f.action === 'permit' ? 'return' : 'drop';
  return {
    name: chainName(f),
    rules: f.rules.map((r) => ({ match: match(r), verdict, comment: comment(r.origin) })),
    last: { match: '', verdict: f.action === 'permit' ? 'drop' : 'return', comment: comment(at(model, f.origin, 'interface')) },
  };
}

/** One tenant's lines: its zone on its devices, its filter chains and their dispatch. Pure. */
export function tenantView(model: Model, t: Tenant, zone: number): TenantView {
  const netPlace = at(model, t.network.origin, 'interface');
  const devices: Array<{ name: string; place: Place }> = [
    { name: t.network.interface, place: netPlace },
    ...t.connections.map((c) => ({ name: c.interface, place: at(model, c.origin, 'interface') })),
  ];
  const z = String(zone);
  const zones: ElementView[] = [
    ...devices.map((d) => ({ map: MAPS.zoneIn, key: ifname(d.name), comment: comment(d.place), value: z })),
    // The VRF device: the gateway's own traffic in the VRF (BGP) leaves through it first.
    { map: MAPS.zoneOut, key: ifname(t.name), comment: comment(at(model, t.origin, 'tenant')), value: z },
    ...devices.map((d) => ({ map: MAPS.zoneOut, key: ifname(d.name), comment: comment(d.place), value: z })),
  ];
  const chains = t.filters.map((f) => filterChain(model, f));
  const dispatch = t.filters.map((f) => ({
    map: f.direction === 'outbound' ? MAPS.outbound : MAPS.inbound,
    key: ifname(f.interface),
    comment: comment(at(model, f.origin, 'interface')),
    value: `jump ${chainName(f)}`,
  }));
  return { table: TABLE, name: t.name, file: t.file, zone, zones, chains, dispatch };
}

export function gatewayView(): GatewayView {
  return { table: TABLE, maps: MAPS };
}

/** The zone of each tenant on this gateway, from the lock. */
export function zoneOf(input: TargetInput, t: Tenant): number {
  const ids = input.alloc.tenants[t.name];
  if (!ids) throw new Error(`tenant ${t.name} has no allocations; allocate before rendering`);
  return ids.zone;
}
