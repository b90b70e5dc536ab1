// The frr target's view: every decision about frr/frr.conf (per-VRF static routes and BGP), made here; templates only print.
//
// Metric -> distance: a route's `metric` (1-255, 1 when not set; the schema enforces the range) becomes
// the FRR static route's administrative distance, `ip route PREFIX IFACE DISTANCE`. Lower wins, as the
// seed's metric does: the same prefix on two connections at metrics 100 and 200 is a primary and a
// standby. Distance 1 is FRR's default and is left out, as `show running-config` prints it, so that
// frr-reload finds no difference between the file and the running daemons. FRR rejects 0 and 256+.
// A BGP neighbor's `via` adds a host route (/32 or /128) at distance 1 over that connection: traffic
// to the peer enters the XFRM interface and dials the tunnel (the seed's trigger route).
// Post-connect routes are not here: the connection's updown hook adds them once the tunnel is up.
import * as ipaddr from 'ipaddr.js';
import type { Place } from '../../model/diagnostics';
import { at, haRole, Model, Neighbor, ownAddresses, Tenant } from '../../model/model';
import type { TargetInput } from '../target';
import { familyOf, Family } from '../../model/formats';

/** FRR's connect-retry timer for every neighbor: the tunnel often comes up after the first attempt, and the default retry is 120 s. */
export const CONNECT_RETRY_SECONDS = 5;
/** FRR's default static distance, which running-config leaves out. */
export const DEFAULT_DISTANCE = 1;

export interface StaticRouteView {
  /** `ip route` or `ipv6 route`. */
  command: string;
  prefix: string;
  interface: string;
  /** Empty for the default distance, else " N". */
  distance: string;
  /** Why the line is there, for the comment-free file: kept for tests and diagnostics. */
  kind: 'route' | 'trigger';
}

export interface NeighborView {
  address: string;
  remoteAsn: number;
  /** Empty when the tenant has no network address of the neighbor's family. */
  updateSource: string;
  connectRetry: number;
}

export interface FamilyView {
  /** `ipv4` or `ipv6`: the address-family keyword. */
  afi: string;
  networks: string[];
  neighbors: Array<{ address: string; maxPrefixes: number }>;
  /** `ip` or `ipv6`: the prefix-list / match keyword. */
  ip: string;
  inList: string;
  outList: string;
  /** The out prefix-list: each advertised prefix of this family, or one `deny any` when there is none. */
  outEntries: Array<{ seq: number; action: 'permit' | 'deny'; match: string }>;
  /** The tenant's ASN three times on the standby of an HA pair (set as-path prepend), else empty. */
  prepend: string;
}

export interface BgpView {
  asn: number;
  vrf: string;
  routerId: string;
  neighbors: NeighborView[];
  families: FamilyView[];
}

export interface TenantView {
  name: string;
  file: string;
  /** The VRF block with its static routes; absent when the tenant has no static or trigger route. */
  vrf?: { name: string; routes: StaticRouteView[]; origin: Place };
  bgp?: BgpView & { origin: Place };
  /** Prefix lists and route maps for the BGP neighbors; present with bgp. */
  policy?: { families: FamilyView[]; origin: Place };
}

export interface FrrView {
  hostname: string;
  gatewayFile: string;
  tenants: TenantView[];
}

/** Names in frr.conf: tenant-scoped so two tenants' lists never meet. */
export function listName(tenant: string, dir: 'in' | 'out', family: Family): string {
  return `s2sgw-${tenant}-${dir}${family}`;
}

/** A token that reaches frr.conf: no whitespace, no control character, nothing FRR reads as a comment. */
const TOKEN = /^[A-Za-z0-9_.:/-]+$/;
function token(v: string | number, what: string): string {
  const s = String(v);
  if (!TOKEN.test(s)) throw new Error(`frr: ${what} ${JSON.stringify(s)} cannot be written to frr.conf`);
  return s;
}
/** Text for a `!` comment line: one line, printable. */
function commentText(s: string, what: string): string {
  if (!/^[\x20-\x7e]*$/.test(s)) throw new Error(`frr: ${what} ${JSON.stringify(s)} cannot be written to a frr.conf comment`);
  return s;
}

/** Sort key of an address or prefix: family, address bytes, length (FRR's table order). */
function prefixKey(p: string): string {
  const [a, len] = p.split('/');
  const bytes = ipaddr.parse(a).toByteArray();
  return `${bytes.length === 4 ? 4 : 6}:${bytes.map((b) => b.toString(16).padStart(2, '0')).join('')}/${(len ?? '').padStart(3, '0')}`;
}
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function hostPrefix(address: string): string {
  return `${address}/${familyOf(address) === 4 ? 32 : 128}`;
}

function routeCommand(family: Family): string {
  return family === 4 ? 'ip route' : 'ipv6 route';
}

function staticRoutes(t: Tenant): StaticRouteView[] {
  const out: StaticRouteView[] = [];
  const seen = new Set<string>();
  for (const c of t.connections) {
    for (const r of c.routes) {
      const distance = r.metric === DEFAULT_DISTANCE ? '' : ` ${token(r.metric, 'metric')}`;
      out.push({ command: routeCommand(r.family), prefix: token(r.to, 'route prefix'), interface: token(c.interface, 'interface'), distance, kind: 'route' });
      seen.add(`${r.to} ${c.interface}`);
    }
  }
  for (const n of t.bgp?.neighbors ?? []) {
    if (!n.via) continue;
    const p = hostPrefix(n.address);
    // The operator already routes exactly this host over this interface: that route dials the tunnel.
    if (seen.has(`${p} ${n.via}`)) continue;
    seen.add(`${p} ${n.via}`);
    out.push({ command: routeCommand(familyOf(n.address)), prefix: token(p, 'neighbor address'), interface: token(n.via, 'interface'), distance: '', kind: 'trigger' });
  }
  return out.sort((a, b) => cmp(prefixKey(a.prefix), prefixKey(b.prefix)) || cmp(a.interface, b.interface) || cmp(a.distance, b.distance));
}

/** The tenant's own address of a family on its network interface (BGP's update-source), or ''. */
function networkAddress(t: Tenant, gw: string, family: Family): string {
  const a = ownAddresses(t, gw).find((x) => familyOf(x) === family);
  return a ? token(a.split('/')[0], 'network address') : '';
}

/** AS-path prepends on the standby of an HA pair: the site prefers the active gateway's routes (docs/ha.md). */
export const STANDBY_PREPEND = 3;

function bgpView(t: Tenant, gw: string): BgpView | undefined {
  const b = t.bgp;
  if (!b) return undefined;
  const neighbors = [...b.neighbors].sort((x, y) => cmp(prefixKey(x.address), prefixKey(y.address)));
  const families: FamilyView[] = [];
  for (const family of [4, 6] as Family[]) {
    const fam = (n: Neighbor) => familyOf(n.address) === family;
    const networks = b.advertise.filter((p) => familyOf(p) === family).sort((x, y) => cmp(prefixKey(x), prefixKey(y)));
    const nbs = neighbors.filter(fam);
    if (!nbs.length && !networks.length) continue;
    families.push({
      afi: family === 4 ? 'ipv4' : 'ipv6',
      ip: family === 4 ? 'ip' : 'ipv6',
      networks: networks.map((p) => token(p, 'advertised prefix')),
      outEntries: networks.length ? networks.map((p, i) => ({ seq: 5 * (i + 1), action: 'permit' as const, match: p })) : [{ seq: 5, action: 'deny' as const, match: 'any' }],
      neighbors: nbs.map((n) => ({ address: token(n.address, 'neighbor address'), maxPrefixes: Number(token(b.maxPrefixes, 'maxPrefixes')) })),
      inList: listName(t.name, 'in', family),
      outList: listName(t.name, 'out', family),
      prepend: haRole(t, gw) === 'standby' ? Array(STANDBY_PREPEND).fill(String(b.asn)).join(' ') : '',
    });
  }
  return {
    asn: Number(token(b.asn, 'ASN')),
    vrf: token(t.name, 'tenant name'),
    routerId: token(routerId(t, gw), 'router id'),
    neighbors: neighbors.map((n) => ({
      address: token(n.address, 'neighbor address'),
      remoteAsn: Number(token(n.remoteAsn, 'ASN')),
      updateSource: networkAddress(t, gw, familyOf(n.address)),
      connectRetry: CONNECT_RETRY_SECONDS,
    })),
    families,
  };
}

/** The router id: on an HA pair, a router id that is the shared address becomes the gateway's own (two speakers, two ids). */
function routerId(t: Tenant, gw: string): string {
  const b = t.bgp!;
  const own = t.network.ha?.addresses[gw];
  if (!own || !haRole(t, gw) || familyOf(own) !== 4) return b.routerId;
  return t.network.addresses.some((a) => a.split('/')[0] === b.routerId) ? own.split('/')[0] : b.routerId;
}

/** Builds the frr.conf view of one gateway. Pure; tenants in name order, routes and neighbors in FRR's table order. */
export function toView(input: TargetInput): FrrView {
  const model: Model = input.model;
  return {
    hostname: token(input.gateway.name, 'gateway name'),
    gatewayFile: commentText(input.gateway.origin.file, 'file name'),
    tenants: [...input.tenants]
      .sort((a, b) => cmp(a.name, b.name))
      .map((t): TenantView => {
        token(t.name, 'tenant name');
        const routes = staticRoutes(t);
        const bgp = bgpView(t, input.gateway.name);
        const view: TenantView = { name: t.name, file: commentText(t.file, 'file name') };
        if (routes.length) view.vrf = { name: t.name, routes, origin: at(model, t.origin, 'connections') };
        if (bgp && t.bgp) {
          view.bgp = { ...bgp, origin: at(model, t.bgp.origin) };
          view.policy = { families: bgp.families, origin: at(model, t.bgp.origin, 'advertise') };
        }
        return view;
      }),
  };
}
