// Which secrets a tenant may name: its own files below the gateway's secrets folder and its own environment variables.
// One pure definition, used by validate (on the repository), build (canonical refs) and apply (again, on the host).
//
// file: a path below the secrets folder S (the gateway file's `secretsDir`, default /etc/s2sgw/secrets). The
//   first component below S decides the owner: the tenant whose name equals it, or, failing that, the tenant
//   with the longest name N such that it starts with `N-` (the flat spelling S/contoso-ny). A tenant may name
//   S/<tenant> (a file), anything below S/<tenant>/, or S/<tenant>-<rest> (a file directly in S), as
//   an absolute, plain path (no `.`, `..` or empty segments).
// env: a variable whose name starts with the tenant's prefix (its name upper-cased, '-' as '_', then '_'), and
//   whose longest such prefix among the gateway's tenants is its own: tenant `a` cannot name A_B_X when a
//   tenant `a-b` is on the same gateway.
// Each name is owned by exactly one tenant, so no tenant can name another's file or variable.

export const DEFAULT_SECRETS_DIR = '/etc/s2sgw/secrets';
/** A secret file larger than this is refused: a PSK or password is a line, not a file's worth. */
export const MAX_SECRET_BYTES = 4096;

export type Scoped =
  | { ok: true; kind: 'env'; name: string }
  | { ok: true; kind: 'file'; path: string; below: string[] }
  | { ok: false; problem: string; owner?: string };

/** CONTOSO_ for contoso, A_B_ for a-b: the prefix of the environment variables reserved for a tenant. */
export function envPrefix(tenant: string): string {
  return tenant.toUpperCase().replace(/-/g, '_') + '_';
}

/** The tenants of a gateway, indexed so that finding a name's owner costs the name's length, not the number of tenants. */
export interface ScopeIndex {
  names: Set<string>;
  /** envPrefix(tenant) -> tenant. */
  prefixes: Pick<Map<string, string>, 'get'>;
  /** tenant -> envPrefix(tenant): computed once per tenant asked for (apply asks for each of 6,000 references). */
  ownPrefix: Pick<Map<string, string>, 'get'>;
}

/** Tenant names as the schema allows them: envPrefix is one-to-one on them, and undone from the prefix alone. */
const PLAIN_NAME = /^[a-z0-9-]+$/;

/**
 * The index is made for every apply of 10,000 tenants, which asks it about a handful of references: a prefix is
 * turned back into the one tenant name it can be (then checked), not looked up in a map of every tenant's prefix.
 * Names outside the schema's alphabet (two may share a prefix) get the map, the later name winning as before.
 */
export function scopeIndex(tenants: Iterable<string>): ScopeIndex {
  const names = new Set(tenants);
  let plain = true;
  for (const t of names)
    if (!PLAIN_NAME.test(t)) {
      plain = false;
      break;
    }
  const own = new Map<string, string>();
  const ownPrefix = {
    get(t: string): string | undefined {
      if (!names.has(t)) return undefined;
      let p = own.get(t);
      if (p === undefined) own.set(t, (p = envPrefix(t)));
      return p;
    },
  };
  let all: Map<string, string> | undefined;
  const prefixes = plain
    ? {
        get(p: string): string | undefined {
          if (p.length < 2 || !p.endsWith('_')) return undefined;
          const t = p.slice(0, -1).toLowerCase().replace(/_/g, '-');
          return ownPrefix.get(t) === p ? t : undefined;
        },
      }
    : { get: (p: string): string | undefined => (all ??= new Map([...names].map((t) => [envPrefix(t), t]))).get(p) };
  return { names, prefixes, ownPrefix };
}

/** The tenant an environment variable is reserved for, if any: the one with the longest prefix it starts with. */
export function envOwner(name: string, idx: ScopeIndex): string | undefined {
  // Prefixes end with '_' and leave at least one character after them.
  for (let i = name.length - 2; i >= 0; i--) if (name.charCodeAt(i) === 95) {
    const t = idx.prefixes.get(name.slice(0, i + 1));
    if (t !== undefined) return t;
  }
  return undefined;
}

/** The tenant a first component below the secrets folder belongs to, if any: its own name, or the longest `<tenant>-<rest>`. */
export function fileOwner(first: string, idx: ScopeIndex): string | undefined {
  if (idx.names.has(first)) return first;
  for (let i = first.length - 2; i > 0; i--) if (first.charCodeAt(i) === 45 && idx.names.has(first.slice(0, i))) return first.slice(0, i);
  return undefined;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/** A reference as a message may show it: control characters escaped, long ones shortened (it is never a secret). */
export function shownRef(ref: string): string {
  const s = CONTROL.test(ref) ? JSON.stringify(ref) : ref;
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

/** Why `dir` cannot be a secrets folder, or undefined when it can: absolute, normalized, not `/`. */
export function secretsDirProblem(dir: string): string | undefined {
  if (CONTROL.test(dir)) return 'it holds a control character';
  if (!dir.startsWith('/') || dir === '/') return 'it must be an absolute path below /';
  if (dir.endsWith('/')) return 'it must not end with /';
  const parts = dir.slice(1).split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return 'it must be a plain path, without empty, `.` or `..` segments';
  return undefined;
}

/**
 * Where reference `ref` of tenant `tenant` points, when it is in the tenant's scope; else why not (and whose it
 * is). `tenants` are the tenants on the gateway (the tenant itself included), `dir` its secrets folder. Pure.
 */
export function scopeRef(ref: string, tenant: string, tenants: ScopeIndex | Iterable<string>, dir: string = DEFAULT_SECRETS_DIR): Scoped {
  let idx = 'prefixes' in tenants ? tenants : scopeIndex(tenants);
  if (!idx.names.has(tenant)) idx = scopeIndex([...idx.names, tenant]);
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return { ok: false, problem: 'an environment variable name is letters, digits and _' };
    const prefix = idx.ownPrefix.get(tenant)!;
    if (!name.startsWith(prefix) || name.length === prefix.length) return { ok: false, problem: `tenant ${tenant} may name only environment variables ${prefix}*` };
    const owner = envOwner(name, idx);
    if (owner !== tenant) return { ok: false, problem: `${name} is reserved for tenant ${owner}, whose prefix ${envPrefix(owner!)} is longer`, owner };
    return { ok: true, kind: 'env', name };
  }
  if (!ref.startsWith('file:')) return { ok: false, problem: 'a reference is env:NAME or file:PATH' };
  const p = ref.slice(5);
  if (CONTROL.test(p)) return { ok: false, problem: 'the path holds a control character' };
  if (!p.startsWith(dir + '/')) return { ok: false, problem: `a secret file must be below the gateway's secrets folder ${dir}` };
  const below = p.slice(dir.length + 1).split('/');
  if (below.some((c) => c === '' || c === '.' || c === '..')) return { ok: false, problem: 'the path must be plain: no empty, `.` or `..` segments, no trailing /' };
  if (below.some((c) => Buffer.byteLength(c) > 255)) return { ok: false, problem: 'a path segment is longer than 255 bytes' };
  const owner = fileOwner(below[0], idx);
  if (owner === undefined) return { ok: false, problem: `tenant ${tenant} may name only ${dir}/${tenant}, ${dir}/${tenant}/* and ${dir}/${tenant}-*` };
  if (owner !== tenant) return { ok: false, problem: `${dir}/${below[0]} belongs to tenant ${owner}`, owner };
  if (below[0] !== tenant && below.length > 1) return { ok: false, problem: `a flat secret file ${dir}/${tenant}-NAME is directly in the secrets folder; use ${dir}/${tenant}/... for folders` };
  const path = `${dir}/${below.join('/')}`;
  if (path.length > 4095) return { ok: false, problem: 'the path is longer than 4095 bytes' };
  return { ok: true, kind: 'file', path, below };
}

/**
 * A secret's value from its bytes, or why it cannot be one: at most MAX_SECRET_BYTES, UTF-8, one line (one
 * trailing newline is dropped), no control characters. The message never holds any of the bytes.
 */
export function secretValue(bytes: Uint8Array): { value: string } | { problem: string } {
  if (bytes.length > MAX_SECRET_BYTES) return { problem: `it is ${bytes.length} bytes; a secret is at most ${MAX_SECRET_BYTES}` };
  let n = bytes.length;
  if (n && bytes[n - 1] === 10) n -= bytes[n - 2] === 13 && n > 1 ? 2 : 1;
  let text: string;
  try {
    // One decoder for every call (a fatal decoder without `stream` starts afresh each time): making one per
    // secret was most of resolving 6,000 of them.
    text = UTF8.decode(bytes.subarray(0, n));
  } catch {
    return { problem: 'it is not UTF-8 text (binary content is refused, never converted)' };
  }
  return lineProblem(text) ?? { value: text };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function lineProblem(text: string): { problem: string } | undefined {
  if (/[\r\n]/.test(text)) return { problem: 'it has more than one line; a secret is one line (one trailing newline is allowed)' };
  if (CONTROL.test(text)) return { problem: 'it holds a control character' };
  return undefined;
}

/** String.prototype.toWellFormed (Node 20; not in this TypeScript target's lib). */
const wellFormed = (s: string): string => (s as unknown as { toWellFormed(): string }).toWellFormed();

/**
 * secretValue() of an environment variable's value: the same answer as secretValue(Buffer.from(text, 'utf8')),
 * without the round trip through bytes (a lone surrogate becomes U+FFFD, as that encoding makes it).
 */
export function secretText(text: string): { value: string } | { problem: string } {
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_SECRET_BYTES) return { problem: `it is ${size} bytes; a secret is at most ${MAX_SECRET_BYTES}` };
  let n = text.length;
  if (n && text.charCodeAt(n - 1) === 10) n -= text.charCodeAt(n - 2) === 13 && n > 1 ? 2 : 1;
  const value = wellFormed(n === text.length ? text : text.slice(0, n));
  return lineProblem(value) ?? { value };
}
