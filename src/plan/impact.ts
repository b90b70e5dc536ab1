// Impact: what a new bundle does to a gateway compared with the one it replaces, tenant by tenant, in operator's words.
// Computed from the two manifests alone, so plan (against a folder or a Git ref) and apply share it. Pure.
import { Manifest, sameSummary, tenantNames } from '../bundle/manifest';
import type { ConnectionSummary, TenantSummary } from '../model/summary';
import { ChangeClass, HA_MOVE, HA_SAME, LIFECYCLE, classify, rank } from './change-class';

export type ChangeKind = 'tenant' | 'network' | 'ha' | 'connection' | 'route' | 'post-connect-route' | 'rate' | 'bgp' | 'bgp-neighbor' | 'filter';
export type ChangeAction = 'added' | 'removed' | 'changed' | 'replaced' | 'rekeyed' | 'reset';

export interface Change {
  kind: ChangeKind;
  action: ChangeAction;
  /** What changed, e.g. "IfCe1" or "10.1.0.0/16 on IfCe1". */
  subject: string;
  /** Before -> after, in words. */
  detail?: string;
  /** The tenant file place that causes it (the new file's line; the old one's for removals). */
  file: string;
  line: number;
  /** Drops a tunnel or resets a BGP session. */
  disruptive: boolean;
  /** The change class (src/plan/change-class.ts): hitless < rekey < replace < disruptive. */
  class: ChangeClass;
  /** Why it has that class; a disruptive one says how long traffic is expected to stop. */
  reason: string;
}

export interface TenantImpact {
  tenant: string;
  file: string;
  status: 'added' | 'removed' | 'changed';
  changes: Change[];
  /** Connections whose SAs drop (removed or replaced), for apply's terminate step. */
  tunnelsDropped: string[];
  /** BGP neighbors whose session resets. */
  sessionsReset: string[];
  /** Connections whose swanctl definition changes (new, replaced, re-keyed). */
  connectionsToLoad: string[];
}

export interface GatewayImpact {
  gateway: string;
  /** The gateway's own lines changed (defaults are reflected in each tenant's effective settings). */
  gatewayChanged: boolean;
  tenants: TenantImpact[];
  untouched: Array<{ tenant: string; digest: string }>;
  totals: { added: number; removed: number; changed: number; untouched: number; tunnelsDropped: number; sessionsReset: number; disruptive: boolean; class: ChangeClass };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** A pair's state in words: "active of the pair with gw2, VRID 40, own 192.168.0.2/29". */
export function haText(h: NonNullable<TenantSummary['ha']>): string {
  return `${h.role} of the pair with ${h.partner}, VRID ${h.vrid}, own ${h.own}, shared ${h.virtual.join(' ')}`;
}

/** The tenant joins, leaves or changes an HA pair on this gateway: the interface's address changes hands (keepalived). */
function haChanges(file: string, a: TenantSummary, b: TenantSummary): Change[] {
  const x = a.ha;
  const y = b.ha;
  if (same(x, y)) return [];
  const line = b.network.line;
  if (!x && y) return [{ kind: 'ha', action: 'added', subject: b.network.interface, detail: `${haText(y)}: the shared address moves to keepalived`, file, line, disruptive: true, ...HA_MOVE }];
  if (x && !y) return [{ kind: 'ha', action: 'removed', subject: a.network.interface, detail: `no longer on a pair: the interface takes the shared address back`, file, line, disruptive: true, ...HA_MOVE }];
  const moves = x!.role !== y!.role || x!.vrid !== y!.vrid || x!.own !== y!.own;
  return [{ kind: 'ha', action: 'changed', subject: b.network.interface, detail: `${haText(x!)} -> ${haText(y!)}`, file, line, disruptive: moves, ...(moves ? HA_MOVE : HA_SAME) }];
}

function connectionChanges(name: string, file: string, a: ConnectionSummary | undefined, b: ConnectionSummary | undefined): Change[] {
  const out: Change[] = [];
  if (!a && b) {
    // A new connection: show the routes it brings too.
    const none: ConnectionSummary = { ...b, routes: [], postConnectRoutes: [] };
    return [{ kind: 'connection', action: 'added', subject: name, detail: `new tunnel to ${b.destination} (${b.auth.split(' ')[0]}, ${b.connect})`, file, line: b.line, disruptive: false, ...LIFECYCLE['connection added'] }, ...connectionChanges(name, file, none, b)];
  }
  if (a && !b) return [{ kind: 'connection', action: 'removed', subject: name, detail: `tunnel to ${a.destination} removed: its SAs are terminated`, file, line: a.line, disruptive: true, ...LIFECYCLE['connection removed'] }];
  if (!a || !b) return out;
  const identity = (c: ConnectionSummary) => ({ auth: c.auth, destination: c.destination, source: c.source, ifId: c.ifId, remoteId: c.remoteId, ts: c.trafficSelectors });
  const negotiation = (c: ConnectionSummary) => ({ ike: c.ike, esp: c.esp, dpd: c.dpd, connect: c.connect });
  if (!same(identity(a), identity(b))) {
    const what: string[] = [];
    if (a.auth !== b.auth) what.push(a.auth.split(' ')[0] === b.auth.split(' ')[0] ? `${a.auth.split(' ')[0]} credentials changed` : `auth ${a.auth.split(' ')[0]} -> ${b.auth.split(' ')[0]}`);
    if (a.destination !== b.destination) what.push(`destination ${a.destination} -> ${b.destination}`);
    if (a.source !== b.source) what.push(`source ${a.source} -> ${b.source}`);
    if (a.ifId !== b.ifId) what.push(`if_id ${a.ifId} -> ${b.ifId}`);
    if (a.remoteId !== b.remoteId) what.push(`remote id ${a.remoteId ?? '(its address)'} -> ${b.remoteId ?? '(its address)'}`);
    if (a.trafficSelectors !== b.trafficSelectors) what.push(`traffic selectors ${a.trafficSelectors ?? 'route-based'} -> ${b.trafficSelectors ?? 'route-based'}`);
    const fields: string[] = [];
    if (a.auth !== b.auth) fields.push('connections[].auth');
    if (a.destination !== b.destination) fields.push('connections[].destination');
    if (a.source !== b.source || a.ifId !== b.ifId) fields.push('connections[].source');
    if (a.remoteId !== b.remoteId) fields.push('connections[].remoteId');
    if (a.trafficSelectors !== b.trafficSelectors) fields.push('connections[].trafficSelectors');
    const line = a.auth !== b.auth ? b.lines.auth : a.destination !== b.destination ? b.lines.destination : a.source !== b.source ? b.lines.source : b.line;
    out.push({ kind: 'connection', action: 'replaced', subject: name, detail: `${what.join(', ')}: the connection is loaded again`, file, line, disruptive: true, ...classify(fields) });
  } else if (!same(negotiation(a), negotiation(b))) {
    const what: string[] = [];
    if (!same(a.ike, b.ike)) what.push('IKE proposals/lifetime');
    if (!same(a.esp, b.esp)) what.push('ESP proposals/lifetime');
    if (a.dpd !== b.dpd) what.push(`DPD ${a.dpd} -> ${b.dpd}`);
    if (a.connect !== b.connect) what.push(`connect ${a.connect} -> ${b.connect}`);
    const fields = [!same(a.ike, b.ike) && 'connections[].ike', !same(a.esp, b.esp) && 'connections[].esp', a.dpd !== b.dpd && 'connections[].dpd', a.connect !== b.connect && 'connections[].connect'].filter((f): f is string => !!f);
    const line = !same(a.ike, b.ike) ? b.lines.ike : !same(a.esp, b.esp) ? b.lines.esp : a.dpd !== b.dpd ? b.lines.dpd : b.lines.connect;
    out.push({ kind: 'connection', action: 'rekeyed', subject: name, detail: `${what.join(', ')} changed: takes effect in place at the next rekey`, file, line, disruptive: false, ...classify(fields) });
  }
  if (!same(a.rate, b.rate)) out.push({ kind: 'rate', action: 'changed', subject: name, detail: `tx ${a.rate.txKbps} -> ${b.rate.txKbps} kbps, rx ${a.rate.rxKbps} -> ${b.rate.rxKbps} kbps`, file, line: b.lines.rate, disruptive: false, ...classify(['connections[].rate']) });
  for (const [kind, key] of [['route', 'routes'], ['post-connect-route', 'postConnectRoutes']] as const) {
    const cls = classify([`connections[].${key}[]`]);
    const before = new Map(a[key].map((r) => [r.to, r]));
    const after = new Map(b[key].map((r) => [r.to, r]));
    for (const [to, r] of after) {
      const old = before.get(to);
      if (!old) out.push({ kind, action: 'added', subject: `${to} on ${name}`, detail: `metric ${r.metric}`, file, line: r.line, disruptive: false, ...cls });
      else if (old.metric !== r.metric) out.push({ kind, action: 'changed', subject: `${to} on ${name}`, detail: `metric ${old.metric} -> ${r.metric}`, file, line: r.line, disruptive: false, ...cls });
    }
    for (const [to, r] of before) if (!after.has(to)) out.push({ kind, action: 'removed', subject: `${to} on ${name}`, detail: `metric ${r.metric}`, file, line: r.line, disruptive: false, ...cls });
  }
  return out;
}

/** Changes inside one tenant (present on both sides). */
export function tenantChanges(a: TenantSummary, b: TenantSummary): Change[] {
  const file = b.file;
  const out: Change[] = [];
  const net = (s: TenantSummary) => ({ ...s.network, line: 0 });
  if (!same(net(a), net(b)) || !same(a.vrf, b.vrf)) {
    const reattach = a.network.vlan !== b.network.vlan || a.network.vsid !== b.network.vsid || a.network.interface !== b.network.interface || !same(a.vrf, b.vrf);
    const fields = [
      a.network.interface !== b.network.interface && 'network.interface',
      a.network.vlan !== b.network.vlan && 'network.vlan',
      a.network.vsid !== b.network.vsid && 'network.vsid',
      // The VRF's table or zone moved: only the lock does that, and the link is recreated with it.
      !same(a.vrf, b.vrf) && 'network.interface',
      !same(a.network.addresses, b.network.addresses) && 'network.addresses',
      !same(a.network.vteps, b.network.vteps) && 'network.vteps',
    ].filter((f): f is string => !!f);
    out.push({ kind: 'network', action: 'changed', subject: b.network.interface, detail: reattach ? 'network re-attached: the VLAN/VXLAN link is recreated' : 'addresses or VTEPs changed', file, line: b.network.line, disruptive: reattach, ...classify(fields.length ? fields : ['network.interface']) });
  }
  out.push(...haChanges(file, a, b));
  for (const name of [...new Set([...Object.keys(a.connections), ...Object.keys(b.connections)])].sort()) out.push(...connectionChanges(name, file, a.connections[name], b.connections[name]));
  const ab = a.bgp;
  const bb = b.bgp;
  if (ab && !bb) out.push({ kind: 'bgp', action: 'removed', subject: `AS ${ab.asn}`, detail: 'BGP removed: every session ends', file, line: ab.line, disruptive: true, ...LIFECYCLE['bgp removed'] });
  if (bb) {
    const speakerReset = !!ab && (ab.asn !== bb.asn || ab.routerId !== bb.routerId);
    if (!ab) out.push({ kind: 'bgp', action: 'added', subject: `AS ${bb.asn}`, detail: `router id ${bb.routerId}`, file, line: bb.line, disruptive: false, ...LIFECYCLE['bgp added'] });
    else if (speakerReset) out.push({ kind: 'bgp', action: 'reset', subject: `AS ${bb.asn}`, detail: `AS ${ab.asn} -> ${bb.asn}, router id ${ab.routerId} -> ${bb.routerId}: every session resets`, file, line: bb.line, disruptive: true, ...classify([ab.asn !== bb.asn ? 'bgp.asn' : 'bgp.routerId']) });
    else if (!same(ab.advertise, bb.advertise) || ab.maxPrefixes !== bb.maxPrefixes) out.push({ kind: 'bgp', action: 'changed', subject: `AS ${bb.asn}`, detail: `advertise [${ab.advertise.join(', ')}] -> [${bb.advertise.join(', ')}], maxPrefixes ${ab.maxPrefixes} -> ${bb.maxPrefixes} (sessions stay up)`, file, line: bb.line, disruptive: false, ...classify([!same(ab.advertise, bb.advertise) ? 'bgp.advertise' : 'bgp.maxPrefixes']) });
    const an = ab?.neighbors ?? {};
    for (const addr of [...new Set([...Object.keys(an), ...Object.keys(bb.neighbors)])].sort()) {
      const x = an[addr];
      const y = bb.neighbors[addr];
      if (!x && y) out.push({ kind: 'bgp-neighbor', action: 'added', subject: addr, detail: `AS ${y.remoteAsn}${y.via ? ` via ${y.via}` : ''}`, file, line: y.line, disruptive: false, ...LIFECYCLE['bgp-neighbor added'] });
      else if (x && !y) out.push({ kind: 'bgp-neighbor', action: 'removed', subject: addr, detail: `AS ${x.remoteAsn}: the session ends`, file, line: x.line, disruptive: true, ...LIFECYCLE['bgp-neighbor removed'] });
      else if (x && y && (speakerReset || x.remoteAsn !== y.remoteAsn || x.via !== y.via))
        out.push({ kind: 'bgp-neighbor', action: 'reset', subject: addr, detail: speakerReset ? 'the speaker changed' : `AS ${x.remoteAsn} -> ${y.remoteAsn}${x.via !== y.via ? `, via ${x.via ?? '-'} -> ${y.via ?? '-'}` : ''}`, file, line: y.line, disruptive: true, ...classify([speakerReset ? 'bgp.asn' : x.remoteAsn !== y.remoteAsn ? 'bgp.neighbors[].remoteAsn' : 'bgp.neighbors[].via']) });
    }
  }
  for (const key of [...new Set([...Object.keys(a.filters), ...Object.keys(b.filters)])].sort()) {
    const x = a.filters[key];
    const y = b.filters[key];
    if (!x && y) out.push({ kind: 'filter', action: 'added', subject: key, detail: `${y.action} ${y.rules.length} rule${y.rules.length === 1 ? '' : 's'}`, file, line: y.line, disruptive: false, ...LIFECYCLE['filter added'] });
    else if (x && !y) out.push({ kind: 'filter', action: 'removed', subject: key, detail: `${x.action} list removed`, file, line: x.line, disruptive: false, ...LIFECYCLE['filter removed'] });
    else if (x && y && !same({ a: x.action, r: x.rules }, { a: y.action, r: y.rules })) {
      const added = y.rules.filter((r) => !x.rules.includes(r));
      const removed = x.rules.filter((r) => !y.rules.includes(r));
      const parts = [x.action !== y.action ? `${x.action} -> ${y.action}` : '', ...added.map((r) => `+ ${r}`), ...removed.map((r) => `- ${r}`)].filter(Boolean);
      const first = y.rules.findIndex((r) => !x.rules.includes(r));
      out.push({ kind: 'filter', action: 'changed', subject: key, detail: parts.join('; ') || 'rule order changed', file, line: first >= 0 ? y.ruleLines[first] : y.line, disruptive: false, ...classify([x.action !== y.action ? `filters[].${y.action}` : `filters[].${y.action}[]`]) });
    }
  }
  return out;
}

function wholeTenant(s: TenantSummary, action: 'added' | 'removed'): Change[] {
  const empty: TenantSummary = { ...s, connections: {}, filters: {}, bgp: undefined, ha: undefined };
  const changes = action === 'added' ? tenantChanges(empty, s) : tenantChanges(s, { ...empty, file: s.file }).map((c) => ({ ...c, file: s.file }));
  const head: Change = { kind: 'tenant', action, subject: s.network.interface, detail: action === 'added' ? `VRF table ${s.vrf.table}${s.network.vlan !== undefined ? `, VLAN ${s.network.vlan}` : `, VSID ${s.network.vsid}`}` : 'VRF, links, chains and qdiscs removed', file: s.file, line: s.line, disruptive: action === 'removed', ...LIFECYCLE[`tenant ${action}`] };
  // A new tenant on a pair: say its role (nothing is disrupted: it carried no traffic).
  return [head, ...changes.filter((c) => c.kind !== 'network').map((c) => (c.kind === 'ha' && action === 'added' && s.ha ? { ...c, detail: haText(s.ha), disruptive: false, ...LIFECYCLE['tenant added'] } : c))];
}

function tally(tenant: string, file: string, status: TenantImpact['status'], changes: Change[]): TenantImpact {
  const conns = (actions: ChangeAction[]) => changes.filter((c) => c.kind === 'connection' && actions.includes(c.action)).map((c) => c.subject);
  const sessions = changes.filter((c) => c.kind === 'bgp-neighbor' && (c.action === 'removed' || c.action === 'reset')).map((c) => c.subject);
  return { tenant, file, status, changes, tunnelsDropped: conns(['removed', 'replaced']), sessionsReset: sessions, connectionsToLoad: conns(['added', 'replaced', 'rekeyed']) };
}

/** The worst class among the changes; hitless when there are none. */
export function worstClass(changes: Change[]): ChangeClass {
  return changes.reduce<ChangeClass>((w, c) => (rank(c.class) > rank(w) ? c.class : w), 'hitless');
}

/** Compares the manifest a host runs (or undefined for a first apply) with a new one. */
export function impact(before: Manifest | undefined, after: Manifest | undefined): GatewayImpact {
  const gateway = (after ?? before)!.gateway;
  const a = before?.tenants ?? {};
  const b = after?.tenants ?? {};
  const tenants: TenantImpact[] = [];
  const untouched: GatewayImpact['untouched'] = [];
  for (const name of tenantNames(a, b)) {
    const x = a[name];
    const y = b[name];
    if (!x && y) tenants.push(tally(name, y.file, 'added', wholeTenant(y.summary, 'added')));
    else if (x && !y) {
      const t = tally(name, x.file, 'removed', wholeTenant(x.summary, 'removed'));
      // A removed tenant's BGP sessions all end.
      t.sessionsReset = Object.keys(x.summary.bgp?.neighbors ?? {}).sort();
      tenants.push(t);
    } else if (x && y) {
      // One entry for both manifests (deriveManifest shares those whose lines are the same bytes): the same tenant.
      if (x === y) {
        untouched.push({ tenant: name, digest: y.digest });
        continue;
      }
      // Equal manifest lines first: comparing 10,000 summaries field by field was 270 ms of a one-tenant apply.
      // The same sha256 of the summary's file is the same JSON (what `same` compares), without reading it: a manifest
      // on disk lists it, and so does one built in memory (plan --cache-dir has it from the work cache, unparsed).
      // The same summary object: both sides took the tenant from one work-cache entry.
      if (x.digest === y.digest && (sameSummary(before!, after!, name) || x.summary === y.summary || same(x.summary, y.summary))) {
        untouched.push({ tenant: name, digest: y.digest });
        continue;
      }
      const changes = tenantChanges(x.summary, y.summary);
      if (!changes.length && x.digest === y.digest) {
        // Only places moved in the YAML (comments, reordering): nothing on the host changes.
        untouched.push({ tenant: name, digest: y.digest });
        continue;
      }
      tenants.push(tally(name, y.file, 'changed', changes.length ? changes : [{ kind: 'tenant', action: 'changed', subject: name, detail: 'generated lines changed', file: y.file, line: y.summary.line, disruptive: false, ...LIFECYCLE.unknown }]));
    }
  }
  const count = (s: TenantImpact['status']) => tenants.filter((t) => t.status === s).length;
  const tunnelsDropped = tenants.reduce((n, t) => n + t.tunnelsDropped.length, 0);
  const sessionsReset = tenants.reduce((n, t) => n + t.sessionsReset.length, 0);
  return {
    gateway,
    gatewayChanged: !!before && !!after && before.gatewayDigest !== after.gatewayDigest,
    tenants,
    untouched,
    totals: { added: count('added'), removed: count('removed'), changed: count('changed'), untouched: untouched.length, tunnelsDropped, sessionsReset, disruptive: tenants.some((t) => t.changes.some((c) => c.disruptive)), class: worstClass(tenants.flatMap((t) => t.changes)) },
  };
}
