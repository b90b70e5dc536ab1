// A loaded YAML file: its text, its yaml Document (with node ranges) and the LineCounter that turns offsets into places.
import { packPlaces } from '../util/places';
import type { Document, LineCounter, Node, Pair } from 'yaml';
import type { Place } from './diagnostics';

/**
 * The yaml package, loaded on first use: `s2sgw apply` reaches this module (and model/lock) through the model's types
 * and helpers but never parses YAML, and loading the package cost 70-130 ms of every apply's start.
 */
let yamlModule: typeof import('yaml') | undefined;
export const yaml = (): typeof import('yaml') => (yamlModule ??= require('yaml') as typeof import('yaml'));

export type FileKind = 'gateway' | 'tenant';
export type Path = ReadonlyArray<string | number>;

export interface SourceFile {
  /** Relative to the config folder, with forward slashes. */
  path: string;
  kind: FileKind;
  /** The name the file's own name gives (tenants/contoso.yaml -> contoso). */
  stem: string;
  text: string;
  doc?: Document;
  lineCounter: LineCounter;
  /** The parsed value; undefined when the file could not be parsed (compile drops it once the model is built). */
  data?: unknown;
  /** The file's bytes (or its size when too large to read) until parse() turns them into text, doc and data. */
  pending?: Buffer | number;
  /**
   * Set when Git holds the file unchanged (loadConfig's `git` option): its content id (`sha1:<blob id>`), and
   * `pending` is read from disk only when first asked for. Whoever reads `pending` must check the bytes against this id.
   */
  id?: string;
  /** Set by release(): the document was parsed fine and let go. */
  released?: boolean;
}

/** How every YAML file is parsed (load, and a re-parse for a late diagnostic). */
export const PARSE_OPTIONS = { uniqueKeys: false, prettyErrors: false, strict: true, version: '1.2', logLevel: 'error' } as const;

/**
 * The file's YAML document. Validation releases the documents once the model holds every place it
 * needs (at 10,000 tenants they are most of the memory); a later diagnostic that needs an exact place
 * below an entity re-parses its one file here.
 */
export function documentOf(file: SourceFile): Document | undefined {
  if (!file.doc && file.released) {
    file.lineCounter = new (yaml().LineCounter)();
    file.doc = yaml().parseDocument(file.text, { ...PARSE_OPTIONS, lineCounter: file.lineCounter });
  }
  return file.doc;
}

/** Lets go of the parsed document (the data stays); documentOf() brings the document back if needed. */
export function release(file: SourceFile): void {
  if (!file.doc) return;
  delete file.doc;
  file.released = true;
}

/**
 * Lets go of each released file's text and line table once its entity holds what the later phases need (after
 * validate): the text is `keep`'s (compressed, src/plan/store.ts), read back when asked for, by a late place below an
 * entity (documentOf() re-parses it, with a new line table) or a code frame. A text not decoded yet (a file read from
 * the cache: a getter already) stays as it is. The texts and line tables are about 30 MB of a 10,000-tenant model.
 */
export function stowTexts(files: Iterable<SourceFile>, keep: (text: string) => { readonly text: string }): void {
  for (const f of files) {
    if (!f.released || f.doc) continue;
    const d = Object.getOwnPropertyDescriptor(f, 'text');
    if (!d || d.get || !d.value) continue;
    let stored: { readonly text: string } | undefined = keep(d.value as string);
    let text: string | undefined;
    Object.defineProperty(f, 'text', {
      configurable: true,
      enumerable: true,
      get: () => text ?? stored!.text,
      set(v: string) {
        text = v;
        stored = undefined;
      },
    });
    f.lineCounter = new (yaml().LineCounter)();
  }
}

/** 1-based place of a character offset. */
export function placeAt(file: SourceFile, offset: number): Place {
  const { line, col } = file.lineCounter.linePos(offset);
  return { file: file.path, line, col };
}

/**
 * The span of `length` characters at an offset, written as one literal: the model keeps hundreds
 * of thousands of these, and `{ ...place, length }` gave each its own hidden class in V8 (four
 * times the memory; measured 58 MB against 15 MB for 200,000 spans).
 */
export function spanAt(file: SourceFile, offset: number, length: number): Span {
  const { line, col } = file.lineCounter.linePos(offset);
  return { file: file.path, line, col, length };
}

interface Found {
  key?: Node;
  value?: Node | null;
}

function find(file: SourceFile, path: Path): Found | undefined {
  let node: unknown = documentOf(file)?.contents;
  let found: Found = { value: node as Node };
  for (const seg of path) {
    if (yaml().isMap(node)) {
      const pair = (node.items as Pair[]).find((p) => yaml().isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return undefined;
      found = { key: pair.key as Node, value: pair.value as Node | null };
      node = pair.value;
    } else if (yaml().isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) return undefined;
      found = { value: item as Node };
      node = item;
    } else {
      return undefined;
    }
  }
  return found;
}

export interface Span extends Place {
  length: number;
}

/**
 * The place of the node at `path` (the value, or the key with `which: 'key'`).
 * Falls back to the nearest ancestor that exists, so a diagnostic always has a place.
 */
export function locate(file: SourceFile, path: Path, which: 'key' | 'value' = 'value'): Span {
  for (let n = path.length; n >= 0; n--) {
    const f = find(file, path.slice(0, n));
    if (!f) continue;
    const node = which === 'key' && n === path.length && f.key ? f.key : f.value ?? f.key;
    const range = node?.range;
    if (range) {
      // One line at most under the caret.
      const end = Math.min(range[1], nextLineBreak(file.text, range[0]));
      return spanAt(file, range[0], Math.max(1, end - range[0]));
    }
    if (f.key?.range) return spanAt(file, f.key.range[0], f.key.range[1] - f.key.range[0]);
  }
  return { file: file.path, line: 1, col: 1, length: 0 };
}

function nextLineBreak(text: string, from: number): number {
  const i = text.indexOf('\n', from);
  return i < 0 ? text.length : i;
}

/**
 * The places of every value directly under the mapping at `path` (key -> span of its value, or of the
 * key when the value is empty). One walk, so an entity can remember its keys' places and the YAML
 * document can be let go before rendering.
 */
export function keyPlaces(file: SourceFile, path: Path): Record<string, Span> | undefined {
  const f = find(file, path);
  const node = f?.value;
  if (!yaml().isMap(node)) return undefined;
  const names: string[] = [];
  // line, col, length of each name's span, as packPlaces takes them (no object per span).
  const numbers: number[] = [];
  for (const pair of node.items as Pair[]) {
    if (!yaml().isScalar(pair.key)) continue;
    const n = (pair.value as Node | null)?.range ? (pair.value as Node) : (pair.key as Node);
    const range = n.range;
    if (!range) continue;
    const name = String(pair.key.value);
    const { line, col } = file.lineCounter.linePos(range[0]);
    const length = Math.max(1, Math.min(range[1], nextLineBreak(file.text, range[0])) - range[0]);
    let i = names.indexOf(name);
    if (i < 0) i = names.push(name) - 1;
    numbers[3 * i] = line;
    numbers[3 * i + 1] = col;
    numbers[3 * i + 2] = length;
  }
  return packPlaces(file.path, names, numbers) as Record<string, Span>;
}

