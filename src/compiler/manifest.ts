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

/** A tenant entry parsed by parseManifest keeps its line's text here (a symbol: JSON and Object.keys do not see it). */
const ENTRY_TEXT = Symbol('manifest line');

/** Whether two tenant entries read from manifest lines are byte-identical (false when either was not read by parseManifest). */
export function sameEntryText(a: object, b: object): boolean {
  const x = (a as { [ENTRY_TEXT]?: string })[ENTRY_TEXT];
  return x !== undefined && x === (b as { [ENTRY_TEXT]?: string })[ENTRY_TEXT];
}

const SUMMARY_KEY = ',"summary":';

/**
 * Reads manifest.json. In formatManifest's layout each tenant's summary (90 % of the file, 29 MB at 10,000
 * tenants, 270 ms for JSON.parse) is parsed only when read: apply looks at the summaries of changed tenants
 * only. Any other layout of valid JSON is parsed whole.
 */
export function parseManifest(text: string): Manifest {
  try {
    const m = readLines(text);
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

function readLines(text: string): Manifest | undefined {
  const lines = text.split('\n');
  const at = (i: number, want: string) => lines[i] === want;
  const field = (i: number, key: string): string | undefined => {
    const m = new RegExp(`^  "${key}": (".*"),$`).exec(lines[i] ?? '');
    return m ? (JSON.parse(m[1]) as string) : undefined;
  };
  const compiler = field(1, 'compiler');
  const gateway = field(2, 'gateway');
  const gatewayDigest = field(3, 'gatewayDigest');
  if (!at(0, '{') || compiler === undefined || gateway === undefined || gatewayDigest === undefined || !['  "tenants": {', '  "tenants": {},'].includes(lines[4])) return undefined;
  const tenants: Manifest['tenants'] = {};
  const files: Manifest['files'] = {};
  // One `    "key": {...}` line per entry; the block's closing line tells where it ends.
  const block = (start: number, into: Record<string, unknown>, read: (key: string, value: string) => unknown): number => {
    if (lines[start].endsWith('{},')|| lines[start].endsWith('{}')) return start + 1;
    let i = start + 1;
    for (; i < lines.length && lines[i].startsWith('    "'); i++) {
      const line = lines[i].endsWith(',') ? lines[i].slice(4, -1) : lines[i].slice(4);
      const colon = line.indexOf('": ');
      const raw = line.slice(0, colon + 1);
      // Names and paths rarely hold an escape: JSON.parse only when they do (20,000 keys at 10,000 tenants).
      const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      into[key] = read(key, line.slice(colon + 3));
    }
    if (lines[i] !== '  },' && lines[i] !== '  }') throw new SyntaxError(`manifest.json line ${i + 1}: expected the end of a block`);
    return i + 1;
  };
  const next = block(4, tenants, (key, value) => {
    const cut = value.indexOf(SUMMARY_KEY);
    if (cut < 0) return JSON.parse(value);
    const head = tenantHead(value.slice(0, cut));
    let summary: TenantSummary | undefined;
    // An object literal with a getter keeps one hidden class for 10,000 entries (defineProperty on each did not).
    return {
      digest: head.digest,
      file: head.file,
      connections: head.connections,
      get summary(): TenantSummary {
        if (summary) return summary;
        try {
          return (summary = (JSON.parse(value) as Manifest['tenants'][string]).summary);
        } catch {
          throw new Error(`manifest.json: tenant ${key}'s entry is not valid JSON`);
        }
      },
      [ENTRY_TEXT]: value,
    };
  });
  if (!['  "files": {', '  "files": {}'].includes(lines[next])) return undefined;
  const end = block(next, files, (_key, value) => fileEntry(value));
  if (lines[end] !== '}' || lines.slice(end + 1).some((l) => l.trim())) return undefined;
  return { compiler, gateway, gatewayDigest, tenants, files };
}

