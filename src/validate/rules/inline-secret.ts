// Secrets never enter Git: a PSK or EAP secret is a reference (env:NAME or file:/path) resolved on the gateway host.
import { Diagnostic, Place, error } from '../../compiler/diagnostics';
import { SourceFile, locate } from '../../compiler/source';
import { Rule, conn } from './rule';

const ENV = /^env:[A-Za-z_][A-Za-z0-9_]*$/;
const FILE = /^file:\/[^\s"'\\;{}#]+$/;

/** True when a secret field holds a reference s2sgw accepts. */
export function isSecretRef(s: string): boolean {
  return ENV.test(s) || FILE.test(s);
}

/** The finding for one secret field; never carries the value (not in the message, masked in the code frame). */
function finding(place: Place & { length?: number }, kind: 'psk' | 'eap', ref: string, who: string, tenant: string, iface: string): Diagnostic {
  const field = kind === 'psk' ? 'psk' : 'eap.secret';
  const looksLikeRef = /^(env|file):/.test(ref);
  return error('inline-secret', place, looksLikeRef ? `\`${field}\` of ${who} is not a valid secret reference` : `\`${field}\` of ${who} holds the secret itself; write a reference to it`, {
    hint: looksLikeRef
      ? 'write env:NAME (letters, digits, _) or file:/absolute/path on the gateway host, with no spaces or quotes'
      : `store the secret on the gateway host and write \`${kind === 'psk' ? 'psk' : 'secret'}: env:NAME\` or \`file:/etc/s2sgw/secrets/${tenant}-${iface.toLowerCase()}\`; if it was ever committed, it is in Git history: change it on both ends`,
    secret: true,
  });
}

/**
 * The same check on a tenant file that failed the schema (and so is not in the model): an inline
 * secret is reported whatever else is wrong with the file, since it must not be committed at all.
 */
export function scanRaw(file: SourceFile): Diagnostic[] {
  const d = file.data as { tenant?: unknown; connections?: unknown } | undefined;
  if (file.kind !== 'tenant' || !d || !Array.isArray(d.connections)) return [];
  const tenant = typeof d.tenant === 'string' ? d.tenant : file.stem;
  const out: Diagnostic[] = [];
  d.connections.forEach((c: unknown, i: number) => {
    const auth = (c as { auth?: { psk?: unknown; eap?: { secret?: unknown } } } | null)?.auth;
    const iface = String((c as { interface?: unknown } | null)?.interface ?? `connections[${i}]`);
    const who = `${tenant}/${iface}`;
    if (typeof auth?.psk === 'string' && !isSecretRef(auth.psk)) out.push(finding(locate(file, ['connections', i, 'auth', 'psk']), 'psk', auth.psk, who, tenant, iface));
    if (typeof auth?.eap?.secret === 'string' && !isSecretRef(auth.eap.secret)) out.push(finding(locate(file, ['connections', i, 'auth', 'eap', 'secret']), 'eap', auth.eap.secret, who, tenant, iface));
  });
  return out;
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
        out.push(finding(ctx.at(c.origin, 'auth', ...(a.kind === 'psk' ? ['psk'] : ['eap', 'secret'])), a.kind, a.ref, conn(t, c), t.name, c.interface));
      }
    }
    return out;
  },
};
