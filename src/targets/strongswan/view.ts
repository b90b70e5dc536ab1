// The strongSwan view: every decision about a gateway's swanctl connections, secrets refs and updown hook, made once, purely.
import type { Connection, Gateway, Tenant } from '../../model/model';
import { effective } from '../../model/model';
import type { Allocations } from '../../model/lock';
import { familyOf, networkOf, Family } from '../../model/formats';
import { refsLine } from './secrets';
import { covers, sitePrefixes } from '../../model/selectors';

// Moved to model/selectors (validate's rules use them too); re-exported for the peer view.
export { covers, sitePrefixes };

/** Where apply puts the current bundle on the host; the updown hook is referenced by this absolute path. */
export const HOST_BUNDLE = '/var/lib/s2sgw/current';
export const UPDOWN_PATH = 'swanctl/updown.sh';
export const UPDOWN_HOST_PATH = `${HOST_BUNDLE}/${UPDOWN_PATH}`;
export const CHARON_SNIPPET_PATH = 'swanctl/strongswan.d/s2sgw.conf';
export const SECRETS_REFS_PATH = 'swanctl/secrets.refs';
import { PRIVATE_REFS_PATH, parsePrivateRefs } from './host';
export { PRIVATE_REFS_PATH, parsePrivateRefs };
/** The name of that link under swanctl's private/ folder. */
export const privateKeyLink = (gateway: string): string => `s2sgw-${gateway}.key`;

/** A key path that can be written on one line (the schema already refuses spaces and quotes). */
export function privateKeyPath(p: string): string {
  if (!/^\/[^\s"'\\;{}#,]*$/.test(p)) throw new Error(`private key path ${JSON.stringify(p)} cannot be written to ${PRIVATE_REFS_PATH}`);
  return p;
}

export const confPath = (tenant: string): string => `swanctl/conf.d/${tenant}.conf`;

/**
 * A connection name is a swanctl section name and part of secret section names (ike-NAME): the
 * settings syntax has no quoting for names and treats '.' as a path separator.
 */
export const CONNECTION_NAME = /^[A-Za-z0-9_-]{1,15}$/;

/** A double-quoted swanctl.conf value. Refuses what the settings syntax would read as the end of the value. */
export function q(s: string): string {
  if (/["\\\x00-\x1f\x7f]/.test(s)) throw new Error(`cannot write ${JSON.stringify(s)} into swanctl.conf: quotes, backslashes and control characters are not allowed`);
  return `"${s}"`;
}

/** Text for a '#' comment: control characters (a newline would end the comment) become '?'. */
export function comment(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, '?');
}

/** A single-quoted sh word; safe for any text. */
export function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function connectionName(name: string): string {
  if (!CONNECTION_NAME.test(name)) throw new Error(`connection interface ${JSON.stringify(name)} cannot be a swanctl connection name: use 1-15 of A-Z a-z 0-9 _ - (no dots)`);
  return name;
}

/** A list value (certs, cacerts, proposals are comma-separated lists in swanctl.conf), quoted as one string. */
function list(items: string[]): string {
  for (const i of items) if (i.includes(',')) throw new Error(`cannot write ${JSON.stringify(i)} into a swanctl.conf list: it contains a comma`);
  return q(items.join(','));
}

export interface AuthView {
  auth: string;
  /** Quoted, or null when swanctl's default applies. */
  id: string | null;
  certs: string | null;
  eapId: string | null;
  cacerts: string | null;
}

export interface ChildView {
  /** The connection's name for its first child; NAME~N for a policy-based connection's further pairs. */
  name: string;
  localTs: string;
  remoteTs: string;
  espProposals: string;
  rekeyTime: string;
  ifId: number;
  startAction: string;
  dpdAction: string;
  closeAction: string;
  updown: string | null;
}

export interface ConnView {
  name: string;
  localAddrs: string;
  remoteAddrs: string;
  proposals: string;
  rekeyTime: string;
  dpdDelay: string;
  /** 0 (retry for ever) for connections that must stay up; null keeps swanctl's default of 1. */
  keyingtries: string | null;
  local: AuthView;
  remote: AuthView;
  children: ChildView[];
  /** The connection in the tenant file (for sections and diagnostics). */
  connection: Connection;
}

export interface UpdownConnView {
  /** sh-quoted child names joined by | (a case pattern). */
  name: string;
  /** Every field sh-quoted or a bare family digit. */
  routes: Array<{ family: string; table: string; dev: string; prefix: string; metric: string }>;
}

export interface TenantView {
  tenant: Tenant;
  file: string;
  connections: ConnView[];
  /** Lines of secrets.refs, without their trailing newline. */
  refs: string[];
  /** The tenant's part of the updown hook, or null when no connection has post-connect routes. */
  updown: { name: string; file: string; table: number; connections: UpdownConnView[] } | null;
}

export interface GatewayView {
  gatewayFile: string;
  tenants: TenantView[];
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The inner address families a connection carries: its routes, its BGP neighbors and the tenant's own network. Sorted (4 before 6). */
export function innerFamilies(t: Tenant, c: Connection): Family[] {
  const fams = new Set<Family>();
  for (const r of [...c.routes, ...c.postConnectRoutes]) fams.add(r.family);
  for (const n of t.bgp?.neighbors ?? []) if (n.via === c.interface) fams.add(familyOf(n.address));
  for (const a of t.network.addresses) fams.add(familyOf(a));
  return [...fams].sort();
}

const ANY: Record<Family, string> = { 4: '0.0.0.0/0', 6: '::/0' };

/** The tenant's networks (network form), sorted: the gateway's side of policy-based selectors. */
export function tenantPrefixes(t: Tenant): string[] {
  return [...new Set(t.network.addresses.map(networkOf))].sort(byString);
}

/**
 * The selector pairs of a connection, one CHILD_SA each. Route-based: one any-to-any pair over every inner
 * family. Policy-based: every tenant network with every site prefix of its family, so a peer that accepts only
 * one pair per CHILD_SA (libreswan, most hardware) still gets all of them, each in its own CHILD_SA with its own
 * reqid; one child with several selectors would let such a peer narrow it to one pair, and the kernel would then
 * send every flow to that site into that pair's SA (the same reqid), which the peer drops.
 */
export function selectorPairs(t: Tenant, c: Connection): Array<{ local: string[]; remote: string[] }> {
  if (c.trafficSelectors === 'route-based') {
    const any = innerFamilies(t, c).map((f) => ANY[f]);
    return [{ local: any, remote: any }];
  }
  const own = tenantPrefixes(t);
  return sitePrefixes(t, c).flatMap((site) => own.filter((p) => familyOf(p) === familyOf(site)).map((p) => ({ local: [p], remote: [site] })));
}

/** The child name of the i-th selector pair: '~' cannot be in a connection name, so no two children of a tenant share a name. */
export const childName = (conn: string, i: number): string => (i === 0 ? conn : `${conn}~${i + 1}`);

/** What each connect mode means to charon: on load, on DPD timeout, and when the peer closes the CHILD_SA. */
const CONNECT: Record<Connection['connect'], { start: string; dpd: string; close: string; keyingtries: string | null }> = {
  // Routed traffic dials the tunnel (the seed's trigger routes); after a failure the trap is back.
  'on-demand': { start: 'trap', dpd: 'trap', close: 'trap', keyingtries: null },
  always: { start: 'start', dpd: 'restart', close: 'start', keyingtries: '0' },
  'respond-only': { start: 'none', dpd: 'clear', close: 'none', keyingtries: null },
};

function authViews(c: Connection, gw: Gateway, source: string): { local: AuthView; remote: AuthView } {
  const none = { id: null, certs: null, eapId: null, cacerts: null };
  // The gateway proves itself with its identity certificate to certificate and EAP peers alike.
  const byCert: AuthView = { ...none, auth: 'pubkey', certs: gw.identity ? list([gw.identity.certificate]) : null };
  switch (c.auth.kind) {
    case 'psk':
      // The peer is found by its address (remote_addrs); its identity is its address too unless it has a remoteId
      // (a site behind NAT names itself by its private address).
      return { local: { ...none, auth: 'psk', id: q(source) }, remote: { ...none, auth: 'psk', id: q(remoteIdOf(c)) } };
    case 'certificate':
      return { local: byCert, remote: { ...none, auth: 'pubkey', id: q(c.remoteId ?? c.auth.subject), cacerts: gw.identity ? list(gw.identity.trustAnchors) : null } };
    case 'eap':
      // The gateway is the EAP server; the site's username is the interface name (as in the seed).
      return { local: byCert, remote: { ...none, auth: `eap-${c.auth.method}`, eapId: q(c.interface) } };
  }
}

/** The identity the site sends: its remoteId, else its address (PSK) or certificate subject. */
export function remoteIdOf(c: Connection): string {
  return c.remoteId ?? (c.auth.kind === 'certificate' ? c.auth.subject : c.auth.kind === 'eap' ? c.interface : c.destination);
}

function connView(t: Tenant, c: Connection, gw: Gateway, alloc: Allocations): ConnView {
  const name = connectionName(c.interface);
  const eff = effective(c, gw);
  const ifId = alloc.tenants[t.name]?.ifIds[c.interface];
  if (ifId === undefined) throw new Error(`no if_id allocated for ${t.name}/${c.interface}: allocate() must run before render`);
  const mode = CONNECT[c.connect];
  return {
    name,
    localAddrs: q(eff.source),
    remoteAddrs: q(c.destination),
    proposals: list(eff.ike.proposals),
    rekeyTime: q(eff.ike.lifetime),
    dpdDelay: q(eff.dpd),
    keyingtries: mode.keyingtries,
    ...authViews(c, gw, eff.source),
    children: selectorPairs(t, c).map((pair, i) => ({
      name: childName(name, i),
      localTs: list(pair.local),
      remoteTs: list(pair.remote),
      espProposals: list(eff.esp.proposals),
      rekeyTime: q(eff.esp.lifetime),
      ifId,
      startAction: mode.start,
      dpdAction: mode.dpd,
      closeAction: mode.close,
      updown: c.postConnectRoutes.length ? q(UPDOWN_HOST_PATH) : null,
    })),
    connection: c,
  };
}

function refs(c: Connection, source: string): string | null {
  switch (c.auth.kind) {
    case 'psk':
      return refsLine({ connection: c.interface, kind: 'psk', ref: c.auth.ref, ids: [source, remoteIdOf(c)] });
    case 'eap':
      return refsLine({ connection: c.interface, kind: 'eap', ref: c.auth.ref, ids: [c.interface] });
    case 'certificate':
      return null; // the gateway's private key is a file on the host, not a shared secret
  }
}

const TENANT_NAME = /^[a-z][a-z0-9-]{0,14}$/;

function updownView(t: Tenant, conns: Connection[], alloc: Allocations): TenantView['updown'] {
  const withRoutes = conns.filter((c) => c.postConnectRoutes.length);
  if (!withRoutes.length) return null;
  const table = alloc.tenants[t.name]?.table;
  if (table === undefined) throw new Error(`no table allocated for tenant ${t.name}: allocate() must run before render`);
  return {
    name: t.name,
    file: comment(t.file),
    table,
    connections: withRoutes.map((c) => ({
      name: selectorPairs(t, c).map((_, i) => sh(childName(connectionName(c.interface), i))).join('|'),
      routes: [...c.postConnectRoutes]
        .sort((a, b) => a.family - b.family || byString(a.to, b.to))
        .map((r) => ({ family: String(r.family), table: sh(String(table)), dev: sh(c.interface), prefix: sh(r.to), metric: sh(String(r.metric)) })),
    })),
  };
}

/** One tenant's view on a gateway. Pure; connections in name order. */
export function tenantView(t: Tenant, gw: Gateway, alloc: Allocations): TenantView {
  if (!TENANT_NAME.test(t.name)) throw new Error(`tenant name ${JSON.stringify(t.name)} is not a VRF name`);
  const conns = [...t.connections].sort((a, b) => byString(a.interface, b.interface));
  return {
    tenant: t,
    file: comment(t.file),
    connections: conns.map((c) => connView(t, c, gw, alloc)),
    refs: conns.map((c) => refs(c, effective(c, gw).source)).filter((l): l is string => l !== null),
    updown: updownView(t, conns, alloc),
  };
}

/** Tenants in name order, as the views list them. */
export const byName = (tenants: Tenant[]): Tenant[] => [...tenants].sort((a, b) => byString(a.name, b.name));

/** The whole view of one gateway. Pure; tenants and connections in name order. */
export function toView(gw: Gateway, tenants: Tenant[], alloc: Allocations): GatewayView {
  return { gatewayFile: gw.origin.file, tenants: byName(tenants).map((t) => tenantView(t, gw, alloc)) };
}
