// The keepalived target: keepalived/keepalived.conf, one VRRP instance per HA tenant (network.ha) on this gateway.
// A gateway without HA tenants gets no file at all.
import type { Place } from '../../model/diagnostics';
import type { RenderedFile, Section, Target, TargetInput } from '../target';
import { header, template } from '../target';
import { gatewayView, instanceView, KEEPALIVED_CONF } from './view';

export { KEEPALIVED_CONF };
import { checkKeepalived } from './check';


const place = (o: Place): Place => ({ file: o.file, line: o.line, col: o.col });

/** Renders keepalived.conf: a gateway head, then one section per HA tenant. Pure. */
export function render(input: TargetInput): RenderedFile[] {
  const sections: Section[] = [];
  for (const t of input.tenants) {
    const v = instanceView(t, input.gateway);
    if (v) sections.push({ tenant: t.name, text: template('keepalived', 'instance')({ ...v, file: t.file }), origin: place(t.network.ha!.origin) });
  }
  if (!sections.length) return [];
  const head = template('keepalived', 'head')({ header: header('#', [input.gateway.origin.file, 'the tenant files named below']), ...gatewayView(input.gateway) });
  return [{ path: KEEPALIVED_CONF, sections: [{ text: head, origin: place(input.gateway.origin) }, ...sections] }];
}

export const target: Target = {
  name: 'keepalived',
  render,
  // The file exists only when some tenant has HA: its gateway section depends on that.
  gatewayFacts: (t) => (t.network.ha && t.gateways.length === 2 ? 'ha' : ''),
  check: checkKeepalived,
};
