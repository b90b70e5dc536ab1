// A tenant's settings on one gateway as plain data, kept in manifest.json: what plan and apply compare to tell
// which tunnels, sessions, routes and filters a change touches, without the YAML at hand.
import type { Allocations } from './lock';
import { effective, Gateway, haRole, Route, Tenant, FilterRule, virtualAddresses } from './model';

export interface RouteSummary {
  to: string;
  metric: number;
  line: number;
}

export interface ConnectionSummary {
  line: number;
  /** Lines of the keys a change is reported at (the connection's own line when a key is absent). */
  lines: { auth: number; destination: number; source: number; rate: number; ike: number; esp: number; dpd: number; connect: number };
  ifId: number;
  /** What identifies the peer and proves it: a change here replaces the tunnel. */
  auth: string;
  destination: string;
  source: string;
  connect: string;
  /** The identity the peer sends, when the tenant sets one (else its address or certificate subject). */
  remoteId?: string;
  /** Present only when not route-based (the default), so older summaries compare equal. */
  trafficSelectors?: 'policy-based';
  /** Negotiation settings: a change here is picked up at the next rekey (re-keyed in place). */
  ike: { proposals: string[]; lifetime: string };
  esp: { proposals: string[]; lifetime: string };
  dpd: string;
  rate: { txKbps: number; rxKbps: number };
  routes: RouteSummary[];
  postConnectRoutes: RouteSummary[];
}

export interface NeighborSummary {
  remoteAsn: number;
  via?: string;
  line: number;
}

export interface FilterSummary {
  action: 'permit' | 'deny';
  rules: string[];
  ruleLines: number[];
  line: number;
}

export interface TenantSummary {
  file: string;
  line: number;
  /** Absent when the tenant names none. */
  routingDomain?: string;
  vrf: { table: number; zone: number };
  network: { interface: string; vlan?: number; vsid?: number; vteps: string[]; addresses: string[]; line: number };
  /** On an HA pair: this gateway's role, its partner, the VRID, its own and the shared (virtual) addresses. */
  ha?: { vrid: number; role: 'active' | 'standby'; partner: string; own: string; virtual: string[] };
  connections: Record<string, ConnectionSummary>;
  bgp?: { asn: number; routerId: string; advertise: string[]; maxPrefixes: number; line: number; neighbors: Record<string, NeighborSummary> };
  /** Keyed "INTERFACE DIRECTION". */
  filters: Record<string, FilterSummary>;
}

function routes(list: Route[]): RouteSummary[] {
  return list.map((r) => ({ to: r.to, metric: r.metric, line: r.origin.line }));
}

/** A filter rule as one canonical line: "proto=tcp dst=192.168.0.0/29 dport=443". */
export function ruleText(r: FilterRule): string {
  const parts: string[] = [];
  if (r.protocol) parts.push(`proto=${r.protocol}`);
  if (r.source) parts.push(`src=${r.source}`);
  if (r.sourcePort !== undefined) parts.push(`sport=${r.sourcePort}`);
  if (r.destination) parts.push(`dst=${r.destination}`);
  if (r.destinationPort !== undefined) parts.push(`dport=${r.destinationPort}`);
  if (r.icmpType !== undefined) parts.push(`type=${r.icmpType}`);
  if (r.icmpCode !== undefined) parts.push(`code=${r.icmpCode}`);
  return parts.join(' ') || 'any';
}

function authText(t: Tenant, c: Tenant['connections'][number]): string {
  const a = c.auth;
  if (a.kind === 'psk') return `psk ${a.ref}`;
  if (a.kind === 'certificate') return `certificate ${a.subject}`;
  return `eap-${a.method} ${a.ref} user=${c.interface}`;
}

/** Summarizes one tenant as deployed on one gateway (effective values, allocated ids). Pure. */
export function summarize(t: Tenant, gw: Gateway, alloc: Allocations): TenantSummary {
  const ids = alloc.tenants[t.name];
  const connections: Record<string, ConnectionSummary> = {};
  for (const c of [...t.connections].sort((a, b) => (a.interface < b.interface ? -1 : 1))) {
    const e = effective(c, gw);
    const lineOf = (key: string) => c.origin.keys?.[key]?.line ?? c.origin.line;
    connections[c.interface] = {
      line: c.origin.line,
      lines: { auth: lineOf('auth'), destination: lineOf('destination'), source: lineOf('source'), rate: lineOf('rate'), ike: lineOf('ike'), esp: lineOf('esp'), dpd: lineOf('dpd'), connect: lineOf('connect') },
      ifId: ids.ifIds[c.interface],
      auth: authText(t, c),
      destination: c.destination,
      source: e.source,
      connect: c.connect,
      ...(c.remoteId !== undefined ? { remoteId: c.remoteId } : {}),
      ...(c.trafficSelectors === 'policy-based' ? { trafficSelectors: 'policy-based' as const } : {}),
      ike: { proposals: e.ike.proposals, lifetime: e.ike.lifetime },
      esp: { proposals: e.esp.proposals, lifetime: e.esp.lifetime },
      dpd: e.dpd,
      rate: { txKbps: e.rate.txKbps, rxKbps: e.rate.rxKbps },
      routes: routes(c.routes),
      postConnectRoutes: routes(c.postConnectRoutes),
    };
  }
  const filters: Record<string, FilterSummary> = {};
  for (const f of t.filters) filters[`${f.interface} ${f.direction}`] = { action: f.action, rules: f.rules.map(ruleText), ruleLines: f.rules.map((r) => r.origin.line), line: f.origin.line };
  return {
    file: t.file,
    line: t.origin.line,
    ...(t.routingDomain !== undefined ? { routingDomain: t.routingDomain } : {}),
    vrf: { table: ids.table, zone: ids.zone },
    network: {
      interface: t.network.interface,
      ...(t.network.vlan !== undefined ? { vlan: t.network.vlan } : {}),
      ...(t.network.vsid !== undefined ? { vsid: t.network.vsid } : {}),
      vteps: t.network.vteps,
      addresses: t.network.addresses,
      line: t.network.origin.line,
    },
    ...(haRole(t, gw.name) && t.network.ha?.addresses[gw.name]
      ? {
          ha: {
            vrid: t.network.ha.vrid,
            role: haRole(t, gw.name)!,
            partner: t.gateways.find((g) => g !== gw.name)!,
            own: t.network.ha.addresses[gw.name],
            virtual: virtualAddresses(t, gw.name),
          },
        }
      : {}),
    connections,
    ...(t.bgp
      ? {
          bgp: {
            asn: t.bgp.asn,
            routerId: t.bgp.routerId,
            advertise: t.bgp.advertise,
            maxPrefixes: t.bgp.maxPrefixes,
            line: t.bgp.origin.line,
            neighbors: Object.fromEntries(t.bgp.neighbors.map((n) => [n.address, { remoteAsn: n.remoteAsn, ...(n.via ? { via: n.via } : {}), line: n.origin.line }])),
          },
        }
      : {}),
    filters,
  };
}
