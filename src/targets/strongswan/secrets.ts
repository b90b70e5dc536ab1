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

/** One line of secrets.refs (without its newline). */
export function refsLine(r: SecretRef): string {
  return [esc(r.connection), r.kind, esc(r.ref), ...r.ids.map((i) => `id=${esc(i)}`)].join(' ');
}

/** Parses secrets.refs; throws on a malformed line (the file is generated, so that means it was edited or corrupted). */
export function parseRefs(text: string): SecretRef[] {
  const out: SecretRef[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (!line.trim() || line.startsWith('#')) continue;
    const [conn, kind, ref, ...ids] = line.split(' ');
    if (!conn || !CONNECTION.test(conn) || (kind !== 'psk' && kind !== 'eap') || !ref || !ids.length || ids.some((x) => !x.startsWith('id=') || x.length === 3)) {
      throw new Error(`secrets.refs:${i + 1}: expected "CONNECTION psk|eap REF id=OWNER...", got ${JSON.stringify(line)}`);
    }
    out.push({ connection: conn, kind, ref: unesc(ref), ids: ids.map((x) => unesc(x.slice(3))) });
  }
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
export function secretsConf(refsText: string, resolve: (ref: string, entry: SecretRef) => string): string {
  return secretsBlock(parseRefs(refsText), resolve);
}

/** secretsConf for references already parsed. */
export function secretsBlock(refs: SecretRef[], resolve: (ref: string, entry: SecretRef) => string): string {
  // One growing string, not an array of lines: 30,000 secrets at 10,000 tenants, on every apply.
  let out = 'secrets {\n';
  for (const r of refs) {
    const value = resolve(r.ref, r);
    if (!value.length) throw new Error(`secret ${r.ref} for connection ${r.connection} is empty`);
    out += `  ${SECTION[r.kind]}-${r.connection} {\n`;
    for (let i = 0; i < r.ids.length; i++) out += `    id-${i + 1} = ${quoteId(r.ids[i])}\n`;
    out += `    secret = "0s${Buffer.from(value, 'utf8').toString('base64')}"\n  }\n`;
  }
  return out + '}\n';
}
