// The frr target: renders frr/frr.conf (per-VRF static routes and BGP) from the view, and checks it with FRR's own tools.
import type { RenderedFile, Section, Target, TargetInput } from '../target';
import { header, template } from '../target';
import { toView } from './view';
import { checkFrr, FRR_CONF } from './check';

export { FRR_CONF, reloadDiff } from './check';

/** Renders frr/frr.conf: one gateway head, then each tenant's sections (intro, VRF routes, BGP, policy). Pure. */
export function render(input: TargetInput): RenderedFile[] {
  const view = toView(input);
  const sections: Section[] = [
    {
      text: template('frr', 'head')({ header: header('!', [view.gatewayFile, 'the tenant files named below']), hostname: view.hostname }),
      origin: { file: input.gateway.origin.file, line: input.gateway.origin.line, col: input.gateway.origin.col },
    },
  ];
  const byName = new Map(input.tenants.map((t) => [t.name, t]));
  for (const t of view.tenants) {
    if (!t.vrf && !t.bgp) continue;
    const o = byName.get(t.name)!.origin;
    sections.push({ tenant: t.name, text: template('frr', 'tenant')(t), origin: { file: o.file, line: o.line, col: o.col } });
    if (t.vrf) sections.push({ tenant: t.name, text: template('frr', 'vrf')(t.vrf), origin: t.vrf.origin });
    if (t.bgp) sections.push({ tenant: t.name, text: template('frr', 'bgp')(t.bgp), origin: t.bgp.origin });
    if (t.policy) sections.push({ tenant: t.name, text: template('frr', 'policy')(t.policy), origin: t.policy.origin });
  }
  return [{ path: FRR_CONF, sections }];
}

export const target: Target = {
  name: 'frr',
  render,
  check: checkFrr,
};
