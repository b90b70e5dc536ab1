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

/** A tenant entry parsed by parseManifest keeps its line's bytes here (a symbol: JSON and Object.keys do not see it). */
const ENTRY_TEXT = Symbol('manifest line');

/** Whether two tenant entries read from manifest lines are byte-identical (false when either was not read by parseManifest). */
export function sameEntryText(a: object, b: object): boolean {
  const x = (a as { [ENTRY_TEXT]?: Buffer })[ENTRY_TEXT];
  const y = (b as { [ENTRY_TEXT]?: Buffer })[ENTRY_TEXT];
  return x !== undefined && y !== undefined && x.equals(y);
}

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
  // One `    "key": {...}` line per entry; the block's closing line tells where it ends.
  const block = (first: string, into: Record<string, unknown>, read: (key: string, s: number, e: number) => unknown): string | undefined => {
    if (first.endsWith('{},') || first.endsWith('{}')) return text(nextLine());
    for (;;) {
      const r = nextLine();
      if (!r) return undefined;
      const [s0, e0] = r;
      if (e0 - s0 < 5 || buf.compare(ENTRY, 0, 5, s0, s0 + 5) !== 0) {
        const closing = text(r);
        if (closing !== '  },' && closing !== '  }') throw new SyntaxError('manifest.json: expected the end of a block');
        return text(nextLine());
      }
      const s = s0 + 4;
      const e = buf[e0 - 1] === 0x2c ? e0 - 1 : e0;
      const colon = buf.indexOf('": ', s);
      if (colon < 0 || colon >= e) throw new SyntaxError('manifest.json: an entry without a key');
      const raw = buf.toString('utf8', s, colon + 1);
      // Names and paths rarely hold an escape: JSON.parse only when they do (20,000 keys at 10,000 tenants).
      const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      into[key] = read(key, colon + 3, e);
    }
  };
  const filesLine = block(tenantsLine!, tenants, (key, s, e) => {
    const cut = buf.indexOf(SUMMARY_KEY, s);
    if (cut < 0 || cut >= e) return JSON.parse(buf.toString('utf8', s, e));
    const head = tenantHead(buf.toString('utf8', s, cut));
    const value = buf.subarray(s, e);
    let summary: TenantSummary | undefined;
    // An object literal with a getter keeps one hidden class for 10,000 entries (defineProperty on each did not).
    return {
      digest: head.digest,
      file: head.file,
      connections: head.connections,
      get summary(): TenantSummary {
        if (summary) return summary;
        try {
          return (summary = (JSON.parse(value.toString('utf8')) as Manifest['tenants'][string]).summary);
        } catch {
          throw new Error(`manifest.json: tenant ${key}'s entry is not valid JSON`);
        }
      },
      [ENTRY_TEXT]: value,
    };
  });
  if (filesLine === undefined || !['  "files": {', '  "files": {}'].includes(filesLine)) return undefined;
  const end = block(filesLine, files, (_key, s, e) => fileEntry(buf.toString('utf8', s, e)));
  if (end !== '}') return undefined;
  // Nothing but blank space after the closing brace.
  for (let i = pos; i < buf.length; i++) if (buf[i] !== 0x20 && buf[i] !== NL && buf[i] !== 0x0d && buf[i] !== 0x09) return undefined;
  return { compiler, gateway, gatewayDigest, tenants, files };
}
