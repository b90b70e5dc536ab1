// The netplan view: every decision about a tenant's VRF and network link (VLAN or VXLAN), shared by netplan, links and apply. Pure.
import type { Place } from '../../model/diagnostics';
import type { Tenant } from '../../model/model';
import { ownAddresses } from '../../model/model';
import type { TargetInput } from '../target';

/** The VXLAN UDP port (IANA); written out so networkd and ip agree (ip's own default is Linux's legacy 8472). */
export const VXLAN_PORT = 4789;
/** The all-zeros MAC: a VXLAN flood (BUM) entry, one per further VTEP. */
export const FLOOD_MAC = '00:00:00:00:00:00';

export interface VrfView {
  name: string;
  table: number;
  /** The tenant network interface; the XFRM interfaces join at apply time through links.ipbatch. */
  interfaces: string[];
  origin: Place;
}

export interface VlanView {
  kind: 'vlan';
  name: string;
  id: number;
  link: string;
}

export interface VxlanView {
  kind: 'vxlan';
  name: string;
  vni: number;
  link: string;
  local?: string;
  /** The first VTEP: the device's own default destination (netplan takes one). */
  remote?: string;
  /** Further VTEPs: flood entries added beside the device. */
  floods: string[];
  port: number;
}

export interface NetworkView {
  tenant: string;
  /** The tenant's file: each tenant section names it (gateway-wide headers name no tenant file). */
  file: string;
  vrf: VrfView;
  link: VlanView | VxlanView;
  addresses: string[];
  origin: Place;
}

function place(o: Place): Place {
  return { file: o.file, line: o.line, col: o.col };
}

/** The VRF and network link of one tenant on a gateway. Pure. */
export function networkView(input: Pick<TargetInput, 'gateway' | 'alloc'>, t: Tenant): NetworkView {
  const ids = input.alloc.tenants[t.name];
  if (!ids) throw new Error(`no allocation for tenant ${t.name}: run allocate() before rendering`);
  const n = t.network;
  const trunk = input.gateway.trunk;
  const link: VlanView | VxlanView =
    n.vsid !== undefined
      ? {
          kind: 'vxlan',
          name: n.interface,
          vni: n.vsid,
          link: trunk.interface,
          ...(trunk.underlayAddress ? { local: trunk.underlayAddress } : {}),
          ...(n.vteps.length ? { remote: n.vteps[0] } : {}),
          floods: n.vteps.slice(1),
          port: VXLAN_PORT,
        }
      : { kind: 'vlan', name: n.interface, id: n.vlan!, link: trunk.interface };
  return {
    tenant: t.name,
    file: t.file,
    vrf: { name: t.name, table: ids.table, interfaces: [n.interface], origin: place(t.origin) },
    link,
    // On an HA pair the interface carries the gateway's own address; keepalived adds the shared one (docs/ha.md).
    addresses: [...ownAddresses(t, input.gateway.name)],
    origin: place(n.origin),
  };
}

/** Every tenant's network view, in tenant name order. Pure. */
export function networkViews(input: Pick<TargetInput, 'gateway' | 'alloc' | 'tenants'>): NetworkView[] {
  return input.tenants.map((t) => networkView(input, t));
}

/**
 * A double-quoted YAML scalar. JSON strings are YAML double-quoted scalars; the schema already
 * limits names and addresses to printable ASCII, so a value can never open a new key or line.
 */
export function yamlString(s: string): string {
  return JSON.stringify(s);
}

/** One tenant's entries in the netplan file, every value already quoted for YAML. */
export interface NetplanTenantView {
  tenant: string;
  /** The comment line naming the tenant's file, indented for the entries. */
  source: string;
  /** Set for a VLAN tenant (under `vlans:`). */
  vlan?: { name: string; id: number; link: string; addresses: string };
  /** Set for a VSID tenant (under `tunnels:`). */
  /** local/remote are '' when absent (templates are strict about missing fields). */
  vxlan?: { name: string; vni: number; link: string; local: string; remote: string; port: number; addresses: string };
  vrf: { name: string; table: number; interfaces: string };
  networkOrigin: Place;
  vrfOrigin: Place;
}

export interface NetplanView {
  trunk: string;
  hasVlans: boolean;
  hasTunnels: boolean;
  tenants: NetplanTenantView[];
}

function flowList(items: string[]): string {
  return `[${items.map(yamlString).join(', ')}]`;
}

/** The netplan file's view: the trunk, then per tenant its VLAN or VXLAN entry and its VRF. Pure. */
export function netplanView(input: Pick<TargetInput, 'gateway' | 'alloc' | 'tenants'>): NetplanView {
  const tenants = networkViews(input).map((n): NetplanTenantView => {
    const addresses = flowList(n.addresses);
    const l = n.link;
    return {
      tenant: n.tenant,
      source: `# ${n.file}`,
      ...(l.kind === 'vlan'
        ? { vlan: { name: yamlString(l.name), id: l.id, link: yamlString(l.link), addresses } }
        : {
            vxlan: {
              name: yamlString(l.name),
              vni: l.vni,
              link: yamlString(l.link),
              local: l.local ? yamlString(l.local) : '',
              remote: l.remote ? yamlString(l.remote) : '',
              port: l.port,
              addresses,
            },
          }),
      vrf: { name: yamlString(n.vrf.name), table: n.vrf.table, interfaces: flowList(n.vrf.interfaces) },
      networkOrigin: n.origin,
      vrfOrigin: n.vrf.origin,
    };
  });
  return {
    trunk: yamlString(input.gateway.trunk.interface),
    hasVlans: tenants.some((t) => t.vlan),
    hasTunnels: tenants.some((t) => t.vxlan),
    tenants,
  };
}

/** One flood entry per further VTEP, as `bridge -batch` lines. Pure. */
export function floodLines(n: NetworkView): string[] {
  if (n.link.kind !== 'vxlan' || !n.link.floods.length) return [];
  const name = n.link.name;
  return [`# ${n.file}`, ...n.link.floods.map((vtep) => `fdb append ${FLOOD_MAC} dev ${name} dst ${vtep}`)];
}
