// Model phase: one typed model of the whole config repository, built from schema-valid files.
// Every entity keeps its origin (file, YAML path, 1-based line/col) so later phases report at the source.
import { sharedPath } from '../util/places';
import { unsliced } from '../util/unsliced';
import type { Diagnostic, Place } from './diagnostics';
import { SourceFile, locate, keyPlaces, Path, Span } from './source';
import { familyOf, isIp, canonical, Family } from './formats';
import { DEFAULT_SECRETS_DIR } from './secret-scope';

export interface Origin extends Place {
  path: Path;
  length?: number;
  /** Places of the entity's own keys' values, so late phases need not keep the YAML document. */
  keys?: Record<string, Span>;
}

export interface Rate {
  txKbps: number;
  rxKbps: number;
}
export interface Policy {
  proposals: string[];
  lifetime: string;
}

export interface Gateway {
  name: string;
  origin: Origin;
  external: { interface: string; addresses: string[] };
  trunk: { interface: string; underlayAddress?: string };
  identity?: { certificate: string; privateKey: string; trustAnchors: string[] };
  /** The gateway file's own reserved device name patterns (the built-in list is added by the rule reserved-interface-name). */
  reservedInterfaces: string[];
  /** The folder of the tenants' secret files on the host (DEFAULT_SECRETS_DIR when not set). */
  secretsDir: string;
  /** The fleet rollout wave that reaches this gateway (0 = canary), when its file sets one; plan shows it, nothing renders it. */
  rollout?: { wave: number };
  /** Defaults with the built-in values filled in. */
  defaults: { rate: Rate; ike: Policy; esp: Policy; dpd: string };
  /** Which default proposals the file wrote (the others are s2sgw's built-in ones). */
  written?: { ike: boolean; esp: boolean };
  /** The crypto profile the gateway's proposals are judged by (docs/crypto.md); absent: only RFC 8221/8247's MUST NOTs warn. */
  cryptoProfile?: string;
}

export interface Route {
  to: string;
  metric: number;
  family: Family;
  origin: Origin;
}

export type Auth =
  | { kind: 'psk'; ref: string }
  | { kind: 'certificate'; subject: string }
  | { kind: 'eap'; method: 'mschapv2' | 'md5'; ref: string };

export interface Connection {
  interface: string;
  origin: Origin;
  destination: string;
  /** True when destination is an IP literal (required for PSK). */
  destinationIsIp: boolean;
  source?: string;
  auth: Auth;
  connect: 'on-demand' | 'always' | 'respond-only';
  routes: Route[];
  postConnectRoutes: Route[];
  rate?: Partial<Rate>;
  ike?: Partial<Policy>;
  esp?: Partial<Policy>;
  dpd?: string;
  /** route-based: one any-to-any CHILD_SA; policy-based: one CHILD_SA per (tenant network, site prefix) pair. */
  trafficSelectors: 'route-based' | 'policy-based';
  /** The site's IKE identity when it is not its address (a site behind NAT); canonical when an IP. */
  remoteId?: string;
}

export interface Neighbor {
  address: string;
  remoteAsn: number;
  via?: string;
  origin: Origin;
}

export interface Bgp {
  asn: number;
  /** The router id: as written, else the tenant's first network IPv4 address; '' when neither exists (bgp-router-id-missing). */
  routerId: string;
  /** True when routerId was not written (the default, or '' when there is no IPv4 network address). */
  routerIdDefault?: boolean;
  neighbors: Neighbor[];
  advertise: string[];
  maxPrefixes: number;
  origin: Origin;
}

export interface FilterRule {
  source?: string;
  destination?: string;
  protocol?: string;
  sourcePort?: number | string;
  destinationPort?: number | string;
  icmpType?: number;
  icmpCode?: number;
  origin: Origin;
}

export interface Filter {
  interface: string;
  direction: 'inbound' | 'outbound';
  action: 'permit' | 'deny';
  rules: FilterRule[];
  origin: Origin;
}

/** A tenant on a pair of gateways: VRRP moves the network address between them (docs/ha.md). */
export interface Ha {
  vrid: number;
  /** VRRP advertisement interval in seconds, as written (the keepalived view applies its default). */
  advertInterval?: number;
  /** Each gateway's own address on the tenant network (canonical, with prefix length), by gateway name. */
  addresses: Record<string, string>;
  origin: Origin;
}

export interface Tenant {
  name: string;
  file: string;
  origin: Origin;
  /** As written (a GUID in braces lower-cased, or a label); absent when not given: nothing on the host needs it. */
  routingDomain?: string;
  gateways: string[];
  network: { interface: string; vlan?: number; vsid?: number; vteps: string[]; addresses: string[]; ha?: Ha; origin: Origin };
  connections: Connection[];
  bgp?: Bgp;
  filters: Filter[];
  /** The crypto profile of the tenant's connections; overrides its gateways'. */
  cryptoProfile?: string;
}

export interface Model {
  gateways: Gateway[];
  tenants: Tenant[];
  /** Every gateway name that has a file, valid or not (so a broken gateway file does not also make its tenants "unknown"). */
  gatewayFiles: Map<string, string>;
  /** The source files by path, for rules that need a value's exact place. */
  sources: Map<string, SourceFile>;
}

export const DEFAULTS = {
  rate: { txKbps: 5120, rxKbps: 5120 },
  ike: { proposals: ['aes256gcm16-prfsha384-ecp384'], lifetime: '8h' },
  esp: { proposals: ['aes256gcm16-ecp384'], lifetime: '1h' },
  dpd: '30s',
  metric: 1,
  maxPrefixes: 1000,
  connect: 'on-demand' as const,
  trafficSelectors: 'route-based' as const,
  eapMethod: 'mschapv2' as const,
};

/** BGP's default router id: the address of the tenant's first IPv4 network address; '' when it has none. */
export function defaultRouterId(addresses: string[]): string {
  const v4 = addresses.find((a) => familyOf(a) === 4);
  return v4 ? canonical(v4).split('/')[0] : '';
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Raw = any;

/** Place of a path in a model entity's file. */
export function at(model: Model, origin: { file: string; path: Path; keys?: Origin['keys'] } & Partial<Place> & { length?: number }, ...more: Path): Place & { length: number } {
  if (more.length === 0 && origin.line !== undefined) return { file: origin.file, line: origin.line, col: origin.col ?? 1, length: origin.length ?? 0 };
  // A packed record makes the span when read (src/util/places.ts): read once.
  const own = more.length === 1 ? origin.keys?.[String(more[0])] : undefined;
  if (own) return own;
  const src = model.sources.get(origin.file);
  if (src) return locate(src, [...origin.path, ...more]);
  return { file: origin.file, line: origin.line ?? 1, col: origin.col ?? 1, length: origin.length ?? 0 };
}

function origin(file: SourceFile, path: Path): Origin {
  const p = locate(file, path);
  const keys = keyPlaces(file, path);
  // One literal shape for every origin (see spanAt): a conditional spread would fork V8's hidden classes.
  return { file: p.file, line: p.line, col: p.col, length: p.length, path: sharedPath(path), keys };
}

function route(file: SourceFile, path: Path, r: Raw): Route {
  return { to: canonical(r.to), metric: r.metric ?? DEFAULTS.metric, family: familyOf(r.to), origin: origin(file, path) };
}

/**
 * The parsed data with each string that could be a slice of the file's text replaced by a copy, in place: V8 keeps a
 * sliced string's whole parent alive (slices are made from 13 characters on), so one routingDomain or proposal in
 * an entity kept its file's whole text (about 25 MB at 10,000 tenants, after the sources let theirs go: stowTexts()).
 */
function ownStrings(v: unknown): unknown {
  if (typeof v === 'string') return unsliced(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = ownStrings(v[i]);
  } else if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = ownStrings(o[k]);
  }
  return v;
}

/** An empty model; addFile() fills it one file at a time. */
export function emptyModel(): Model {
  return { gateways: [], tenants: [], gatewayFiles: new Map(), sources: new Map() };
}

/**
 * Adds one file to the model: its entity when it passed the schema (`valid`), else only its
 * name and source (so a broken gateway file does not also make its tenants "unknown").
 * Files are added in path order, so the model's order is stable.
 */
export function addFile(model: Model, f: SourceFile, valid: boolean): void {
  model.sources.set(f.path, f);
  if (f.kind === 'gateway') {
    const d = f.data as Raw;
    model.gatewayFiles.set(typeof d?.gateway === 'string' ? d.gateway : f.stem, f.path);
  }
  if (!valid) return;
  const d = ownStrings(f.data) as Raw;
  if (f.kind === 'gateway') model.gateways.push(gateway(f, d));
  else model.tenants.push(tenant(f, d));
}

/** Adds a file's entity made earlier (the work cache): what addFile() does for a valid file, without its data. */
export function addEntity(model: Model, f: SourceFile, entity: Gateway | Tenant): void {
  model.sources.set(f.path, f);
  if (f.kind === 'gateway') {
    // A valid gateway file's entity is named by its `gateway:` key, as addFile() names it.
    model.gatewayFiles.set((entity as Gateway).name, f.path);
    model.gateways.push(entity as Gateway);
  } else model.tenants.push(entity as Tenant);
}

/** Builds the model from parsed files, of which those in `valid` passed the schema. Pure. */
export function buildModel(files: SourceFile[], valid: Set<string>): { model: Model; diagnostics: Diagnostic[] } {
  const model = emptyModel();
  for (const f of files) addFile(model, f, valid.has(f.path));
  return { model, diagnostics: [] };
}

function gateway(f: SourceFile, d: Raw): Gateway {
  const def = d.defaults ?? {};
  return {
    name: d.gateway,
    origin: origin(f, []),
    external: { interface: d.external.interface, addresses: d.external.addresses.map(canonical) },
    trunk: { interface: d.trunk.interface, ...(d.trunk.underlayAddress ? { underlayAddress: canonical(d.trunk.underlayAddress) } : {}) },
    secretsDir: d.secretsDir ?? DEFAULT_SECRETS_DIR,
    ...(d.identity ? { identity: { certificate: d.identity.certificate, privateKey: d.identity.privateKey, trustAnchors: [...d.identity.trustAnchors] } } : {}),
    reservedInterfaces: [...(d.reservedInterfaces ?? [])],
    ...(d.rollout ? { rollout: { wave: d.rollout.wave } } : {}),
    defaults: {
      rate: { ...DEFAULTS.rate, ...(def.rate ?? {}) },
      ike: { ...DEFAULTS.ike, ...(def.ike ?? {}) },
      esp: { ...DEFAULTS.esp, ...(def.esp ?? {}) },
      dpd: def.dpd ?? DEFAULTS.dpd,
    },
    written: { ike: !!def.ike?.proposals, esp: !!def.esp?.proposals },
    ...(typeof d.cryptoProfile === 'string' ? { cryptoProfile: d.cryptoProfile } : {}),
  };
}

function auth(a: Raw): Auth {
  if ('psk' in a) return { kind: 'psk', ref: a.psk };
  if ('certificate' in a) return { kind: 'certificate', subject: a.certificate.subject };
  return { kind: 'eap', method: a.eap.method ?? DEFAULTS.eapMethod, ref: a.eap.secret };
}

function tenant(f: SourceFile, d: Raw): Tenant {
  const n = d.network;
  return {
    name: d.tenant,
    file: f.path,
    origin: origin(f, []),
    ...(typeof d.routingDomain === 'string' ? { routingDomain: d.routingDomain.toLowerCase() } : {}),
    gateways: [...d.gateways],
    network: {
      interface: n.interface,
      ...(n.vlan !== undefined ? { vlan: n.vlan } : {}),
      ...(n.vsid !== undefined ? { vsid: n.vsid } : {}),
      vteps: (n.vteps ?? []).map(canonical),
      addresses: n.addresses.map(canonical),
      ...(n.ha
        ? { ha: { vrid: n.ha.vrid, ...(n.ha.advertInterval !== undefined ? { advertInterval: n.ha.advertInterval } : {}), addresses: Object.fromEntries(Object.keys(n.ha.addresses).sort().map((g) => [g, canonical(n.ha.addresses[g])])), origin: origin(f, ['network', 'ha']) } }
        : {}),
      origin: origin(f, ['network']),
    },
    connections: (d.connections ?? []).map((c: Raw, i: number): Connection => {
      const p = ['connections', i];
      return {
        interface: c.interface,
        origin: origin(f, p),
        destination: isIp(c.destination) ? canonical(c.destination) : c.destination.toLowerCase(),
        destinationIsIp: isIp(c.destination),
        ...(c.source ? { source: canonical(c.source) } : {}),
        auth: auth(c.auth),
        connect: c.connect ?? DEFAULTS.connect,
        routes: (c.routes ?? []).map((r: Raw, j: number) => route(f, [...p, 'routes', j], r)),
        postConnectRoutes: (c.postConnectRoutes ?? []).map((r: Raw, j: number) => route(f, [...p, 'postConnectRoutes', j], r)),
        ...(c.rate ? { rate: { ...c.rate } } : {}),
        ...(c.ike ? { ike: { ...c.ike } } : {}),
        ...(c.esp ? { esp: { ...c.esp } } : {}),
        ...(c.dpd ? { dpd: c.dpd } : {}),
        trafficSelectors: c.trafficSelectors ?? DEFAULTS.trafficSelectors,
        ...(c.remoteId !== undefined ? { remoteId: isIp(c.remoteId) ? canonical(c.remoteId) : c.remoteId } : {}),
      };
    }),
    ...(d.bgp
      ? {
          bgp: {
            asn: d.bgp.asn,
            ...(d.bgp.routerId !== undefined ? { routerId: d.bgp.routerId } : { routerId: defaultRouterId(n.addresses), routerIdDefault: true }),
            neighbors: (d.bgp.neighbors ?? []).map((nb: Raw, i: number) => ({ address: canonical(nb.address), remoteAsn: nb.remoteAsn, ...(nb.via ? { via: nb.via } : {}), origin: origin(f, ['bgp', 'neighbors', i]) })),
            advertise: (d.bgp.advertise ?? []).map(canonical),
            maxPrefixes: d.bgp.maxPrefixes ?? DEFAULTS.maxPrefixes,
            origin: origin(f, ['bgp']),
          },
        }
      : {}),
    filters: (d.filters ?? []).map((flt: Raw, i: number): Filter => {
      const action = flt.permit ? 'permit' : 'deny';
      return {
        interface: flt.interface,
        direction: flt.direction,
        action,
        rules: (flt[action] ?? []).map((r: Raw, j: number) => ({
          ...r,
          ...(r.source ? { source: canonical(r.source) } : {}),
          ...(r.destination ? { destination: canonical(r.destination) } : {}),
          origin: origin(f, ['filters', i, action, j]),
        })),
        origin: origin(f, ['filters', i]),
      };
    }),
    ...(typeof d.cryptoProfile === 'string' ? { cryptoProfile: d.cryptoProfile } : {}),
  };
}

/** The effective settings of a connection on a gateway: its overrides over the gateway's defaults. */
export function effective(c: Connection, gw: Gateway): { rate: Rate; ike: Policy; esp: Policy; dpd: string; source: string } {
  return {
    rate: { ...gw.defaults.rate, ...(c.rate ?? {}) },
    ike: { ...gw.defaults.ike, ...(c.ike ?? {}) },
    esp: { ...gw.defaults.esp, ...(c.esp ?? {}) },
    dpd: c.dpd ?? gw.defaults.dpd,
    source: c.source ?? defaultSource(c, gw),
  };
}

/** The gateway's first external address of the destination's family (any family for a DNS name). */
export function defaultSource(c: Connection, gw: Gateway): string {
  if (!c.destinationIsIp) return gw.external.addresses[0];
  const fam = familyOf(c.destination);
  return gw.external.addresses.find((a) => familyOf(a) === fam) ?? gw.external.addresses[0];
}

/** Tenants on a gateway, sorted by name. */
export function tenantsOn(model: Model, gw: string): Tenant[] {
  return model.tenants.filter((t) => t.gateways.includes(gw)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The tenant's HA role on a gateway: 'active' (first of a declared pair), 'standby' (second), or undefined (no HA). */
export function haRole(t: Tenant, gw: string): 'active' | 'standby' | undefined {
  if (!t.network.ha || t.gateways.length !== 2) return undefined;
  return t.gateways[0] === gw ? 'active' : t.gateways[1] === gw ? 'standby' : undefined;
}

/** The address a gateway gives the tenant network's interface: its own HA address in place of the virtual one of that family. */
export function ownAddresses(t: Tenant, gw: string): string[] {
  const own = t.network.ha?.addresses[gw];
  if (!own || !haRole(t, gw)) return t.network.addresses;
  const fam = familyOf(own);
  return [own, ...t.network.addresses.filter((a) => familyOf(a) !== fam)];
}

/** The virtual addresses VRRP moves (the network addresses of the own address's family), or [] without HA. */
export function virtualAddresses(t: Tenant, gw: string): string[] {
  const own = t.network.ha?.addresses[gw];
  if (!own || !haRole(t, gw)) return [];
  return t.network.addresses.filter((a) => familyOf(a) === familyOf(own));
}
