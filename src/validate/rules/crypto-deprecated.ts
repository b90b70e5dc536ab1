// Crypto policy (docs/crypto.md): the tables and the judging are in src/validate/crypto.ts; this rule reports the deprecated ones.
import { Diagnostic, warning } from '../../model/diagnostics';
import { findings, messageOf } from '../crypto';
import { Rule } from './rule';

export const rule: Rule = {
  id: 'crypto-deprecated',
  summary: "without a crypto profile, a proposal keyword RFC 8221 (ESP) or RFC 8247 (IKEv2) marks MUST NOT or SHOULD NOT",
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const f of findings(ctx.model)) {
      if (f.level !== 'deprecated') continue;
      out.push(warning(this.id, ctx.at({ file: f.file, path: f.path }), messageOf(f), { hint: "replace it with a recommended algorithm (docs/crypto.md), or name a cryptoProfile to make the policy explicit" }));
    }
    return out;
  },
};
