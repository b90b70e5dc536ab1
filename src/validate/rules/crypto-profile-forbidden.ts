// Crypto policy (docs/crypto.md): the tables and the judging are in src/validate/crypto.ts; this rule reports the forbidden ones.
import { Diagnostic, error } from '../../model/diagnostics';
import { findings, messageOf } from '../crypto';
import { Rule } from './rule';

export const rule: Rule = {
  id: 'crypto-profile-forbidden',
  summary: "a proposal keyword the gateway's or tenant's crypto profile forbids (the reason and its source in the message)",
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const f of findings(ctx.model)) {
      if (f.level !== 'forbidden') continue;
      out.push(error(this.id, ctx.at({ file: f.file, path: f.path }), messageOf(f), { hint: "choose a proposal from the profile's table in docs/crypto.md, or name another cryptoProfile" }));
    }
    return out;
  },
};
