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
