// The nftables target: renders nftables/s2sgw.nft (one table, conntrack zones, per-interface filter chains) and checks it with nft.
import type { Place } from '../../model/diagnostics';
import type { RenderedFile, Section, Target, TargetInput } from '../target';
import { header, template } from '../target';
import { gatewayView, tenantView, zoneOf } from './view';
import { checkNftables, FILE } from './check';

const place = (o: Place): Place => ({ file: o.file, line: o.line, col: o.col });

/** Renders nftables/s2sgw.nft: the table skeleton (gateway), then each tenant's zone elements, chains and dispatch (its own section). Pure. */
export function render(input: TargetInput): RenderedFile[] {
  const sections: Section[] = [
    { text: header('#', [input.gateway.origin.file, 'the tenant files named below']) + template('nftables', 'gateway')(gatewayView()), origin: place(input.gateway.origin) },
    ...input.tenants.map((t) => ({ tenant: t.name, text: template('nftables', 'tenant')(tenantView(input.model, t, zoneOf(input, t))), origin: place(t.origin) })),
  ];
  return [{ path: FILE, sections }];
}

export const target: Target = {
  name: 'nftables',
  render,
  check: checkNftables,
};
