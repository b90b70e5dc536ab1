// What the rules that see every tenant read of a tenant: its summary, which a warm `validate` keeps for every
// tenant in a few packed cache entries (src/validate/pack.ts) instead of loading 10,000 whole entities.
import type { Connection, Origin, Tenant } from '../model/model';

/** Keys of an origin the cross-tenant rules point at directly; a place below another key is found by re-parsing the one file (model.ts at()). */
const KEYS = {
  tenant: ['tenant', 'routingDomain'],
  network: ['interface', 'vlan', 'vsid'],
  connection: ['interface', 'destination'],
  ha: ['vrid'],
};

function pick(o: Origin, keys: string[]): Origin {
  const kept: Record<string, NonNullable<Origin['keys']>[string]> = {};
  for (const k of keys) if (o.keys?.[k]) kept[k] = o.keys[k];
  return { file: o.file, line: o.line, col: o.col, length: o.length, path: o.path, keys: kept };
}

/**
 * A tenant as the rules that see every tenant (those without `scope: 'tenant'`) need it: names, gateways,
 * network ids, each connection's name, peer, auth and proposals, with the places their findings point at.
 * Routes, filters and BGP go (only tenant-scope rules read them). A cross-tenant rule that comes to read
 * more of a tenant must keep it here: test/rules.test.ts holds "findings over the summaries = findings over
 * the model" on every fixture, and this file's bytes are part of every cache key (codeDigest()).
 */
export function summarize(t: Tenant): Tenant {
  const n = t.network;
  return {
    name: t.name,
    file: t.file,
    origin: pick(t.origin, KEYS.tenant),
    ...(t.routingDomain !== undefined ? { routingDomain: t.routingDomain } : {}),
    gateways: t.gateways,
    network: {
      interface: n.interface,
      ...(n.vlan !== undefined ? { vlan: n.vlan } : {}),
      ...(n.vsid !== undefined ? { vsid: n.vsid } : {}),
      vteps: [],
      addresses: [],
      ...(n.ha ? { ha: { vrid: n.ha.vrid, addresses: {}, origin: pick(n.ha.origin, KEYS.ha) } } : {}),
      origin: pick(n.origin, KEYS.network),
    },
    connections: t.connections.map(
      (c): Connection => ({
        interface: c.interface,
        origin: pick(c.origin, KEYS.connection),
        destination: c.destination,
        destinationIsIp: c.destinationIsIp,
        ...(c.source !== undefined ? { source: c.source } : {}),
        auth: c.auth,
        connect: c.connect,
        routes: [],
        postConnectRoutes: [],
        ...(c.ike?.proposals ? { ike: { proposals: c.ike.proposals } } : {}),
        ...(c.esp?.proposals ? { esp: { proposals: c.esp.proposals } } : {}),
        trafficSelectors: c.trafficSelectors,
      }),
    ),
    filters: [],
    ...(t.cryptoProfile !== undefined ? { cryptoProfile: t.cryptoProfile } : {}),
  };
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Packed = any[];

/** An origin as a list: line, col, length, path, then each kept key's name, line, col and length (the file is the record's). */
function packOrigin(o: Origin): Packed {
  const out: Packed = [o.line, o.col, o.length ?? 0, o.path];
  // for...in: a model origin's keys are getters of a packed record (keyPlaces in src/model/source.ts).
  const keys = o.keys ?? {};
  for (const k in keys) {
    const s = keys[k];
    out.push(k, s.line, s.col, s.length);
  }
  return out;
}

function unpackOrigin(a: Packed, file: string): Origin {
  const keys: NonNullable<Origin['keys']> = {};
  for (let i = 4; i < a.length; i += 4) keys[a[i]] = { file, line: a[i + 1], col: a[i + 2], length: a[i + 3] };
  return { file, line: a[0], col: a[1], length: a[2], path: a[3], keys };
}

/**
 * A summary as nested lists without key names (the pack holds 10,000 of them: a third of the bytes of the same
 * summary as an object, and of the time to parse it). unpack(pack(summarize(t)), t.file) equals summarize(t)
 * (test/cache.test.ts).
 */
export function pack(t: Tenant): Packed {
  const n = t.network;
  return [
    t.name,
    packOrigin(t.origin),
    t.routingDomain ?? null,
    t.gateways,
    [n.interface, n.vlan ?? null, n.vsid ?? null, n.ha ? [n.ha.vrid, packOrigin(n.ha.origin)] : null, packOrigin(n.origin)],
    t.connections.map((c) => [c.interface, packOrigin(c.origin), c.destination, c.destinationIsIp, c.source ?? null, c.auth, c.connect, c.ike?.proposals ?? null, c.esp?.proposals ?? null, c.trafficSelectors]),
    t.cryptoProfile ?? null,
  ];
}

/**
 * A place kept as its packed list and made into an Origin when first read. The rules that see every tenant read a
 * place only for a finding, so a warm validate at 10,000 tenants makes the 50,000 origins (four objects each) of
 * which a handful are read: they were a third of unpacking, and of the garbage collector's work after it.
 */
class Placed {
  #o: Packed | Origin;
  #file: string;
  constructor(o: Packed, file: string) {
    this.#o = o;
    this.#file = file;
  }
  get origin(): Origin {
    const o = this.#o;
    if (!Array.isArray(o)) return o;
    return (this.#o = unpackOrigin(o, this.#file));
  }
  set origin(v: Origin) {
    this.#o = v;
  }
}
// The getter lives on the prototype: a spread or JSON.stringify of a summary would leave `origin` out. Nothing copies a
// summary that way (pack() reads each origin by name); test/rules.test.ts compares them through a plain copy.

class PackedTenant extends Placed {}
class PackedNetwork extends Placed {}
class PackedConnection extends Placed {}
class PackedHa extends Placed {}

/** The summary pack() was made of, its places in `file`; throws on a list of another shape (a damaged record is a miss). */
export function unpack(a: Packed, file: string): Tenant {
  if (!Array.isArray(a) || a.length !== 7 || !Array.isArray(a[4]) || !Array.isArray(a[5]) || !Array.isArray(a[1]) || !Array.isArray(a[4][4])) throw new Error('not a packed summary');
  const [name, origin, routingDomain, gateways, net, conns, cryptoProfile] = a;
  const [iface, vlan, vsid, ha, netOrigin] = net;
  // Optional keys set one by one: a conditional spread per key was most of unpacking 10,000 summaries.
  const network = new PackedNetwork(netOrigin, file) as unknown as Tenant['network'];
  network.interface = iface;
  network.vteps = [];
  network.addresses = [];
  if (vlan !== null) network.vlan = vlan;
  if (vsid !== null) network.vsid = vsid;
  if (ha !== null) {
    if (!Array.isArray(ha) || !Array.isArray(ha[1])) throw new Error('not a packed summary');
    const h = new PackedHa(ha[1], file) as unknown as NonNullable<Tenant['network']['ha']>;
    h.vrid = ha[0];
    h.addresses = {};
    network.ha = h;
  }
  const connections = new Array<Connection>(conns.length);
  for (let i = 0; i < conns.length; i++) {
    const c = conns[i];
    if (!Array.isArray(c) || !Array.isArray(c[1])) throw new Error('not a packed summary');
    const conn = new PackedConnection(c[1], file) as unknown as Connection;
    conn.interface = c[0];
    conn.destination = c[2];
    conn.destinationIsIp = c[3];
    conn.auth = c[5];
    conn.connect = c[6];
    conn.routes = [];
    conn.postConnectRoutes = [];
    conn.trafficSelectors = c[9];
    if (c[4] !== null) conn.source = c[4];
    if (c[7] !== null) conn.ike = { proposals: c[7] };
    if (c[8] !== null) conn.esp = { proposals: c[8] };
    connections[i] = conn;
  }
  const t = new PackedTenant(origin, file) as unknown as Tenant;
  t.name = name;
  t.file = file;
  t.gateways = gateways;
  t.network = network;
  t.connections = connections;
  t.filters = [];
  if (routingDomain !== null) t.routingDomain = routingDomain;
  if (cryptoProfile !== null) t.cryptoProfile = cryptoProfile;
  return t;
}
