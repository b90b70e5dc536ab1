// Secrets never enter Git: a PSK or EAP secret is a reference (env:NAME or file:/path) resolved on the gateway host.
import { Diagnostic, Place, error } from '../../model/diagnostics';
import { SourceFile, locate } from '../../model/source';
import { Rule, conn } from './rule';
import { distance } from 'fastest-levenshtein';
import { showPath } from '../schema';

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
    secretValue: ref,
  });
}

/** Key names that hold a secret, or a typo of one (`pks`, `secert`, `pasword`). */
const SECRET_WORDS = ['psk', 'secret', 'password', 'passphrase', 'passwd', 'key', 'privatekey'];
export function secretLikeKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[^a-z]/g, '');
  if (/secret|passw|psk|phrase/.test(k)) return true;
  return SECRET_WORDS.some((w) => k.length >= 3 && distance(k, w) <= (w.length > 5 ? 2 : 1));
}

/**
 * The same check on a tenant file that failed the schema (and so is not in the model): an inline
 * secret is reported whatever else is wrong with the file, since it must not be committed at all.
 * Besides auth.psk and auth.eap.secret it looks wherever a secret may have landed by mistake: any
 * text under a connection's `auth` (a mistyped `pks:`, `auth: <the key>`) but the certificate subject
 * and EAP method, and text under a secret-like key anywhere (aliases are already expanded here).
 */
export function scanRaw(file: SourceFile): Diagnostic[] {
  const d = file.data as { tenant?: unknown; connections?: unknown } | undefined;
  if (file.kind !== 'tenant' || !d || typeof d !== 'object') return [];
  const tenant = typeof d.tenant === 'string' ? d.tenant : file.stem;
  const out: Diagnostic[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown, path: Array<string | number>, underAuth: boolean, secretKey: boolean) => {
    if (typeof v === 'string') {
      if ((underAuth || secretKey) && !isSecretRef(v)) out.push(suspect(file, path, v, tenant));
      return;
    }
    if (!v || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    const entries: Array<[string | number, unknown]> = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    for (const [k, x] of entries) {
      const p = [...path, k];
      const auth = underAuth || (k === 'auth' && path.length === 2 && path[0] === 'connections');
      // What is not a secret under auth: the certificate's subject, the EAP method.
      const plain = auth && (k === 'certificate' || (k === 'method' && path[path.length - 1] === 'eap'));
      walk(x, p, auth && !plain, typeof k === 'string' ? secretLikeKey(k) : secretKey);
    }
  };
  walk(d, [], false, false);
  return out;
}

function suspect(file: SourceFile, path: Array<string | number>, value: string, tenant: string): Diagnostic {
  const i = path[0] === 'connections' && typeof path[1] === 'number' ? path[1] : undefined;
  const conns = (file.data as { connections?: unknown }).connections;
  const raw = i !== undefined && Array.isArray(conns) ? (conns[i] as { interface?: unknown } | null)?.interface : undefined;
  const iface = typeof raw === 'string' && /^[A-Za-z0-9_-]{1,15}$/.test(raw) ? raw : i !== undefined ? `connections[${i}]` : 'secret';
  const n = path.length;
  if (path[n - 1] === 'psk' && path[n - 2] === 'auth') return finding(locate(file, path), 'psk', value, `${tenant}/${iface}`, tenant, iface);
  if (path[n - 1] === 'secret' && path[n - 2] === 'eap') return finding(locate(file, path), 'eap', value, `${tenant}/${iface}`, tenant, iface);
  const where = showPath(path);
  const ref = /^(env|file):/.test(value);
  return error('inline-secret', locate(file, path), ref ? `\`${where}\` holds a secret reference in the wrong place` : `\`${where}\` may hold a secret (it sits ${path.includes('auth') ? 'under `auth`' : 'under a secret-like key'}); its value is not shown`, {
    hint: `a secret is only ever a reference, under \`auth.psk\` or \`auth.eap.secret\`: \`psk: env:NAME\` or \`file:/etc/s2sgw/secrets/${tenant}-${iface.toLowerCase()}\`; if a real secret was committed, it is in Git history: change it on both ends`,
    secret: true,
    secretValue: value,
  });
}

export const rule: Rule = {
  id: 'inline-secret',
  scope: 'tenant',
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
