// The work cache (--cache-dir): per-tenant results of validate and render, content-addressed, reused between runs.
import { repackPlaces, sharedPath } from './places';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import * as crypto from 'node:crypto';
import { VERSION } from './version';
import { readAt } from './read-at';

/** crypto.hash() (node 20.12 and later); older nodes take the Hash object. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** Bumped when an entry's layout changes; part of every key and of every entry's first line. */
const FORMAT = 1;
const MAGIC = `s2sgw-cache/${FORMAT}`;

/**
 * A folder of entries, each named by the sha256 key of everything it was computed from and
 * holding that key, the s2sgw version and a sha256 of its payload on its first line. An entry
 * that does not say exactly that (truncated, garbage, another version, renamed) is a miss and is
 * rebuilt. Writes go to a temporary sibling and are renamed into place, so a reader sees a whole
 * entry or none. A folder that cannot be written turns the cache off for the run with one warning:
 * the cache only ever saves time, it never decides an outcome.
 */
export class Cache {
  hits = 0;
  misses = 0;
  private writable = true;
  /** Entries already read or written in this run: plan's two sides share most of them. */
  private memo = new Map<string, unknown>();

  constructor(readonly dir: string, private readonly warn: (message: string) => void) {}

  private file(kind: string, key: string): string {
    return path.join(this.dir, `v${FORMAT}`, kind, key.slice(0, 2), `${key}.json`);
  }

  /**
   * The entry's payload, or undefined when it is missing or not exactly what `key` names.
   * `file`: the source file the payload's places are in (see put()); `keep`: as getWith's.
   */
  get<T>(kind: string, key: string, file?: string, keep = true): T | undefined {
    return this.getWith<T>(
      kind,
      key,
      (body) => {
        const value = JSON.parse(body) as T;
        if (file !== undefined) restoreFile(value, file);
        return value;
      },
      keep,
    );
  }

  /**
   * The entry's payload as `decode` makes it of the stored text (undefined, or a throw, is a miss), or undefined
   * when the entry is missing or not exactly what `key` names. Kept for the run (plan's two sides share it) unless
   * `keep` is false: a caller that reads it once lets it go when done (build: 150 MB of entries at 10,000 tenants).
   */
  getWith<T>(kind: string, key: string, decode: (body: string) => T | undefined, keep = true): T | undefined {
    const known = this.memo.get(`${kind}/${key}`);
    if (known !== undefined) {
      this.hits++;
      return known as T;
    }
    let text: string;
    try {
      text = fs.readFileSync(this.file(kind, key), 'utf8');
    } catch {
      this.misses++;
      return undefined;
    }
    const nl = text.indexOf('\n');
    const head = nl < 0 ? [] : text.slice(0, nl).split(' ');
    const body = nl < 0 ? '' : text.slice(nl + 1);
    if (head.length !== 4 || head[0] !== MAGIC || head[1] !== VERSION || head[2] !== key || head[3] !== sha256(body)) {
      this.misses++;
      return undefined;
    }
    try {
      const value = decode(body);
      if (value === undefined) throw new Error('not an entry');
      this.hits++;
      if (keep) this.memo.set(`${kind}/${key}`, value);
      return value;
    } catch {
      this.misses++;
      return undefined;
    }
  }

  /** When an entry was written (its file's mtime in ns), or undefined when there is none. */
  writtenAt(kind: string, key: string): bigint | undefined {
    try {
      return fs.statSync(this.file(kind, key), { bigint: true }).mtimeNs;
    } catch {
      return undefined;
    }
  }

  /** Lets go of every entry kept for the run (plan, once both sides are made: the models' entities are most of them). */
  forget(): void {
    this.memo.clear();
  }

  /** Stores a payload under its key (atomically); a failure turns the cache off with one warning. */
  /**
   * `source`: places in that file (every place of a tenant's entity and most of its sections) are
   * stored as `"file":0`, half of an entity's bytes otherwise; get() puts the name back.
   */
  put(kind: string, key: string, value: unknown, source?: string): void {
    this.putText(kind, key, Cache.json(value, source));
  }

  /** The JSON put() stores for a value. */
  static json(value: unknown, source?: string): string {
    return source === undefined ? JSON.stringify(value) : JSON.stringify(value, (k, v) => (k === 'file' && v === source ? 0 : v));
  }

  /**
   * Stores a payload already serialized by json() (atomically); a failure turns the cache off with
   * one warning. Not kept in memory: a run reads back only what it did not just make.
   */
  putText(kind: string, key: string, body: string | Buffer): void {
    if (!this.writable) return;
    const file = this.file(kind, key);
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const head = `${MAGIC} ${VERSION} ${key} ${sha256(body)}\n`;
      // A body given as its UTF-8 bytes (build's parts entries, read back from a Spill) is written as it is.
      fs.writeFileSync(tmp, typeof body === 'string' ? head + body : Buffer.concat([Buffer.from(head), body]));
      fs.renameSync(tmp, file);
    } catch (e) {
      this.off(e);
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // Nothing was written, or the folder is gone: either way no entry is left half-written under its name.
      }
    }
  }

  /** Whether the folder holds any entry of `kind` (of this or another version's code): a filling run finds none. */
  holds(kind: string): boolean {
    try {
      return fs.readdirSync(path.join(this.dir, `v${FORMAT}`, kind)).length > 0;
    } catch {
      return false;
    }
  }

  /** Whether entries are still written (a write that failed turned that off for the run). */
  get writing(): boolean {
    return this.writable;
  }

  /**
   * A scratch file in the cache folder (made at the first write) for texts a run writes into entries later (Spill),
   * or undefined when the cache is off. A failure to write it turns the cache off, as a failed put does.
   */
  spill(): Spill | undefined {
    if (!this.writable) return undefined;
    return new Spill(path.join(this.dir, `v${FORMAT}`, `.spill-${randomBytes(4).toString('hex')}.tmp`), (e) => this.off(e));
  }

  private off(e: unknown): void {
    if (!this.writable) return;
    this.writable = false;
    this.warn(`s2sgw: warning: cannot write the cache folder ${this.dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); going on without caching\n`);
  }
}

/**
 * A scratch file that texts are appended to and read back from by their byte offsets: build writes a missed tenant's
 * rendered parts there as each target renders and makes its `parts` entry of them at the end, instead of holding
 * 10,000 tenants' texts (over 100 MB) until then. Appends are buffered; a failure (disk full) turns the cache off
 * (`failed`), and what was appended is then not asked for. Removed by close().
 */
export class Spill {
  private fd: number | undefined;
  private size = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  failed = false;

  constructor(
    readonly file: string,
    private readonly fail: (e: unknown) => void,
  ) {}

  /** Appends `s`; gives the byte offset it begins at (its length in bytes is Buffer.byteLength(s)). */
  append(s: string, bytes = Buffer.byteLength(s)): number {
    const at = this.size + this.pendingBytes;
    if (this.failed) return at;
    this.pending.push(s);
    this.pendingBytes += bytes;
    if (this.pendingBytes >= SPILL_CHUNK) this.flush();
    return at;
  }

  /** `length` bytes from `at` (appended before, and not `failed`). */
  read(at: number, length: number): Buffer {
    if (at + length > this.size) this.flush();
    const b = Buffer.allocUnsafe(length);
    if (readAt(this.fd!, b, 0, length, at) !== length) throw new Error(`${this.file}: short read`);
    return b;
  }

  /** Removes the file (when it was made); the Spill is not used after. */
  close(): void {
    this.pending = [];
    this.failed = true;
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
    fs.rmSync(this.file, { force: true });
  }

  private flush(): void {
    if (!this.pending.length || this.failed) return;
    try {
      if (this.fd === undefined) {
        fs.mkdirSync(path.dirname(this.file), { recursive: true });
        this.fd = fs.openSync(this.file, 'wx+', 0o600);
      }
      const b = Buffer.from(this.pending.join(''), 'utf8');
      let done = 0;
      while (done < b.length) done += fs.writeSync(this.fd!, b, done, b.length - done, this.size + done);
      this.size += b.length;
    } catch (e) {
      this.failed = true;
      this.fail(e);
    }
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/** A Spill writes when this many bytes are pending. */
const SPILL_CHUNK = 1 << 20;

/** Puts `file` back where put() wrote `"file":0` (in place: same key order, so the same object shapes as a fresh run). */
export function restoreFile(v: unknown, file: string): void {
  if (Array.isArray(v)) {
    for (const x of v) if (x !== null && typeof x === 'object') restoreFile(x, file);
    return;
  }
  if (v === null || typeof v !== 'object') return;
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const x = o[k];
    if (k === 'file' && x === 0) o.file = file;
    else if (x !== null && typeof x === 'object') {
      restoreFile(x, file);
      // An origin's keys' places, packed, and its path shared, as the model has them (src/util/places.ts).
      if (k === 'keys' && Array.isArray(o.path) && !Array.isArray(x)) o.keys = repackPlaces(x as Record<string, unknown>);
      else if (k === 'path' && Array.isArray(x) && typeof o.line === 'number' && x.every((e) => typeof e === 'string' || typeof e === 'number')) o.path = sharedPath(x);
    }
  }
}

export function sha256(s: string | Buffer): string {
  if (oneShot) return oneShot('sha256', s as string, 'hex');
  return createHash('sha256').update(s).digest('hex');
}

/** A key over several parts, each length-prefixed so that no two part lists give the same input. */
export function keyOf(...parts: Array<string | Buffer>): string {
  // One string and node's one-shot hash when every part is a string (the same input bytes, so the same key): a warm
  // validate makes 10,000 file keys, and a Hash object with ten update() calls each was a twelfth of its time.
  if (oneShot && parts.every((p) => typeof p === 'string')) {
    let s = '';
    for (const p of parts as string[]) s += `${Buffer.byteLength(p)}:${p}`;
    return oneShot('sha256', s, 'hex');
  }
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(`${Buffer.byteLength(p)}:`);
    h.update(p);
  }
  return h.digest('hex');
}

let code: string | undefined;

/**
 * What the compiler's results depend on besides the inputs: the s2sgw version, the cache format,
 * and the bytes of every compiled module, template and schema. A change to a rule, a target, a
 * template or a schema therefore never reuses an entry made before it, with no list to keep up.
 */
export function codeDigest(): string {
  if (code) return code;
  const root = path.resolve(__dirname, '..', '..', '..');
  const h = createHash('sha256');
  h.update(`${MAGIC} ${VERSION}\n`);
  const walk = (dir: string, ext: RegExp) => {
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const p = path.join(dir, name);
      const st = fs.statSync(p);
      if (st.isDirectory()) walk(p, ext);
      else if (ext.test(name)) {
        h.update(`${path.relative(root, p)}\0`);
        h.update(fs.readFileSync(p));
      }
    }
  };
  walk(path.join(root, 'dist', 'src'), /\.js$/);
  walk(path.join(root, 'src'), /\.hbs$/);
  walk(path.join(root, 'schema'), /\.json$/);
  code = h.digest('hex');
  return code;
}

/** The cache named by --cache-dir or S2SGW_CACHE_DIR (the option wins); none when neither is set. */
export function openCache(values: Record<string, unknown>, env: NodeJS.ProcessEnv, cwd: string, warn: (message: string) => void): Cache | undefined {
  const dir = (values['cache-dir'] as string | undefined) ?? env.S2SGW_CACHE_DIR;
  if (!dir) return undefined;
  return new Cache(path.resolve(cwd, dir), warn);
}
