// swanctl.conf as swanctl reads it (strongSwan's settings syntax) and its translation into VICI load-conn / load-shared messages, mirroring swanctl.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ViciInputElement } from './protocol';

/** A key = value; `value` is null for `key =` with nothing after it, which swanctl treats as unset. */
export interface ConfKeyValue {
  key: string;
  value: string | null;
  /** 1-based line of the (first) definition. */
  line: number;
}

export interface ConfSection {
  name: string;
  line: number;
  /** In order of first definition; a repeated key replaces the value in place (as strongSwan does). */
  keys: ConfKeyValue[];
  /** In order of first definition; a repeated section merges into the first. */
  sections: ConfSection[];
}

export class ConfSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
    this.name = 'ConfSyntaxError';
  }
}

type Token = { t: 'name'; v: string; line: number } | { t: 'value'; v: string | null; line: number } | { t: '{' | '}' | 'nl'; line: number };

/** Tokens of the settings syntax; after '=' the rest of the line up to '#' or '}' is one value. */
function tokenize(text: string, file: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  const err = (m: string): never => {
    throw new ConfSyntaxError(file, line, m);
  };
  const isNameChar = (c: string): boolean => !'#{}="\r\n\t '.includes(c);
  const isValueChar = (c: string): boolean => !'#}"\r\n\t '.includes(c);

  const quoted = (): string => {
    // i is just past the opening quote
    const opened = line;
    const unterminated = (): never => {
      throw new ConfSyntaxError(file, opened, 'unterminated string');
    };
    let s = '';
    for (;;) {
      if (i >= text.length) unterminated();
      const c = text[i];
      if (c === '"') {
        i++;
        return s;
      }
      if (c === '\r') {
        i++;
        continue;
      }
      if (c === '\\') {
        const n = text[i + 1];
        if (n === undefined) unterminated();
        if (n === 'n') s += '\n';
        else if (n === 'r') s += '\r';
        else if (n === 't') s += '\t';
        else if (n === '\n' || (n === '\r' && text[i + 2] === '\n')) {
          // an escaped end of line joins the lines
          i += n === '\r' ? 1 : 0;
          line++;
        } else s += n;
        i += 2;
        continue;
      }
      if (c === '\n') line++;
      s += c;
      i++;
    }
  };

  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '\n') {
      out.push({ t: 'nl', line });
      line++;
      i++;
    } else if (c === '{' || c === '}') {
      out.push({ t: c, line });
      i++;
    } else if (c === '"') {
      err('unexpected string (a quoted string is only allowed as a value)');
    } else if (c === '=') {
      i++;
      const at = line;
      const parts: string[] = [];
      for (;;) {
        while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\r')) i++;
        if (i >= text.length || text[i] === '\n' || text[i] === '#' || text[i] === '}') break;
        if (text[i] === '"') {
          i++;
          parts.push(quoted());
        } else {
          const start = i;
          while (i < text.length && isValueChar(text[i])) i++;
          parts.push(text.slice(start, i));
        }
      }
      // Parts of a value are joined by one space, as strongSwan's parser does.
      out.push({ t: 'value', v: parts.length ? parts.join(' ') : null, line: at });
    } else {
      const start = i;
      while (i < text.length && isNameChar(text[i])) i++;
      out.push({ t: 'name', v: text.slice(start, i), line });
    }
  }
  return out;
}

function newSection(name: string, line: number): ConfSection {
  return { name, line, keys: [], sections: [] };
}

function addKey(s: ConfSection, kv: ConfKeyValue): void {
  const old = s.keys.find((k) => k.key === kv.key);
  if (old) old.value = kv.value;
  else s.keys.push(kv);
}

function addSection(parent: ConfSection, s: ConfSection): void {
  const old = parent.sections.find((x) => x.name === s.name);
  if (!old) {
    parent.sections.push(s);
    return;
  }
  for (const k of s.keys) addKey(old, k);
  for (const sub of s.sections) addSection(old, sub);
}

/**
 * Parses swanctl.conf text: `name { ... }` sections, `key = value` lines, `#` comments, quoted
 * strings with \n \r \t escapes. `include` and section templates (`name : base`) are not supported
 * and are errors, never silently skipped. Pure.
 */
export function parseSwanctlConf(text: string, file = 'swanctl.conf'): ConfSection {
  const toks = tokenize(text, file);
  const root = newSection('', 0);
  const stack: ConfSection[] = [root];
  let i = 0;
  while (i < toks.length) {
    const tk = toks[i];
    const top = stack[stack.length - 1];
    if (tk.t === 'nl') {
      i++;
    } else if (tk.t === '}') {
      if (stack.length === 1) throw new ConfSyntaxError(file, tk.line, "unexpected '}' without an open section");
      const done = stack.pop()!;
      addSection(stack[stack.length - 1], done);
      i++;
    } else if (tk.t === 'name') {
      if (tk.v === 'include') throw new ConfSyntaxError(file, tk.line, 'include is not supported here: parse each included file on its own');
      if (tk.v.includes('.') || tk.v.includes(':')) throw new ConfSyntaxError(file, tk.line, `name ${JSON.stringify(tk.v)}: '.' and ':' (paths, templates) are not supported`);
      const next = toks[i + 1];
      if (next?.t === '{' || (next?.t === 'nl' && toks[i + 2]?.t === '{')) {
        stack.push(newSection(tk.v, tk.line));
        i += next.t === '{' ? 2 : 3;
      } else if (next?.t === 'value') {
        addKey(top, { key: tk.v, value: next.v, line: tk.line });
        i += 2;
      } else {
        throw new ConfSyntaxError(file, tk.line, `expected '=' or '{' after ${JSON.stringify(tk.v)}`);
      }
    } else {
      throw new ConfSyntaxError(file, tk.line, `unexpected ${tk.t === 'value' ? "'='" : `'${tk.t}'`}`);
    }
  }
  if (stack.length > 1) throw new ConfSyntaxError(file, stack[stack.length - 1].line, `section ${JSON.stringify(stack[stack.length - 1].name)} is not closed`);
  return root;
}

/** The sub-section at a path of names, or undefined. */
export function sectionAt(root: ConfSection, ...names: string[]): ConfSection | undefined {
  let s: ConfSection | undefined = root;
  for (const n of names) s = s?.sections.find((x) => x.name === n);
  return s;
}

// ---- translation into VICI, as swanctl's load_conns.c and load_creds.c do it ----

/**
 * Keys swanctl sends as VICI lists, splitting the value at commas (compared case-insensitively).
 * The set of swanctl 5.9.8, observed on the wire (cert_policy is one; newer sources list it too).
 */
export const LIST_KEYS: ReadonlySet<string> = new Set(['local_addrs', 'remote_addrs', 'proposals', 'esp_proposals', 'ah_proposals', 'local_ts', 'remote_ts', 'vips', 'pools', 'groups', 'cert_policy']);
/**
 * Keys swanctl sends as lists of file contents: it reads each named file and sends its bytes, not
 * the path. A relative name is looked up in the key's folder under the swanctl folder.
 */
export const FILE_LIST_KEYS: ReadonlyMap<string, string> = new Map([
  ['certs', 'x509'],
  ['cacerts', 'x509ca'],
  ['pubkeys', 'pubkey'],
]);

export interface TranslateOptions {
  /** swanctl's folder; relative certs are read from its x509/, cacerts from x509ca/, pubkeys from pubkey/. Default $SWANCTL_DIR or /etc/swanctl. */
  swanctlDir?: string;
  /** Reads a certificate file; default fs.readFileSync. */
  readFile?: (path: string) => Buffer;
}

/** Splits a list value like swanctl: at commas, trimming spaces around items, dropping empty items. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((t) => t.replace(/^ +| +$/g, ''))
    .filter((t) => t.length > 0);
}

function translate(s: ConfSection, opts: Required<TranslateOptions>): Map<string, ViciInputElement> {
  const m = new Map<string, ViciInputElement>();
  // swanctl sends a section's key-values first, then its sub-sections, each in file order.
  for (const { key, value } of s.keys) {
    if (value === null) continue; // `key =` unsets the key: swanctl sends nothing
    const lower = key.toLowerCase();
    if (LIST_KEYS.has(lower)) {
      m.set(key, splitList(value));
    } else if (FILE_LIST_KEYS.has(lower)) {
      // swanctl matches the key case-insensitively but picks the folder by exact spelling: `CERTS = x.pem` is read relative to its cwd.
      const sub = FILE_LIST_KEYS.get(key);
      m.set(
        key,
        splitList(value).map((f) => {
          const p = path.isAbsolute(f) || !sub ? f : path.join(opts.swanctlDir, sub, f);
          try {
            return opts.readFile(p);
          } catch (e) {
            throw new Error(`loading ${lower} certificate '${p}' failed: ${(e as Error).message}`);
          }
        }),
      );
    } else {
      m.set(key, value);
    }
  }
  for (const sub of s.sections) m.set(sub.name, translate(sub, opts));
  return m;
}

function withDefaults(opts: TranslateOptions): Required<TranslateOptions> {
  return { swanctlDir: opts.swanctlDir ?? process.env.SWANCTL_DIR ?? '/etc/swanctl', readFile: opts.readFile ?? ((p) => fs.readFileSync(p)) };
}

/** The body of one connection's load-conn message (the section under its name), as swanctl builds it. */
export function connToVici(conn: ConfSection, opts: TranslateOptions = {}): Map<string, ViciInputElement> {
  return translate(conn, withDefaults(opts));
}

export interface ConnMessage {
  name: string;
  /** Pass to ViciClient.loadConn(name, section). */
  section: Map<string, ViciInputElement>;
}

/** Every connection under `connections { }` of a parsed file, in file order. */
export function connectionsToVici(root: ConfSection, opts: TranslateOptions = {}): ConnMessage[] {
  const o = withDefaults(opts);
  return (sectionAt(root, 'connections')?.sections ?? []).map((c) => ({ name: c.name, section: translate(c, o) }));
}

/** The full load-conn request message swanctl sends for one connection: { NAME { ... } }. */
export function loadConnMessage(c: ConnMessage): Map<string, ViciInputElement> {
  return new Map([[c.name, c.section]]);
}

/** Section-name prefixes swanctl recognises under `secrets`, in its order (the first prefix that matches wins). */
const SECRET_TYPES = ['eap', 'xauth', 'ntlm', 'ike', 'ppk', 'private', 'rsa', 'ecdsa', 'bliss', 'pkcs8', 'pkcs12', 'token'];
const SHARED_TYPES = new Set(['eap', 'xauth', 'ntlm', 'ike', 'ppk']);

export interface SharedMessage {
  /** The secrets section name, which swanctl sends as the secret's id. */
  id: string;
  type: string;
  data: Buffer;
  owners: string[];
}

/** A swanctl secret value: 0x... hex, 0s... base64, else the bytes of the string. */
export function secretBytes(value: string): Buffer {
  if (/^0x/i.test(value)) return Buffer.from(value.slice(2), 'hex');
  if (/^0s/i.test(value)) return Buffer.from(value.slice(2), 'base64');
  return Buffer.from(value, 'utf8');
}

/**
 * The load-shared messages swanctl sends for `secrets { }`: shared secrets only (private keys and
 * tokens are files loaded otherwise). A section without `secret`, or of an unknown kind, is an error
 * here (swanctl prints and skips it).
 */
export function secretsToVici(root: ConfSection): SharedMessage[] {
  const out: SharedMessage[] = [];
  for (const s of sectionAt(root, 'secrets')?.sections ?? []) {
    const type = SECRET_TYPES.find((t) => s.name.startsWith(t));
    if (!type) throw new Error(`secrets.${s.name}: unsupported secret (its name must start with one of ${SECRET_TYPES.join(', ')})`);
    if (!SHARED_TYPES.has(type)) continue;
    const secret = s.keys.find((k) => k.key === 'secret')?.value;
    if (secret == null) throw new Error(`secrets.${s.name}: missing secret`);
    const owners = s.keys.filter((k) => k.key.startsWith('id') && k.value !== null).map((k) => k.value!);
    out.push({ id: s.name, type, data: secretBytes(secret), owners });
  }
  return out;
}

/** The load-shared request message of a secret, keys in swanctl's order. */
export function loadSharedMessage(s: SharedMessage): Map<string, ViciInputElement> {
  return new Map<string, ViciInputElement>([
    ['id', s.id],
    ['type', s.type],
    ['data', s.data],
    ['owners', s.owners],
  ]);
}
