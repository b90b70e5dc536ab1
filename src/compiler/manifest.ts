// manifest.json: its shape, how build writes it and how apply and plan read it. No dependency on the compiler,
// so `s2sgw apply` on a gateway host does not load the YAML parser, the templates or the targets.
import type { TenantSummary } from './summary';

export const MANIFEST = 'manifest.json';

export interface Manifest {
  compiler: string;
  gateway: string;
  /** Digest of the lines that belong to no tenant (the gateway's own settings). */
  gatewayDigest: string;
  tenants: Record<string, { digest: string; file: string; connections: string[]; summary: TenantSummary }>;
  files: Record<string, { sha256: string; mode: string }>;
}

/**
 * manifest.json with one line per tenant and per file: valid JSON, a tenant's change is its own line, and
 * at 10,000 tenants it is a third the size of indented JSON.
 */
export function formatManifest(m: Manifest): string {
  const entries = (o: Record<string, unknown>) =>
    Object.entries(o)
      .map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`)
      .join(',\n');
  const block = (o: Record<string, unknown>) => (Object.keys(o).length ? `{\n${entries(o)}\n  }` : '{}');
  return [
    '{',
    `  "compiler": ${JSON.stringify(m.compiler)},`,
    `  "gateway": ${JSON.stringify(m.gateway)},`,
    `  "gatewayDigest": ${JSON.stringify(m.gatewayDigest)},`,
    `  "tenants": ${block(m.tenants)},`,
    `  "files": ${block(m.files)}`,
    '}',
    '',
  ].join('\n');
}

/**
 * Both manifests' tenant names, sorted. Manifests list them sorted, so two equal lists (a change that adds or
 * removes no tenant) need neither a set nor a sort of 10,000 names.
 */
export function tenantNames(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const x = Object.keys(a);
  const y = Object.keys(b);
  if (x.length === y.length && x.every((n, i) => n === y[i] && (i === 0 || x[i - 1] < n))) return x;
  return [...new Set([...x, ...y])].sort();
}

/** Where a tenant entry read by parseManifest came from: the manifest's bytes and its value's range (a symbol: JSON and Object.keys do not see it). */
const ENTRY_TEXT = Symbol('manifest line');

interface EntryText {
  buf: Buffer;
  s: number;
  e: number;
}

/** Whether two tenant entries read from manifest lines are byte-identical (false when either was not read by parseManifest). */
export function sameEntryText(a: object, b: object): boolean {
  const x = (a as { [ENTRY_TEXT]?: EntryText })[ENTRY_TEXT];
  const y = (b as { [ENTRY_TEXT]?: EntryText })[ENTRY_TEXT];
  return x !== undefined && y !== undefined && x.e - x.s === y.e - y.s && x.buf.compare(y.buf, y.s, y.e, x.s, x.e) === 0;
}

/**
 * A tenant entry read from its manifest line: digest, file and connections read at once, the summary parsed from the
 * line's bytes when first read. One class (its getter on the prototype) rather than an object literal with a getter:
 * 10,000 closures and buffer views per manifest made parsing it twice as slow, mostly in garbage collection.
 */
class TenantEntry {
  declare summary: TenantSummary;
  [ENTRY_TEXT]: EntryText;
  constructor(
    readonly digest: string,
    readonly file: string,
    readonly connections: string[],
    key: string,
    buf: Buffer,
    s: number,
    e: number,
  ) {
    this[ENTRY_TEXT] = { buf, s, e };
    entryKeys.set(this, key);
  }

  toJSON(): Manifest['tenants'][string] {
    return { digest: this.digest, file: this.file, connections: this.connections, summary: this.summary };
  }
}

const summaries = new WeakMap<TenantEntry, TenantSummary>();
const entryKeys = new WeakMap<TenantEntry, string>();
Object.defineProperty(TenantEntry.prototype, 'summary', {
  enumerable: true,
  get(this: TenantEntry): TenantSummary {
    let summary = summaries.get(this);
    if (summary) return summary;
    const { buf, s, e } = this[ENTRY_TEXT];
    try {
      summary = (JSON.parse(buf.toString('utf8', s, e)) as Manifest['tenants'][string]).summary;
    } catch {
      throw new Error(`manifest.json: tenant ${entryKeys.get(this)}'s entry is not valid JSON`);
    }
    summaries.set(this, summary);
    return summary;
  },
});

const SUMMARY_KEY = Buffer.from(',"summary":');
const NL = 10;

/**
 * Reads manifest.json. In formatManifest's layout it works on the bytes line by line: each tenant's summary
 * (90 % of the file, 29 MB at 10,000 tenants) stays bytes until it is read, so the file is never decoded whole
 * (decoding and splitting it took 50-80 ms, JSON.parse 270 ms) and apply parses the summaries of changed tenants
 * only. Any other layout of valid JSON is parsed whole.
 */
export function parseManifest(input: string | Buffer): Manifest {
  const buf = typeof input === 'string' ? Buffer.from(input) : input;
  try {
    const m = readLines(buf);
    if (m) return m;
  } catch {
    /* not formatManifest's layout after all: JSON.parse says what is wrong, if anything */
  }
  return JSON.parse(typeof input === 'string' ? input : input.toString('utf8')) as Manifest;
}

/** `{"sha256":"<64 hex>","mode":"0644"}` as formatManifest writes it, without JSON.parse; anything else through it. */
function fileEntry(value: string): Manifest['files'][string] {
  if (value.length === 91 && value.startsWith('{"sha256":"') && value.startsWith('","mode":"', 75) && value.endsWith('"}') && !value.includes('\\')) return { sha256: value.slice(11, 75), mode: value.slice(85, 89) };
  return JSON.parse(value) as Manifest['files'][string];
}

/** A tenant entry's `{"digest":...,"file":...,"connections":[...]` (without summary), read by hand when it holds no escape. */
function tenantHead(head: string): Manifest['tenants'][string] {
  const f = head.indexOf('","file":"');
  const c = head.indexOf('","connections":[');
  if (head.startsWith('{"digest":"') && f === 75 && c > f && !head.includes('\\') && head.endsWith(']')) {
    const list = head.slice(c + 17, -1);
    const connections = list ? list.slice(1, -1).split('","') : [];
    return { digest: head.slice(11, 75), file: head.slice(f + 10, c), connections } as unknown as Manifest['tenants'][string];
  }
  return JSON.parse(`${head}}`) as Manifest['tenants'][string];
}

function readLines(buf: Buffer): Manifest | undefined {
  // Line i is buf[starts[i], ends[i]): found with memchr, decoded one short line (or line head) at a time.
  let pos = 0;
  const nextLine = (): [number, number] | undefined => {
    if (pos > buf.length) return undefined;
    let e = buf.indexOf(NL, pos);
    if (e < 0) e = buf.length;
    const r: [number, number] = [pos, e];
    pos = e + 1;
    return r;
  };
  const text = (r: [number, number] | undefined) => (r ? buf.toString('utf8', r[0], r[1]) : undefined);
  const field = (line: string | undefined, key: string): string | undefined => {
    const m = new RegExp(`^  "${key}": (".*"),$`).exec(line ?? '');
    return m ? (JSON.parse(m[1]) as string) : undefined;
  };
  const open = text(nextLine());
  const compiler = field(text(nextLine()), 'compiler');
  const gateway = field(text(nextLine()), 'gateway');
  const gatewayDigest = field(text(nextLine()), 'gatewayDigest');
  const tenantsLine = text(nextLine());
  if (open !== '{' || compiler === undefined || gateway === undefined || gatewayDigest === undefined || !['  "tenants": {', '  "tenants": {},'].includes(tenantsLine!)) return undefined;
  const tenants: Manifest['tenants'] = {};
  const files: Manifest['files'] = {};
  const ENTRY = Buffer.from('    "');
  // One `    "name": {...}` line per tenant; the block's closing line tells where it ends. Each line's name and head
  // (up to its summary) are decoded in one go; the summary stays bytes.
  let filesLine: string | undefined;
  if (tenantsLine!.endsWith('{},')) filesLine = text(nextLine());
  else {
    for (;;) {
      const r = nextLine();
      if (!r) return undefined;
      const [s0, e0] = r;
      if (e0 - s0 < 5 || buf.compare(ENTRY, 0, 5, s0, s0 + 5) !== 0) {
        if (text(r) !== '  },') throw new SyntaxError('manifest.json: expected the end of the tenants block');
        filesLine = text(nextLine());
        break;
      }
      const e = buf[e0 - 1] === 0x2c ? e0 - 1 : e0;
      // Within the line only: searching on from it would scan the rest of the file for a line without a summary.
      const at = buf.subarray(s0, e).indexOf(SUMMARY_KEY);
      const cut = at < 0 ? -1 : s0 + at;
      const line = buf.toString('utf8', s0 + 4, cut < 0 || cut >= e ? e : cut);
      const colon = line.indexOf('": ');
      if (colon < 0) throw new SyntaxError('manifest.json: an entry without a key');
      const raw = line.slice(0, colon + 1);
      // Names rarely hold an escape: JSON.parse only when they do.
      const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      const value = colon + 3;
      if (cut < 0 || cut >= e) tenants[key] = JSON.parse(line.slice(value));
      else {
        const head = tenantHead(line.slice(value));
        tenants[key] = new TenantEntry(head.digest, head.file, head.connections, key, buf, s0 + 4 + Buffer.byteLength(line.slice(0, value)), e);
      }
    }
  }
  if (filesLine === undefined || !['  "files": {', '  "files": {}'].includes(filesLine)) return undefined;
  // The files block is short lines to the end (1.3 MB at 10,000 tenants): decoded in one go, split as text.
  const lines = buf.toString('utf8', pos).split('\n');
  let i = 0;
  if (!filesLine.endsWith('{}')) {
    for (; i < lines.length && lines[i].startsWith('    "'); i++) {
      const line = lines[i].endsWith(',') ? lines[i].slice(4, -1) : lines[i].slice(4);
      const colon = line.indexOf('": ');
      if (colon < 0) throw new SyntaxError('manifest.json: an entry without a key');
      const raw = line.slice(0, colon + 1);
      files[raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1)] = fileEntry(line.slice(colon + 3));
    }
    if (lines[i] !== '  }') throw new SyntaxError('manifest.json: expected the end of the files block');
    i++;
  }
  if (lines[i] !== '}' || lines.slice(i + 1).some((l) => l.trim())) return undefined;
  return { compiler, gateway, gatewayDigest, tenants, files };
}
