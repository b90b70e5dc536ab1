// Filters and BGP `via` name interfaces of the tenant itself; a name from elsewhere would touch another tenant or nothing.
import { closest } from 'fastest-levenshtein';
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule } from './rule';

export const rule: Rule = {
  id: 'unknown-interface',
  scope: 'tenant',
  summary: 'a filter or BGP `via` names an interface the tenant does not have',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      const conns = t.connections.map((c) => c.interface);
      const all = [t.network.interface, ...conns];
      const guess = (name: string, among: string[]) => (among.length ? ` (did you mean \`${closest(name, among)}\`?)` : '');
      for (const f of t.filters) {
        if (all.includes(f.interface)) continue;
        out.push(
          error(this.id, ctx.at(f.origin, 'interface'), `filter names interface \`${f.interface}\`, which tenant ${t.name} does not have`, {
            hint: `a filter applies to the tenant's own interfaces: ${all.join(', ')}${guess(f.interface, all)}`,
          }),
        );
      }
      for (const n of t.bgp?.neighbors ?? []) {
        if (n.via === undefined || conns.includes(n.via)) continue;
        const isNetwork = n.via === t.network.interface;
        out.push(
          error(this.id, ctx.at(n.origin, 'via'), isNetwork ? `BGP neighbor ${n.address} has \`via: ${n.via}\`, the tenant's network interface; \`via\` names a connection` : `BGP neighbor ${n.address} has \`via: ${n.via}\`, which is not a connection of tenant ${t.name}`, {
            hint: conns.length ? `\`via\` names the connection the neighbor sits behind: ${conns.join(', ')}${isNetwork ? '' : guess(n.via, conns)}; leave it out for a neighbor on the tenant network` : 'the tenant has no connections; leave `via` out for a neighbor on the tenant network',
          }),
        );
      }
    }
    return out;
  },
};
