// The links target: links.ipbatch (XFRM interfaces into VRFs) and netplan/90-s2sgw.ipbatch (the netplan links for hosts without networkd).
import type { Diagnostic } from '../../model/diagnostics';
import type { CheckInput, RenderedFile, Section, Target, TargetInput } from '../target';
import { header, template } from '../target';
import { networkSections, xfrmSections, LinkSectionView } from './view';
import { checkBatches } from './check';
import { BATCH_ORDER, LINKS_BATCH, NETPLAN_BATCH } from './batches';

export { BATCH_ORDER, LINKS_BATCH, NETPLAN_BATCH } from './batches';

function file(path: string, head: string, from: string[], gw: TargetInput['gateway'], body: LinkSectionView[]): RenderedFile {
  const sections: Section[] = [{ text: template('links', head)({ header: header('#', from) }), origin: { file: gw.origin.file, line: gw.origin.line, col: gw.origin.col } }];
  for (const s of body) sections.push({ tenant: s.tenant, text: template('links', 'lines')({ lines: s.lines }), origin: s.origin });
  return { path, sections };
}

/** Renders both batches: a gateway head, then one section per connection (links) or per tenant VRF / network (netplan). Pure. */
export function render(input: TargetInput): RenderedFile[] {
  const from = [input.gateway.origin.file, 'the tenant files named below'];
  return [file(LINKS_BATCH, 'head', from, input.gateway, xfrmSections(input)), file(NETPLAN_BATCH, 'netplan-head', from, input.gateway, networkSections(input))];
}

export async function check(input: CheckInput): Promise<Diagnostic[]> {
  return checkBatches(input, BATCH_ORDER);
}

export const target: Target = { name: 'links', render, check };
