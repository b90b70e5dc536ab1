// The netplan target: the tenants' VRFs and VLAN/VXLAN links as netplan YAML, their VXLAN flood entries, and networkd's hands-off drop-in.
import type { Diagnostic } from '../../model/diagnostics';
import type { CheckInput, RenderedFile, Section, Target, TargetInput } from '../target';
import { header, template } from '../target';
import { floodLines, netplanView, networkViews } from './view';
import { checkNetplan, checkNetworkdConf } from './check';

export const NETPLAN_YAML = 'netplan/90-s2sgw.yaml';
/**
 * `bridge -batch` input: flood entries for every VTEP after a VXLAN's first (netplan's VXLAN takes one
 * remote). Rendered here, beside the netplan file it completes; the links target checks it, since it
 * needs the VXLAN devices that netplan/90-s2sgw.ipbatch creates.
 */
import { NETPLAN_FDB } from '../links/batches';
export { NETPLAN_FDB };
/** /etc/systemd/networkd.conf.d/90-s2sgw.conf on the host. */
export const NETWORKD_CONF = 'networkd.conf.d/90-s2sgw.conf';

/** Renders the netplan file: trunk head, then `vlans:`, `tunnels:`, `vrfs:` groups with one section per tenant entry. Pure. */
export function render(input: TargetInput): RenderedFile[] {
  const v = netplanView(input);
  const gwOrigin = { file: input.gateway.origin.file, line: input.gateway.origin.line, col: input.gateway.origin.col };
  const from = [input.gateway.origin.file, 'the tenant files named below'];
  const gw = (s: string): Section => ({ text: s, origin: gwOrigin });
  const sections: Section[] = [gw(template('netplan', 'head')({ header: header('#', from), trunk: v.trunk }))];
  if (v.hasVlans) {
    sections.push(gw(template('netplan', 'group')({ name: 'vlans' })));
    for (const t of v.tenants) if (t.vlan) sections.push({ tenant: t.tenant, text: template('netplan', 'vlan')({ source: t.source, ...t.vlan }), origin: t.networkOrigin });
  }
  if (v.hasTunnels) {
    sections.push(gw(template('netplan', 'group')({ name: 'tunnels' })));
    for (const t of v.tenants) if (t.vxlan) sections.push({ tenant: t.tenant, text: template('netplan', 'tunnel')({ source: t.source, ...t.vxlan }), origin: t.networkOrigin });
  }
  if (v.tenants.length) {
    sections.push(gw(template('netplan', 'group')({ name: 'vrfs' })));
    for (const t of v.tenants) sections.push({ tenant: t.tenant, text: template('netplan', 'vrf')({ source: t.source, ...t.vrf }), origin: t.vrfOrigin });
  }
  const fdb: Section[] = [gw(template('netplan', 'fdb-head')({ header: header('#', from) }))];
  for (const n of networkViews(input)) {
    const lines = floodLines(n);
    if (lines.length) fdb.push({ tenant: n.tenant, text: template('netplan', 'fdb')({ lines }), origin: n.origin });
  }
  return [
    // 0600: netplan warns about (and future versions refuse) configuration readable by others.
    { path: NETPLAN_YAML, sections, mode: 0o600 },
    { path: NETPLAN_FDB, sections: fdb },
    { path: NETWORKD_CONF, sections: [gw(template('netplan', 'networkd')({ header: header('#', [input.gateway.origin.file]) }))] },
  ];
}

export async function check(input: CheckInput): Promise<Diagnostic[]> {
  return [...(await checkNetplan(input, NETPLAN_YAML)), ...checkNetworkdConf(input, NETWORKD_CONF)];
}

export const target: Target = {
  name: 'netplan',
  render,
  check,
  // The `vlans:` and `tunnels:` group lines are there only when some tenant has such a link.
  gatewayFacts: (t) => (t.network.vsid !== undefined ? 'vxlan' : 'vlan'),
};
