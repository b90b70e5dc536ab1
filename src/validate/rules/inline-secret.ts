// Secrets never enter Git: a PSK or EAP secret is a reference (env:NAME or file:/path) resolved on the gateway host.
import { Diagnostic, error } from '../../compiler/diagnostics';
import { Rule, conn } from './rule';

const ENV = /^env:[A-Za-z_][A-Za-z0-9_]*$/;
const FILE = /^file:\/[^\s"'\\;{}#]+$/;

/** True when a secret field holds a reference s2sgw accepts. */
export function isSecretRef(s: string): boolean {
  return ENV.test(s) || FILE.test(s);
}

export const rule: Rule = {
  id: 'inline-secret',
  summary: 'a PSK or EAP secret that is not an env:NAME or file:/path reference',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      for (const c of t.connections) {
        const a = c.auth;
        if (a.kind === 'certificate' || isSecretRef(a.ref)) continue;
        const field = a.kind === 'psk' ? 'psk' : 'eap.secret';
        // Never the value: not in the message, and `secret` masks it in the code frame.
        const looksLikeRef = /^(env|file):/.test(a.ref);
        out.push(
          error(this.id, ctx.at(c.origin, 'auth', ...(a.kind === 'psk' ? ['psk'] : ['eap', 'secret'])), looksLikeRef ? `\`${field}\` of ${conn(t, c)} is not a valid secret reference` : `\`${field}\` of ${conn(t, c)} holds the secret itself; write a reference to it`, {
            hint: looksLikeRef
              ? 'write env:NAME (letters, digits, _) or file:/absolute/path on the gateway host, with no spaces or quotes'
              : `store the secret on the gateway host and write \`${a.kind === 'psk' ? 'psk' : 'secret'}: env:NAME\` or \`file:/etc/s2sgw/secrets/${t.name}-${c.interface.toLowerCase()}\`; if it was ever committed, it is in Git history: change it on both ends`,
            secret: true,
          }),
        );
      }
    }
    return out;
  },
};
