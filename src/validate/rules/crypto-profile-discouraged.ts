// Crypto policy (docs/crypto.md): the tables and the judging are in src/validate/crypto.ts; this rule reports the discouraged ones.
import { Diagnostic, warning } from '../../model/diagnostics';
import { findings, messageOf } from '../crypto';
import { Rule } from './rule';

export const rule: Rule = {
  id: 'crypto-profile-discouraged',
  summary: "a proposal keyword the gateway's or tenant's crypto profile discourages (the reason and its source in the message)",
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const f of findings(ctx.model)) {
      if (f.level !== 'discouraged') continue;
      out.push(warning(this.id, ctx.at({ file: f.file, path: f.path }), messageOf(f), { hint: "prefer a proposal the profile accepts (docs/crypto.md); keep this one only for a site that cannot do better" }));
    }
    return out;
  },
};
