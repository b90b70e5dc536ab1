// swanctl/secrets.refs: which secret reference each connection needs, and how apply turns it into a swanctl secrets block.
//
// Line format (one per connection that needs a shared secret; '#' starts a comment line):
//   CONNECTION KIND REF id=OWNER [id=OWNER ...]
// KIND is psk (swanctl section secrets.ike-CONNECTION) or eap (secrets.eap-CONNECTION). REF is the
// reference from the tenant file (env:NAME or file:/path), never a value. OWNER is an identity the
// secret belongs to: for psk the gateway's source address and the peer's address, for eap the EAP
// username (the interface name). Tokens are separated by single spaces; '%', whitespace and control
// characters inside a token are written as %XX. Certificate connections need no line: their key is
// the gateway identity's private key file.
// One line `@secrets-dir PATH` names the gateway's secrets folder (src/model/secret-scope.ts); a bundle
// without it (built before it existed) means the default, /etc/s2sgw/secrets.

export type SecretKind = 'psk' | 'eap';

export interface SecretRef {
  connection: string;
  kind: SecretKind;
  ref: string;
  ids: string[];
}

/** The sections' prefixes in swanctl.conf's secrets block, by kind. */
const SECTION: Record<SecretKind, string> = { psk: 'ike', eap: 'eap' };

function esc(s: string): string {
  if (!s.length) throw new Error('an empty token cannot be written to secrets.refs');
  return s.replace(/[%\s\x00-\x1f\x7f]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

function unesc(s: string): string {
  // Most tokens hold no escape: skip the regex (30,000 lines at 10,000 tenants, on every apply).
  if (!s.includes('%')) return s;
  return s.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

const CONNECTION = /^[A-Za-z0-9_-]{1,15}$/;

/** A token as secrets.refs writes it ('%', whitespace and control characters as %XX): apply searches the file for one. */
export const refToken = esc;

/** The line naming the gateway's secrets folder ('@' cannot start a connection name). */
export function secretsDirLine(dir: string): string {
  return `@secrets-dir ${esc(dir)}`;
}

/** The secrets folder a secrets.refs names, or undefined when it names none (an older bundle). Throws on a malformed line. */
export function refsSecretsDir(text: string): string | undefined {
  let dir: string | undefined;
  // Only the `@` lines (the secrets folder's is the first line s2sgw writes): not a walk of 6,000 connection lines,
  // which formatSecrets walks (and checks) anyway. The last such line counts, as a whole walk would have it.
  for (let at = text.charCodeAt(0) === 64 ? 0 : text.indexOf('\n@'); at >= 0; at = text.indexOf('\n@', at + 1)) {
    const start = text.charCodeAt(at) === 10 ? at + 1 : at;
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    try {
      walkRefs(text.slice(start, end), () => undefined, (d) => (dir = d));
    } catch {
      // A malformed line: the whole walk throws for it (or an earlier one) with its line number.
      walkRefs(text, () => undefined);
      throw new Error('secrets.refs: malformed @ line');
    }
  }
  return dir;
}

/** One line of secrets.refs (without its newline). */
export function refsLine(r: SecretRef): string {
  return [esc(r.connection), r.kind, esc(r.ref), ...r.ids.map((i) => `id=${esc(i)}`)].join(' ');
}

/**
 * Walks secrets.refs line by line, checking each (the file is generated, so a malformed line means it was edited or
 * corrupted: thrown), and hands `visit` the connection, kind, unescaped reference and the line's `id=` tokens (still
 * escaped, from index 3 of `parts`). No object per line: formatSecrets walks 30,000 lines on every apply.
 */
function walkRefs(text: string, visit: (conn: string, kind: SecretKind, ref: string, parts: string[]) => void, dir?: (d: string) => void): void {
  let lineNo = 0;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
    start = end + 1;
    if (line.charCodeAt(0) === 35 || !line.trim()) continue;
    if (line.charCodeAt(0) === 64) {
      const m = /^@secrets-dir (\S+)$/.exec(line);
      if (!m) throw new Error(`secrets.refs:${lineNo}: expected "@secrets-dir PATH", got ${JSON.stringify(line)}`);
      dir?.(unesc(m[1]));
      continue;
    }
    const parts = line.split(' ');
    const [conn, kind, ref] = parts;
    let ok = !!conn && CONNECTION.test(conn) && (kind === 'psk' || kind === 'eap') && !!ref && parts.length > 3;
    for (let i = 3; ok && i < parts.length; i++) ok = parts[i].startsWith('id=') && parts[i].length > 3;
    if (!ok) throw new Error(`secrets.refs:${lineNo}: expected "CONNECTION psk|eap REF id=OWNER...", got ${JSON.stringify(line)}`);
    visit(conn, kind as SecretKind, unesc(ref), parts);
  }
}

/** Parses secrets.refs; throws on a malformed line. */
export function parseRefs(text: string): SecretRef[] {
  const out: SecretRef[] = [];
  walkRefs(text, (connection, kind, ref, parts) => out.push({ connection, kind, ref, ids: parts.slice(3).map((x) => unesc(x.slice(3))) }));
  return out;
}

/** A swanctl.conf string for an identity (never a secret): double-quoted, refusing what would end the value. */
function quoteId(s: string): string {
  if (/["\\\x00-\x1f\x7f]/.test(s)) throw new Error(`identity ${JSON.stringify(s)} cannot be written to swanctl.conf`);
  return `"${s}"`;
}

/**
 * The swanctl `secrets { ... }` block for secrets.refs, with each reference's value from `resolve`.
 * Pure. Values are written base64-encoded (swanctl's "0s" prefix), so no byte of a secret can end the
 * string or start a line, and a secret that happens to begin with "0x" is not taken for hex.
 */
export function secretsConf(refsText: string, resolve: (ref: string, kind: SecretKind, connection: string) => string): string {
  return formatSecrets(refsText, (ref, kind, connection) => {
    const value = resolve(ref, kind, connection);
    if (!value.length) throw new Error(`secret ${ref} for connection ${connection} is empty`);
    return value;
  });
}

/** A value's UTF-8 bytes in base64: btoa for ASCII (no Buffer per value: 30,000 of them), Buffer otherwise. */
function base64(value: string): string {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return Buffer.from(value, 'utf8').toString('base64');
  return btoa(value);
}

/**
 * secrets.refs turned into the secrets block in one pass, without a SecretRef per line (30,000 lines at 10,000
 * tenants, on every apply: parsing into objects and formatting them took 100-150 ms, most of it garbage collection).
 * `resolve` answers undefined for a reference it cannot resolve (it records why): the walk goes on, so every
 * problem is found, and the block is then not to be used. Throws on a malformed line, as parseRefs does.
 */
export function formatSecrets(text: string, resolve: (ref: string, kind: SecretKind, connection: string) => string | undefined): string {
  // Pieces are joined into a flat chunk every few hundred connections: appending 240,000 pieces to one string (or
  // one array) kept them all alive to the end, and copying them from GC to GC was most of the cost.
  const chunks: string[] = [];
  let out: string[] = ['secrets {\n'];
  walkRefs(text, (conn, kind, ref, parts) => {
    const value = resolve(ref, kind, conn);
    if (value === undefined) return;
    out.push(`  ${SECTION[kind]}-${conn} {\n`);
    for (let i = 3; i < parts.length; i++) out.push(`    id-${i - 2} = `, quoteId(unesc(parts[i].slice(3))), '\n');
    out.push('    secret = "0s', base64(value), '"\n  }\n');
    if (out.length > 2000) {
      chunks.push(out.join(''));
      out = [];
    }
  });
  out.push('}\n');
  chunks.push(out.join(''));
  return chunks.join('');
}
