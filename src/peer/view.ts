// The customer-premises side of one connection: every decision for the site's swanctl.conf and FRR snippet. Pure.
// The site mirrors the gateway's connection: same proposals, lifetimes and DPD, addresses and identities swapped.
// It is policy-based (explicit traffic selectors), which any IKEv2 site router can do: for a route-based gateway
// connection the gateway narrows its 0.0.0.0/0 selectors to the site's; for a policy-based one the site mirrors
// the gateway's selector pairs, one CHILD_SA each. A site behind NAT (remoteId) names itself by that identity.
import type { Connection, Gateway, Tenant } from '../model/model';
import { effective, ownAddresses } from '../model/model';
import { familyOf } from '../model/formats';
import { q, comment, connectionName, childName, selectorPairs, sitePrefixes, tenantPrefixes, remoteIdOf } from '../targets/strongswan/view';
import { refsLine } from '../targets/strongswan/secrets';

export interface PeerSecret {
  /** The swanctl secrets section: ike-NAME or eap-NAME. */
  section: string;
  kind: 'psk' | 'eap';
  /** The reference in the tenant file; the customer gets the value out of band. */
  ref: string;
  ids: string[];
  /** The same line format as the gateway's swanctl/secrets.refs. */
  refsLine: string;
}

export interface PeerView {
  title: string;
  name: string;
  localAddrs: string;
  remoteAddrs: string;
  proposals: string;
  rekeyTime: string;
  dpdDelay: string;
  local: { auth: string; id: string | null; certs: string | null; eapId: string | null };
  remote: { auth: string; id: string | null; cacerts: string | null };
  children: Array<{ name: string; localTs: string; remoteTs: string; local: string[]; remote: string[] }>;
  child: { espProposals: string; rekeyTime: string; startAction: string; dpdAction: string; closeAction: string };
  /** The site's own identity (what the gateway expects) and whether it sits behind NAT (remoteId set). */
  siteId: string;
  behindNat: boolean;
  secrets: PeerSecret[];
  frr: PeerFrrView | null;
  /** The site's XFRM if_id for this tunnel when it routes into one interface per gateway of an HA pair, else null. */
  ifId: number | null;
  /** if_id_out when it differs from ifId: a static site of a pair sends through one interface shared by both tunnels. */
  ifIdOut?: number;
  /** The children's fixed policy priority (a static site of a pair: the active gateway's tunnel wins while it is up). */
  priority?: number;
}

export interface PeerFrrView {
  asn: number;
  routerId: string;
  neighbor: string;
  remoteAsn: number;
  updateSource: string;
  families: Array<{ afi: string; networks: string[]; entries: Array<{ seq: number; prefix: string }>; prefixList: string; ipKeyword: string }>;
}

const list = (items: string[]) => q(items.join(','));

/** Where the site keeps the certificates this config names (placeholders the customer replaces). */
export const SITE_CERT = (name: string) => `/etc/swanctl/x509/${name}.pem`;
export const PROVIDER_CA = '/etc/swanctl/x509ca/provider-root.pem';

/** The site's prefixes: what the gateway routes to it (routes and post-connect routes), network form, sorted. */
function routedPrefixes(c: Connection): string[] {
  return [...new Set([...c.routes, ...c.postConnectRoutes].map((r) => r.to))].sort();
}

export function peerView(t: Tenant, c: Connection, gw: Gateway): PeerView {
  const eff = effective(c, gw);
  const name = `${connectionName(c.interface)}`;
  const sitePrefixList = routedPrefixes(c);
  const neighbors = (t.bgp?.neighbors ?? []).filter((n) => n.via === c.interface);
  // BGP neighbors' host addresses ride the tunnel too (the gateway's trigger routes).
  const local = sitePrefixes(t, c);
  if (!local.length) throw new Error(`${t.name}/${c.interface} has no routes: the site would have no traffic selector; give the connection routes or postConnectRoutes`);
  // Route-based gateway: the site proposes all its prefixes in one CHILD_SA and the gateway narrows its
  // any-to-any to them. Policy-based: the site mirrors the gateway's pairs, one CHILD_SA each.
  const pairs = c.trafficSelectors === 'policy-based' ? selectorPairs(t, c).map((p) => ({ local: p.remote, remote: p.local })) : [{ local, remote: tenantPrefixes(t) }];
  // Behind NAT the site does not own its public address: let it pick its own (private) one.
  const behindNat = c.remoteId !== undefined;
  const ownAddress = c.destinationIsIp && !behindNat ? c.destination : '%any';
  const siteId = remoteIdOf(c);
  const connect = c.connect === 'respond-only' ? { start: 'start', dpd: 'restart', close: 'start' } : { start: 'trap', dpd: 'trap', close: 'trap' };
  const secrets: PeerSecret[] = [];
  let localAuth: PeerView['local'];
  let remoteAuth: PeerView['remote'];
  if (c.auth.kind === 'psk') {
    localAuth = { auth: 'psk', id: q(siteId), certs: null, eapId: null };
    remoteAuth = { auth: 'psk', id: q(eff.source), cacerts: null };
    const ids = [siteId, eff.source];
    secrets.push({ section: `ike-${name}`, kind: 'psk', ref: c.auth.ref, ids, refsLine: refsLine({ connection: name, kind: 'psk', ref: c.auth.ref, ids }) });
  } else if (c.auth.kind === 'certificate') {
    localAuth = { auth: 'pubkey', id: q(siteId), certs: q(SITE_CERT(name)), eapId: null };
    remoteAuth = { auth: 'pubkey', id: null, cacerts: q(PROVIDER_CA) };
  } else {
    // The EAP username is the site's IKE identity too: the gateway names the EAP identity itself (eap_id) and skips
    // EAP-Identity, so the site's EAP client looks its secret up by its IKE identity (the lab found "no EAP key found
    // for hosts GATEWAY - SITE_ADDRESS" when only eap_id was set).
    localAuth = { auth: `eap-${c.auth.method}`, id: q(c.interface), certs: null, eapId: q(c.interface) };
    remoteAuth = { auth: 'pubkey', id: null, cacerts: q(PROVIDER_CA) };
    secrets.push({ section: `eap-${name}`, kind: 'eap', ref: c.auth.ref, ids: [c.interface], refsLine: refsLine({ connection: name, kind: 'eap', ref: c.auth.ref, ids: [c.interface] }) });
  }
  return {
    title: comment(`the customer side of ${t.name}/${c.interface} on gateway ${gw.name}`),
    name,
    localAddrs: q(ownAddress),
    remoteAddrs: q(eff.source),
    proposals: list(eff.ike.proposals),
    rekeyTime: q(eff.ike.lifetime),
    dpdDelay: q(eff.dpd),
    local: localAuth,
    remote: remoteAuth,
    children: pairs.map((p, i) => ({ name: childName(name, i), localTs: list(p.local), remoteTs: list(p.remote), local: p.local, remote: p.remote })),
    siteId,
    behindNat,
    child: { espProposals: list(eff.esp.proposals), rekeyTime: q(eff.esp.lifetime), startAction: connect.start, dpdAction: connect.dpd, closeAction: connect.close },
    secrets,
    frr: frrView(t, c, neighbors, sitePrefixList, gw.name),
    ifId: null,
  };
}

function frrView(t: Tenant, c: Connection, neighbors: NonNullable<Tenant['bgp']>['neighbors'], prefixes: string[], gw: string): PeerFrrView | null {
  const bgp = t.bgp;
  const n = neighbors[0];
  if (!bgp || !n) return null;
  const fam = familyOf(n.address);
  // On an HA pair each gateway speaks from its own address (docs/ha.md).
  const gwAddr = ownAddresses(t, gw).map((a) => a.split('/')[0]).find((a) => familyOf(a) === fam);
  if (!gwAddr) return null;
  const families = ([4, 6] as const)
    .map((f) => ({ f, networks: prefixes.filter((p) => familyOf(p) === f) }))
    .filter((x) => x.f === fam || x.networks.length)
    .map((x) => ({ afi: x.f === 4 ? 'ipv4' : 'ipv6', networks: x.networks, entries: x.networks.map((prefix, i) => ({ seq: 5 * (i + 1), prefix })), prefixList: `s2sgw-out${x.f}`, ipKeyword: x.f === 4 ? 'ip' : 'ipv6' }));
  return { asn: n.remoteAsn, routerId: fam === 4 ? n.address : '10.255.255.1', neighbor: gwAddr, remoteAsn: bgp.asn, updateSource: n.address, families };
}
