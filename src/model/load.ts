// Load phase: reads gateways/*.yaml and tenants/*.yaml from a config folder and parses them, keeping node ranges.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, isSeq, YAMLMap, Pair, Node, visit } from 'yaml';
import { Diagnostic, error } from './diagnostics';
import { FileKind, SourceFile, placeAt, PARSE_OPTIONS } from './source';

export const MAX_FILE_BYTES = 1024 * 1024;
/** The lock grows with the fleet (about 110 bytes a tenant): room for far more tenants than one repository holds. */
export const MAX_LOCK_BYTES = 64 * 1024 * 1024;
/** The yaml package's guard against alias bombs ("billion laughs"). */
export const MAX_ALIAS_COUNT = 100;

import { UsageError } from '../util/usage';
import { LOCK_FILE } from './lock';
import { cleanFiles } from './clean';

export { UsageError } from '../util/usage';

export interface Loaded {
  dir: string;
  /** Read, not yet parsed: parse() each one in turn (validate does), so one YAML document is alive at a time. */
  files: SourceFile[];
  /** Files that could not be read at all. The YAML findings come from parse(). */
  diagnostics: Diagnostic[];
  /** allocations.lock.yaml as read (bytes, or the size of one too large to read); absent when there is none. Validated with the tenants (lock-check.ts). */
  lock?: Buffer | number | string;
}

const FOLDERS: Array<[string, FileKind]> = [
  ['gateways', 'gateway'],
  ['tenants', 'tenant'],
];

/** What the reader found instead of a regular file; loadFiles() turns it into a finding and reads nothing. */
export type Refused = 'symlink' | 'not-a-file';

export interface Input {
  path: string;
  kind: FileKind;
  /** The bytes, or the size of a file too large to read. */
  bytes: Buffer | number;
  refused?: Refused;
  /**
   * A file Git holds unchanged (model/clean.ts): its content id, and how to read its bytes, which are then read only
   * when asked for (`bytes` is unused). See SourceFile.id.
   */
  lazy?: { id: string; read: () => Buffer | number };
}

/** A tenant or gateway file name s2sgw reads: what a tenant or gateway name can be, plus the extension. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.ya?ml$/;

/** A name as it may be printed: control characters, quotes and backslashes escaped, so a file name cannot start a line of its own in any output. */
export function printable(name: string): string {
  return /^[\x20-\x7e]*$/.test(name) && !/["\\]/.test(name) ? name : JSON.stringify(name).slice(1, -1).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Reads one file of the repository without following a symlink (O_NOFOLLOW, then fstat on the open
 * descriptor, so a file swapped for a link between the two is still refused) and without blocking
 * on a FIFO (O_NONBLOCK). Only a regular file is read, and only up to the size cap.
 */
export function readPlain(full: string, max = MAX_FILE_BYTES): { bytes: Buffer | number; refused?: Refused } {
  // lstat first: a device is never opened (opening one can act, like rewinding a tape).
  const l = fs.lstatSync(full);
  if (l.isSymbolicLink()) return { bytes: 0, refused: 'symlink' };
  if (!l.isFile()) return { bytes: 0, refused: 'not-a-file' };
  let fd: number;
  try {
    fd = fs.openSync(full, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') return { bytes: 0, refused: 'symlink' };
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { bytes: 0, refused: 'not-a-file' };
    if (st.size > max) return { bytes: st.size };
    // The size fstat gave, read in one call as a rule: a file that changes while it is read is read as it was at
    // fstat, or shorter (reading on to a zero-byte read to see it grow was one more call per file, a third of
    // reading 10,000 tenant files). Never more than the cap.
    const buf = Buffer.allocUnsafe(st.size);
    let n = 0;
    while (n < st.size) {
      const r = fs.readSync(fd, buf, n, st.size - n, null);
      if (r === 0) break;
      n += r;
    }
    return { bytes: buf.subarray(0, n) };
  } finally {
    fs.closeSync(fd);
  }
}

export interface LoadOptions {
  /**
   * Ask Git which files the work tree holds exactly as its index does (model/clean.ts) and read those only when their
   * bytes are asked for: a warm validate or build keys them by Git's object id and never reads most of them.
   */
  git?: boolean;
}

/** Reads a config folder from disk. Throws UsageError when the folder or its gateways/ or tenants/ is missing. */
export function loadConfig(dir: string, opts: LoadOptions = {}): Loaded {
  if (!fs.existsSync(dir)) throw new UsageError(`config folder ${dir} does not exist`, 'pass --config with the folder that holds gateways/ and tenants/');
  if (!fs.statSync(dir).isDirectory()) throw new UsageError(`--config ${dir} is a file, not a folder`, 'pass --config with the folder that holds gateways/ and tenants/');
  const inputs: Input[] = [];
  const unreadable: Diagnostic[] = [];
  const clean = opts.git ? cleanFiles(dir) : undefined;
  for (const [folder, kind] of FOLDERS) {
    const abs = path.join(dir, folder);
    if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
      throw new UsageError(`${path.join(dir, folder)}/ is missing`, `a config folder holds gateways/<gateway>.yaml and tenants/<tenant>.yaml; create ${folder}/ or pass --config`);
    }
    // A folder that is a link would let a pull request point s2sgw at any folder of the machine.
    if (fs.lstatSync(abs).isSymbolicLink()) {
      unreadable.push(error('yaml/not-a-file', { file: `${folder}/`, line: 1, col: 1 }, `${folder}/ is a symbolic link; s2sgw reads only a real folder of regular files`, { hint: `replace the link with the folder itself` }));
      continue;
    }
    for (const name of fs.readdirSync(abs).sort()) {
      if (!/\.ya?ml$/.test(name)) continue;
      const full = path.join(abs, name);
      const id = clean?.get(`${folder}/${name}`);
      if (id !== undefined) {
        inputs.push({ path: `${folder}/${name}`, kind, bytes: 0, lazy: { id, read: () => readLater(full) } });
        continue;
      }
      try {
        inputs.push({ path: `${folder}/${name}`, kind, ...readPlain(full) });
      } catch (e) {
        // An unreadable file is a finding about that file, not a crash.
        unreadable.push(error('yaml/unreadable', { file: `${folder}/${printable(name)}`, line: 1, col: 1 }, `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: 'check that s2sgw may read it' }));
      }
    }
  }
  let lock: Buffer | number | undefined;
  let lockRefused: Refused | undefined;
  try {
    ({ bytes: lock, refused: lockRefused } = readPlain(path.join(dir, LOCK_FILE), MAX_LOCK_BYTES));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') unreadable.push(error('lock/invalid', { file: LOCK_FILE, line: 1, col: 1 }, `cannot read the lock file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`));
  }
  const loaded = loadFiles(dir, inputs, lockRefused ? { refused: lockRefused } : lock);
  loaded.diagnostics.push(...unreadable);
  return loaded;
}

/**
 * A file Git said was unchanged, read when its bytes are first wanted, as readPlain() reads it. Changed since into
 * something that is not a regular file: read as an empty file (it is then no longer what its id says, so
 * validate keys it by these bytes: see contentId()).
 */
function readLater(full: string): Buffer | number {
  try {
    const r = readPlain(full);
    return r.refused ? Buffer.alloc(0) : r.bytes;
  } catch {
    return Buffer.alloc(0);
  }
}

function refusal(file: string, why: Refused): Diagnostic {
  return why === 'symlink'
    ? error('yaml/not-a-file', { file, line: 1, col: 1 }, 'the file is a symbolic link; s2sgw reads only regular files and does not follow links', { hint: 'commit the file itself, not a link to it (a link could make s2sgw read and print any file of the machine)' })
    : error('yaml/not-a-file', { file, line: 1, col: 1 }, 'not a regular file (a folder, device, FIFO or socket); s2sgw reads only regular files', { hint: 'remove it, or give it another extension than .yaml' });
}

/**
 * Wraps files already in memory (plan builds a Git ref without a work tree); nothing is parsed yet.
 * Files with an odd name or that are not regular files are findings and are not read. Pure.
 */
export function loadFiles(dir: string, inputs: Input[], lock?: Buffer | number | string | { refused: Refused }): Loaded {
  const diagnostics: Diagnostic[] = [];
  if (lock !== undefined && typeof lock === 'object' && !Buffer.isBuffer(lock)) {
    diagnostics.push(refusal(LOCK_FILE, lock.refused));
    lock = undefined;
  }
  const ok = inputs.filter((input) => {
    const [folder, name] = [path.posix.dirname(input.path), path.posix.basename(input.path)];
    if (!FILE_NAME.test(name)) {
      diagnostics.push(error('yaml/file-name', { file: `${folder}/${printable(name)}`, line: 1, col: 1 }, `file name \`${printable(name)}\` has characters s2sgw does not accept in a file name; it was not read`, { hint: 'name the file after its tenant or gateway: letters, digits, ., _ and -, ending in .yaml' }));
      return false;
    }
    if (input.refused) {
      diagnostics.push(refusal(input.path, input.refused));
      return false;
    }
    return true;
  });
  const files = ok
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((input): SourceFile => {
      const f: SourceFile = { path: input.path, kind: input.kind, stem: path.posix.basename(input.path).replace(/\.ya?ml$/, ''), text: '', lineCounter: new LineCounter() };
      if (!input.lazy) f.pending = input.bytes;
      else {
        const { id, read } = input.lazy;
        f.id = id;
        // Read when first asked for (a cache miss parses it; a finding's code frame shows it), once.
        let bytes: Buffer | number | undefined;
        Object.defineProperty(f, 'pending', {
          configurable: true,
          enumerable: true,
          get: () => (bytes ??= read()),
          set: (v: Buffer | number) => void (bytes = v),
        });
      }
      return f;
    });
  return { dir, files, diagnostics, ...(lock !== undefined ? { lock } : {}) };
}

/**
 * Parses a file loadFiles() read, once; returns its YAML findings (none the second time).
 * At 10,000 tenants the parsed documents are most of the memory, so callers parse, use and
 * release() one file before the next rather than parsing them all up front.
 */
export function parse(file: SourceFile): Diagnostic[] {
  const bytes = file.pending;
  if (bytes === undefined) return [];
  delete file.pending;
  return parseInto(file, bytes);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Fills in a file's text, document and data from its bytes; a file that cannot be used keeps no data, so other files' checks go on. */
function parseInto(file: SourceFile, bytes: Buffer | number): Diagnostic[] {
  const { path: relPath, kind, stem, lineCounter } = file;
  const at1 = { file: relPath, line: 1, col: 1 };
  if (typeof bytes === 'number' || bytes.length > MAX_FILE_BYTES) {
    const size = typeof bytes === 'number' ? bytes : bytes.length;
    return [error('yaml/too-large', at1, `file is ${size} bytes; the limit is ${MAX_FILE_BYTES} bytes (1 MiB)`, { hint: 'a tenant file this large is almost certainly not hand-written; split it or check what generated it' })];
  }
  try {
    file.text = utf8.decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const before = bytes.subarray(0, bad).toString('utf8');
    const line = before.split('\n').length;
    const col = before.length - before.lastIndexOf('\n');
    return [error('yaml/encoding', { file: relPath, line, col }, `file is not valid UTF-8: byte 0x${(bytes[bad] ?? 0).toString(16).padStart(2, '0')} at offset ${bad} cannot start or continue a character`, { hint: 'save the file as UTF-8 (an editor set to Latin-1 or Windows-1252 writes bytes like this for é or ü)' })];
  }
  if (file.text.charCodeAt(0) === 0xfeff) file.text = file.text.slice(1);
  // logLevel 'error': the package's own warnings (e.g. a list used as a key) would go to stderr as Node warnings.
  const doc = parseDocument(file.text, { ...PARSE_OPTIONS, lineCounter });
  file.doc = doc;
  const diagnostics: Diagnostic[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    const known = SYNTAX[e.code];
    const at = { ...placeAt(file, e.pos[0]), length: Math.max(1, Math.min(e.pos[1], nextBreak(file.text, e.pos[0])) - e.pos[0]) };
    diagnostics.push(error('yaml/syntax', at, `YAML syntax: ${known?.message ?? msg}`, { hint: known?.hint ?? 'check the line above too: an unclosed [ { or quote, or a wrong indent, often shows up only on a later line' }));
  }
  if (diagnostics.length) return diagnostics;
  diagnostics.push(...duplicateKeys(file, doc.contents));
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    diagnostics.push(error('yaml/empty', at1, `file is empty; a ${kind} file is a mapping that starts with \`${kind}:\``));
    return diagnostics;
  }
  if (!isMap(doc.contents)) {
    const p = placeAt(file, doc.contents.range?.[0] ?? 0);
    diagnostics.push(error('yaml/not-a-mapping', p, `a ${kind} file must be a mapping of keys to values, got ${isSeq(doc.contents) ? 'a list' : 'a single value'}`, { hint: `start the file with \`${kind}: ${stem}\`` }));
    return diagnostics;
  }
  if (diagnostics.length) return diagnostics;
  try {
    file.data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const firstAlias = findFirstAlias(doc.contents);
    const p = firstAlias ? placeAt(file, firstAlias) : at1;
    diagnostics.push(error('yaml/alias-limit', p, `aliases (*name) in this file expand to too much data (more than ${MAX_ALIAS_COUNT} alias uses); s2sgw stopped reading it`, { hint: 'write the values out instead of nesting anchors and aliases; a tenant file needs no aliases at all' }));
  }
  return diagnostics;
}

/** Plainer words for the yaml package's errors an operator meets most. */
const SYNTAX: Partial<Record<string, { message: string; hint: string }>> = {
  MULTIPLE_DOCS: { message: 'a second YAML document starts here (`---`); an s2sgw file holds one document', hint: 'remove the `---` line and what follows it, or move that document to a file of its own' },
  TAB_AS_INDENT: { message: 'a tab is used for indentation; YAML indents with spaces only', hint: 'replace the tab with spaces' },
  BAD_DQ_ESCAPE: { message: 'a double-quoted string has an invalid \\ escape', hint: 'write the value in single quotes, or double the backslash' },
  TAG_RESOLVE_FAILED: { message: 'unknown YAML tag (a `!name` before a value)', hint: 's2sgw files use plain values; remove the tag' },
};

function nextBreak(text: string, from: number): number {
  const i = text.indexOf('\n', from);
  return i < 0 ? text.length : i;
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

/** Offset of the first byte that does not start (or continue) a valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Buffer): number {
  const n = bytes.length;
  for (let i = 0; i < n; ) {
    const b = bytes[i];
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (!len || i + len > n) return i;
    for (let k = 1; k < len; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    // Overlong forms, surrogates and values past U+10FFFF: what TextDecoder rejects beyond the shape.
    const c1 = bytes[i + 1];
    if ((b === 0xe0 && c1 < 0xa0) || (b === 0xed && c1 >= 0xa0) || (b === 0xf0 && c1 < 0x90) || (b === 0xf4 && c1 >= 0x90)) return i;
    i += len;
  }
  return n;
}
