// The `ip -batch` lines of the links: XFRM interfaces per connection, and the netplan links (VRF, VLAN/VXLAN) for hosts without networkd. Pure.
//
// Every device name follows a keyword (`name`, `dev`, `link`, `master`), so a name that happens to
// be an ip keyword (`type`, `up`, `help`) is still read as a name. Names and addresses are limited
// by the schema to [A-Za-z0-9_.-] and address characters: no space, quote or `#` reaches a line.
import type { Tenant } from '../../model/model';
import type { Place } from '../../model/diagnostics';
import type { TargetInput } from '../target';
import { NetworkView, networkView } from '../netplan/view';

/** The link lines of one connection: its XFRM interface on the external NIC, in the tenant's VRF, up. */
export function xfrmLines(external: string, iface: string, ifId: number, vrf: string): string[] {
  return [`link add name ${iface} type xfrm dev ${external} if_id ${ifId}`, `link set dev ${iface} master ${vrf}`, `link set dev ${iface} up`];
}

/** The VRF with its table, up. */
export function vrfLines(n: NetworkView): string[] {
  return [`link add name ${n.vrf.name} type vrf table ${n.vrf.table}`, `link set dev ${n.vrf.name} up`];
}

/**
 * The tenant network interface: created on the trunk, enslaved to the VRF, then addressed (enslaving
 * cycles the device, which drops IPv6 addresses added before), then up.
 */
export function networkLines(n: NetworkView): string[] {
  const l = n.link;
  const add =
    l.kind === 'vlan'
      ? `link add link ${l.link} name ${l.name} type vlan id ${l.id}`
      : `link add name ${l.name} type vxlan id ${l.vni} dev ${l.link}${l.local ? ` local ${l.local}` : ''}${l.remote ? ` remote ${l.remote}` : ''} dstport ${l.port}`;
  return [add, `link set dev ${l.name} master ${n.vrf.name}`, ...n.addresses.map((a) => `address add ${a} dev ${l.name}`), `link set dev ${l.name} up`];
}

/** The devices a tenant owns on a host, by kind. Built from a Tenant, or by apply from an older bundle. */
export interface TenantLinks {
  vrf: string;
  network: string;
  xfrm: string[];
}

export function tenantLinks(t: Tenant): TenantLinks {
  return { vrf: t.name, network: t.network.interface, xfrm: t.connections.map((c) => c.interface).sort() };
}

/** Deletes one connection's XFRM interface (its tunnel's routes go with it). */
export function connectionLinkDeletes(iface: string): string[] {
  return [`link del dev ${iface}`];
}

/**
 * `ip -batch` lines that remove everything a tenant owns: XFRM interfaces first, then the network
 * interface, then the VRF (deleting a VRF only releases its slaves). Run with `ip -force -batch`
 * when some may already be gone: each missing device is one "Cannot find device" line, not a stop.
 */
export function tenantLinkDeletes(l: TenantLinks): string[] {
  return [...l.xfrm.flatMap(connectionLinkDeletes), `link del dev ${l.network}`, `link del dev ${l.vrf}`];
}

export interface LinkSectionView {
  tenant: string;
  /** Batch lines; a tenant's first section opens with a comment naming its file (gateway-wide headers name none). */
  lines: string[];
  origin: Place;
}

/** links.ipbatch: one section per connection, in tenant then interface order. Pure. */
export function xfrmSections(input: Pick<TargetInput, 'gateway' | 'alloc' | 'tenants'>): LinkSectionView[] {
  const out: LinkSectionView[] = [];
  for (const t of input.tenants) {
    const ids = input.alloc.tenants[t.name];
    if (!ids) throw new Error(`no allocation for tenant ${t.name}: run allocate() before rendering`);
    const conns = [...t.connections].sort((a, b) => (a.interface < b.interface ? -1 : a.interface > b.interface ? 1 : 0));
    for (const c of conns) {
      const ifId = ids.ifIds[c.interface];
      if (ifId === undefined) throw new Error(`no if_id allocated for ${t.name}/${c.interface}`);
      const lines = xfrmLines(input.gateway.external.interface, c.interface, ifId, t.name);
      out.push({ tenant: t.name, lines: c === conns[0] ? [`# ${t.file}`, ...lines] : lines, origin: { file: c.origin.file, line: c.origin.line, col: c.origin.col } });
    }
  }
  return out;
}

/** netplan/90-s2sgw.ipbatch: per tenant its VRF section, then its network interface section. Pure. */
export function networkSections(input: Pick<TargetInput, 'gateway' | 'alloc' | 'tenants'>): LinkSectionView[] {
  return input.tenants.flatMap((t) => {
    const n = networkView(input, t);
    return [
      { tenant: t.name, lines: [`# ${t.file}`, ...vrfLines(n)], origin: n.vrf.origin },
      { tenant: t.name, lines: networkLines(n), origin: n.origin },
    ];
  });
}
