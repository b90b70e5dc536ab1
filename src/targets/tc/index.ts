// The tc target: renders tc/s2sgw.tc (per-connection egress shaping and ingress policing, `tc -batch` input) and checks it with tc.
import type { Place } from '../../model/diagnostics';
import type { RenderedFile, Section, Target, TargetInput } from '../target';
import { header, template } from '../target';
import { tenantView } from './view';
import { checkTc, FILE } from './check';

const place = (o: Place): Place => ({ file: o.file, line: o.line, col: o.col });

/** Renders tc/s2sgw.tc: a gateway head, then a section per connection (tagged with its tenant, so a tool's complaint maps to the connection). Pure. */
export function render(input: TargetInput): RenderedFile[] {
  const sections: Section[] = [{ text: header('#', [input.gateway.origin.file, 'the tenant files named below']) + template('tc', 'gateway')({}), origin: place(input.gateway.origin) }];
  for (const t of input.tenants) {
    for (const limit of tenantView(input, t).limits) sections.push({ tenant: t.name, text: template('tc', 'connection')(limit), origin: limit.place });
  }
  return [{ path: FILE, sections }];
}

export const target: Target = {
  name: 'tc',
  render,
  check: checkTc,
};
