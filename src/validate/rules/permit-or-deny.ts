// A filter is either an allow-list (permit: everything else dropped) or a block-list (deny): exactly one of them.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, keyAt, related } from './rule';

export const rule: Rule = {
  id: 'permit-or-deny',
  scope: 'tenant',
  summary: 'a filter with both or neither of `permit` and `deny`',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      for (const f of t.filters) {
        // The model keeps one list; the places of the filter's keys tell whether both were written.
        const hasPermit = f.origin.keys?.permit !== undefined;
        const hasDeny = f.origin.keys?.deny !== undefined;
        if (hasPermit && hasDeny) {
          out.push(
            error(this.id, keyAt(ctx.model, f.origin, 'deny'), `filter on ${f.interface} ${f.direction} has both \`permit\` and \`deny\`; give one`, {
              hint: 'permit lets only its rules pass (everything else is dropped); deny drops its rules (everything else passes); keep the list you mean and remove the other',
              related: [related(keyAt(ctx.model, f.origin, 'permit'), '`permit` is here')],
            }),
          );
        } else if (!hasPermit && !hasDeny) {
          out.push(
            error(this.id, ctx.at(f.origin), `filter on ${f.interface} ${f.direction} has neither \`permit\` nor \`deny\``, {
              hint: 'add `permit:` (only these pass) or `deny:` (these are dropped) with at least one rule, or remove the filter',
            }),
          );
        }
      }
    }
    return out;
  },
};
