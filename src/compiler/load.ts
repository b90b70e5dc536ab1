// Load phase: reads gateways/*.yaml and tenants/*.yaml from a config folder and parses them, keeping node ranges.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, isSeq, YAMLMap, Pair, Node, visit } from 'yaml';
import { Diagnostic, error } from './diagnostics';
import { FileKind, SourceFile, placeAt } from './source';

export const MAX_FILE_BYTES = 1024 * 1024;
/** The yaml package's guard against alias bombs ("billion laughs"). */
export const MAX_ALIAS_COUNT = 100;

/** A problem with how s2sgw was called (exit 2), as opposed to a finding in the files (exit 1). */
export class UsageError extends Error {
  constructor(message: string, public hint?: string) {
    super(message);
  }
}

export interface Loaded {
  dir: string;
  files: SourceFile[];
  diagnostics: Diagnostic[];
}

const FOLDERS: Array<[string, FileKind]> = [
  ['gateways', 'gateway'],
  ['tenants', 'tenant'],
];

/** Reads a config folder from disk. Throws UsageError when the folder or its gateways/ or tenants/ is missing. */
export function loadConfig(dir: string): Loaded {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new UsageError(`config folder ${dir} does not exist`, 'pass --config with the folder that holds gateways/ and tenants/');
  }
  const inputs: Array<{ path: string; kind: FileKind; bytes: Buffer | number }> = [];
  for (const [folder, kind] of FOLDERS) {
    const abs = path.join(dir, folder);
    if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
      throw new UsageError(`${path.join(dir, folder)}/ is missing`, `a config folder holds gateways/<gateway>.yaml and tenants/<tenant>.yaml; create ${folder}/ or pass --config`);
    }
    for (const name of fs.readdirSync(abs).sort()) {
      if (!/\.ya?ml$/.test(name)) continue;
      const full = path.join(abs, name);
      const st = fs.statSync(full);
      if (!st.isFile()) continue;
      inputs.push({ path: `${folder}/${name}`, kind, bytes: st.size > MAX_FILE_BYTES ? st.size : fs.readFileSync(full) });
    }
  }
  return loadFiles(dir, inputs);
}

/** Parses files already in memory (used by plan to build a Git ref without a work tree). Pure. */
export function loadFiles(dir: string, inputs: Array<{ path: string; kind: FileKind; bytes: Buffer | number }>): Loaded {
  const files: SourceFile[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const input of [...inputs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const { file, diagnostics: d } = parseFile(input.path, input.kind, input.bytes);
    files.push(file);
    diagnostics.push(...d);
  }
  return { dir, files, diagnostics };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses one file; a file that cannot be used still yields a SourceFile (without data) so other files' checks go on. */
export function parseFile(relPath: string, kind: FileKind, bytes: Buffer | number): { file: SourceFile; diagnostics: Diagnostic[] } {
  const stem = path.posix.basename(relPath).replace(/\.ya?ml$/, '');
  const lineCounter = new LineCounter();
  const file: SourceFile = { path: relPath, kind, stem, text: '', lineCounter };
  const at1 = { file: relPath, line: 1, col: 1 };
  if (typeof bytes === 'number' || bytes.length > MAX_FILE_BYTES) {
    const size = typeof bytes === 'number' ? bytes : bytes.length;
    return { file, diagnostics: [error('yaml/too-large', at1, `file is ${size} bytes; the limit is ${MAX_FILE_BYTES} bytes (1 MiB)`, { hint: 'a tenant file this large is almost certainly not hand-written; split it or check what generated it' })] };
  }
  try {
    file.text = utf8.decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const before = bytes.subarray(0, bad).toString('utf8');
    const line = before.split('\n').length;
    const col = before.length - before.lastIndexOf('\n');
    return { file, diagnostics: [error('yaml/encoding', { file: relPath, line, col }, `file is not valid UTF-8 (byte 0x${bytes[bad].toString(16).padStart(2, '0')} at offset ${bad})`, { hint: 'save the file as UTF-8' })] };
  }
  if (file.text.charCodeAt(0) === 0xfeff) file.text = file.text.slice(1);
  const doc = parseDocument(file.text, { lineCounter, uniqueKeys: false, prettyErrors: false, strict: true, version: '1.2' });
  file.doc = doc;
  const diagnostics: Diagnostic[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    diagnostics.push(error('yaml/syntax', { ...placeAt(file, e.pos[0]), length: Math.max(1, e.pos[1] - e.pos[0]) }, `YAML syntax: ${msg}`));
  }
  if (diagnostics.length) return { file, diagnostics };
  diagnostics.push(...duplicateKeys(file, doc.contents));
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    diagnostics.push(error('yaml/empty', at1, `file is empty; a ${kind} file is a mapping that starts with \`${kind}:\``));
    return { file, diagnostics };
  }
  if (!isMap(doc.contents)) {
    const p = placeAt(file, doc.contents.range?.[0] ?? 0);
    diagnostics.push(error('yaml/not-a-mapping', p, `a ${kind} file must be a mapping of keys to values, got ${isSeq(doc.contents) ? 'a list' : 'a single value'}`, { hint: `start the file with \`${kind}: ${stem}\`` }));
    return { file, diagnostics };
  }
  if (diagnostics.length) return { file, diagnostics };
  try {
    file.data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const firstAlias = findFirstAlias(doc.contents);
    const p = firstAlias ? placeAt(file, firstAlias) : at1;
    diagnostics.push(error('yaml/alias-limit', p, `aliases expand to too much data (${(e as Error).message})`, { hint: `s2sgw allows at most ${MAX_ALIAS_COUNT} alias expansions per file; write the values out` }));
  }
  return { file, diagnostics };
}

function duplicateKeys(file: SourceFile, root: unknown): Diagnostic[] {
  const out: Diagnostic[] = [];
  visit(root as Node, {
    Map(_, map: YAMLMap) {
      const first = new Map<string, Pair>();
      for (const pair of map.items as Pair[]) {
        if (!isScalar(pair.key)) continue;
        const k = String(pair.key.value);
        const prev = first.get(k);
        if (!prev) {
          first.set(k, pair);
          continue;
        }
        const here = placeAt(file, (pair.key as Node).range![0]);
        const there = placeAt(file, (prev.key as Node).range![0]);
        out.push(error('yaml/duplicate-key', { ...here, length: k.length }, `key \`${k}\` appears twice in the same mapping; YAML keeps only one of them`, { related: [{ ...there, message: `first \`${k}\` is here` }], hint: 'remove one of the two, or merge them' }));
      }
    },
  });
  return out;
}

function findFirstAlias(root: unknown): number | undefined {
  let found: number | undefined;
  visit(root as Node, {
    Alias(_, node) {
      found = node.range?.[0];
      return visit.BREAK;
    },
  });
  return found;
}

function firstInvalidUtf8(bytes: Buffer): number {
  let lo = 0;
  let hi = bytes.length;
  // Binary search for the shortest prefix that fails to decode.
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid + 1), { stream: true });
      lo = mid + 1;
    } catch {
      hi = mid;
    }
  }
  return lo;
}
