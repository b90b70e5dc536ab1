// manifest.json: its shape, how build writes it and how apply and plan read it. No dependency on the compiler,
// so `s2sgw apply` on a gateway host does not load the YAML parser, the templates or the targets.
import type { TenantSummary } from './summary';

export const MANIFEST = 'manifest.json';

/**
 * Each tenant's summary (what plan and apply compare to tell what a change does) is its own bundle file, listed in
 * the manifest with its sha256 like any other: at 10,000 tenants the summaries are 26 MB, and inside manifest.json
 * every one-tenant apply read, hashed, parsed and wrote them twice over. Manifests written before summaries had
 * files carry them in the tenant's entry; both are read.
 */
export const SUMMARIES = 'summaries/';
export const summaryPath = (tenant: string): string => `${SUMMARIES}${tenant}.json`;

export interface Manifest {
  compiler: string;
  gateway: string;
  /** Digest of the lines that belong to no tenant (the gateway's own settings). */
  gatewayDigest: string;
  /** `summary` is read from summaries/<tenant>.json (or the entry itself, in older manifests) when first asked for. */
  tenants: Record<string, { digest: string; file: string; connections: string[]; summary: TenantSummary }>;
  files: Record<string, { sha256: string; mode: string }>;
}

/**
 * manifest.json with one line per tenant and per file: valid JSON, a tenant's change is its own line, and
 * at 10,000 tenants it is a third the size of indented JSON.
 */
export function formatManifest(m: Manifest): string {
  const tenants = Object.fromEntries(Object.entries(m.tenants).map(([n, t]) => [n, { digest: t.digest, file: t.file, connections: t.connections }]));
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
    `  "tenants": ${block(tenants)},`,
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

/** Where a tenant entry read by parseManifest came from (a symbol: JSON and Object.keys do not see it). */
const ENTRY_TEXT = Symbol('manifest line');

interface EntryState {
  /** The entry's JSON text as the manifest holds it. */
  text: string;
  key: string;
  /** The entry carries its summary (an older manifest). */
  inline: boolean;
  read?: SummaryReader;
  summary?: TenantSummary;
  /** The sha256 of its summaries/ file, noted while the files block is read (no path built per tenant later). */
  summarySha?: string;
}

/** Reads a tenant's summary from its summaries/ file: given by whoever reads the manifest (a bundle, a release). */
export type SummaryReader = (tenant: string) => TenantSummary | undefined;

/** Whether two tenant entries read from manifest lines are byte-identical (false when either was not read by parseManifest). */
export function sameEntryText(a: object, b: object): boolean {
  const x = (a as { [ENTRY_TEXT]?: EntryState })[ENTRY_TEXT];
  const y = (b as { [ENTRY_TEXT]?: EntryState })[ENTRY_TEXT];
  return x !== undefined && y !== undefined && x.text === y.text;
}

/**
 * Whether plan and apply can read tenant `name`'s summary: its summaries/ file is listed, or the entry carries it (an
 * older manifest, or one built in memory).
 */
export function hasSummary(m: Manifest, name: string): boolean {
  const t = m.tenants[name] as object | undefined;
  if (!t) return false;
  if (t instanceof TenantEntry) return t[ENTRY_TEXT].inline || t[ENTRY_TEXT].summarySha !== undefined;
  return 'summary' in t || !!m.files[summaryPath(name)];
}

/**
 * Whether two manifests say tenant `name` has the same summary without reading it: the same sha256 of its summaries/
 * file, or (older manifests) byte-identical entries.
 */
export function sameSummary(a: Manifest, b: Manifest, name: string): boolean {
  const ta = a.tenants[name];
  const tb = b.tenants[name];
  if (ta instanceof TenantEntry && tb instanceof TenantEntry) {
    const [p, q] = [ta[ENTRY_TEXT], tb[ENTRY_TEXT]];
    if (p.summarySha !== undefined || q.summarySha !== undefined) return p.summarySha === q.summarySha;
    return p.text === q.text;
  }
  const x = a.files[summaryPath(name)];
  const y = b.files[summaryPath(name)];
  if (x || y) return !!x && !!y && x.sha256 === y.sha256;
  return sameEntryText(a.tenants[name], b.tenants[name]);
}

/**
 * A tenant entry read from its manifest line: digest, file and connections read at once, the summary when first
 * asked for (from its summaries/ file, or an older manifest's entry). One class with its getter on the prototype:
 * an object literal with a getter made a closure per tenant, and parsing twice as slow, mostly in garbage collection.
 */
class TenantEntry {
  declare summary: TenantSummary;
  [ENTRY_TEXT]: EntryState;
  constructor(
    readonly digest: string,
    readonly file: string,
    readonly connections: string[],
    state: EntryState,
  ) {
    this[ENTRY_TEXT] = state;
  }

  toJSON(): Manifest['tenants'][string] {
    return { digest: this.digest, file: this.file, connections: this.connections, summary: this.summary };
  }
}

Object.defineProperty(TenantEntry.prototype, 'summary', {
  enumerable: true,
  get(this: TenantEntry): TenantSummary | undefined {
    const st = this[ENTRY_TEXT];
    if (st.summary) return st.summary;
    if (!st.inline) return (st.summary = st.read?.(st.key));
    try {
      return (st.summary = (JSON.parse(st.text) as Manifest['tenants'][string]).summary);
    } catch {
      throw new Error(`manifest.json: tenant ${st.key}'s entry is not valid JSON`);
    }
  },
});

const SUMMARY_KEY = ',"summary":';
const SHA_HEAD = '": {"sha256":"';
/** The modes bundles use, as shared strings. */
const MODES: Record<string, string> = { '0644': '0644', '0600': '0600', '0755': '0755', '0640': '0640', '0700': '0700' };

/**
 * Reads manifest.json. formatManifest's layout (one line per entry) is read line by line without JSON.parse, and an
 * older manifest's inline summaries only when asked for; any other layout of valid JSON is parsed whole.
 * `read` gives a tenant's summary from its summaries/ file.
 */
export function parseManifest(input: string | Buffer, read?: SummaryReader): Manifest {
  const text = typeof input === 'string' ? input : input.toString('utf8');
  try {
    const m = readLines(text, read);
    if (m) return m;
  } catch {
    /* not formatManifest's layout after all: JSON.parse says what is wrong, if anything */
  }
  return JSON.parse(text) as Manifest;
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

function readLines(text: string, read: SummaryReader | undefined): Manifest | undefined {
  const lines = text.split('\n');
  const field = (i: number, key: string): string | undefined => {
    const m = new RegExp(`^  "${key}": (".*"),$`).exec(lines[i] ?? '');
    return m ? (JSON.parse(m[1]) as string) : undefined;
  };
  const compiler = field(1, 'compiler');
  const gateway = field(2, 'gateway');
  const gatewayDigest = field(3, 'gatewayDigest');
  if (lines[0] !== '{' || compiler === undefined || gateway === undefined || gatewayDigest === undefined || !['  "tenants": {', '  "tenants": {},'].includes(lines[4])) return undefined;
  const tenants: Manifest['tenants'] = {};
  const files: Manifest['files'] = {};
  // One `    "key": {...}` line per entry; the block's closing line tells where it ends.
  const block = (start: number, read: (key: string, value: string) => void, fast?: (line: string) => boolean): number => {
    if (lines[start].endsWith('{},') || lines[start].endsWith('{}')) return start + 1;
    let i = start + 1;
    for (; i < lines.length && lines[i].startsWith('    "'); i++) {
      if (fast?.(lines[i])) continue;
      const line = lines[i].endsWith(',') ? lines[i].slice(4, -1) : lines[i].slice(4);
      const colon = line.indexOf('": ');
      if (colon < 0) throw new SyntaxError(`manifest.json line ${i + 1}: an entry without a key`);
      const raw = line.slice(0, colon + 1);
      // Names and paths rarely hold an escape: JSON.parse only when they do (30,000 keys at 10,000 tenants).
      read(raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1), line.slice(colon + 3));
    }
    if (lines[i] !== '  },' && lines[i] !== '  }') throw new SyntaxError(`manifest.json line ${i + 1}: expected the end of a block`);
    return i + 1;
  };
  const next = block(4, (key, value) => {
    // With its summary in the entry (older manifests) the head ends where the summary starts.
    const cut = value.indexOf(SUMMARY_KEY);
    const head = tenantHead(cut < 0 ? value.slice(0, -1) : value.slice(0, cut));
    tenants[key] = new TenantEntry(head.digest, head.file, head.connections, { text: value, key, inline: cut >= 0, read });
  });
  if (!['  "files": {', '  "files": {}'].includes(lines[next])) return undefined;
  const noteSummary = (key: string, sha256: string) => {
    const t = key.endsWith('.json') ? tenants[key.slice(SUMMARIES.length, -5)] : undefined;
    if (t instanceof TenantEntry) t[ENTRY_TEXT].summarySha = sha256;
  };
  // A file line as formatManifest writes it, read in place: `    "<path>": {"sha256":"<64 hex>","mode":"0644"},`
  // (20,000 of them at 10,000 tenants; the fewer strings made, the less garbage collection).
  const FILE_LINE = (line: string): boolean => {
    const comma = line.endsWith(',') ? 1 : 0;
    const at = line.length - comma - 91;
    if (at < 7 || !line.startsWith(SHA_HEAD, at - 3) || !line.startsWith('","mode":"', at + 75) || !line.startsWith('"}', at + 89)) return false;
    const key = line.slice(5, at - 3);
    if (key.includes('\\') || key.includes('"')) return false;
    const m = line.slice(at + 85, at + 89);
    const sha256 = line.slice(at + 11, at + 75);
    files[key] = { sha256, mode: MODES[m] ?? m };
    if (key.startsWith(SUMMARIES)) noteSummary(key, sha256);
    return true;
  };
  const end = block(next, (key, value) => {
    files[key] = fileEntry(value);
    if (key.startsWith(SUMMARIES)) noteSummary(key, files[key].sha256);
  }, FILE_LINE);
  if (lines[end] !== '}' || lines.slice(end + 1).some((l) => l.trim())) return undefined;
  return { compiler, gateway, gatewayDigest, tenants, files };
}
