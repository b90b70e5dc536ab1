// A bundle on its way to the host: verified against its manifest, its secrets resolved, staged as a release folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { deriveManifest, FilePart, isParts, Manifest, parseManifest, SUMMARIES, summaryPath } from '../bundle/manifest';
import type { TenantSummary } from '../model/summary';
import { formatSecrets, parseRefs, refsSecretsDir, refToken, SecretKind } from '../targets/strongswan/secrets';
import { headOf, NFT_MARKER, sectionSpan } from './incremental/sections';
import type { PatchedFile } from './incremental/patched';
import { readAt } from '../util/read-at';
import { DEFAULT_SECRETS_DIR, envPrefix, MAX_SECRET_BYTES, ScopeIndex, scopeIndex, scopeRef, secretsDirProblem, secretText, secretValue, shownRef } from '../model/secret-scope';
import { parsePrivateRefs } from '../targets/strongswan/host';
import { StepError, Runner } from './runner';
import { Layout, readPending, readState, State, writeState } from './layout';
import { childEnv } from '../util/env';

export const MANIFEST = 'manifest.json';
export const SECRETS_REFS = 'swanctl/secrets.refs';
/** The resolved secrets, mode 0600, only inside a release folder. */
export const SECRETS_CONF = 'swanctl/secrets.conf';
export const MIN_PSK = 20;

/**
 * On the host a release does not hold its swanctl/conf.d/<tenant>.conf files itself: they sit in shard folders
 * under shards/, named by the digest of what they hold, and the release's swanctl/conf.d/<NN> is a symlink to
 * one. Releases share the shards a change leaves alone, so staging a one-tenant change makes one shard of about
 * N/64 files and 64 symlinks instead of N hard links (10,000 links took 0.2 s at 10,000 tenants, and pruning
 * a release as long), and charon reads them through `include .../conf.d/*\/*.conf`.
 */
export const CONF_D = 'swanctl/conf.d/';
/** The folders of per-tenant files kept in shards: connection files and tenant summaries. */
const SHARDED = [CONF_D, SUMMARIES];
const SHARDS = 64;

/**
 * The shard (two digits) of a connection file's name: FNV-1a, so it never moves (an unchanged tenant's shard changes
 * only with its neighbours), and cheap: stage and verify ask for every one of 10,000 files.
 */
export function shardOf(name: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return (h % SHARDS).toString().padStart(2, '0');
}

/**
 * A bundle path's shard as one number, without a string made (beginStage asks for each of 20,000 files in a one-shot
 * process): SHARDS * (its folder's index in SHARDED) + its shard, or -1 for a file that is not in a shard (sharded()).
 */
function shardKey(p: string): number {
  for (let d = 0; d < SHARDED.length; d++) {
    const dir = SHARDED[d];
    if (!p.startsWith(dir)) continue;
    if (p.length === dir.length || p.indexOf('/', dir.length) >= 0) return -1;
    let h = 0x811c9dc5;
    for (let i = dir.length; i < p.length; i++) h = Math.imul(h ^ p.charCodeAt(i), 0x01000193) >>> 0;
    return d * SHARDS + (h % SHARDS);
  }
  return -1;
}

/** A shardKey's folder in a release: "swanctl/conf.d/07", "summaries/07". */
function shardFolder(k: number): string {
  return `${SHARDED[Math.floor(k / SHARDS)]}${(k % SHARDS).toString().padStart(2, '0')}`;
}

/** A file that lives in a shard: swanctl/conf.d/<name>.conf or summaries/<name>.json (no deeper folder): its folder and name. */
function sharded(p: string): { dir: string; name: string } | undefined {
  const dir = SHARDED.find((d) => p.startsWith(d));
  if (!dir) return undefined;
  const name = p.slice(dir.length);
  return name && !name.includes('/') ? { dir, name } : undefined;
}

/** Where a bundle file is inside a release folder (through its shard's symlink for a connection file or summary). */
export function releasePath(r: Pick<Release, 'dir' | 'flat'>, p: string): string {
  const sh = r.flat ? undefined : sharded(p);
  return sh ? path.join(r.dir, ...sh.dir.split('/').filter(Boolean), shardOf(sh.name), sh.name) : path.join(r.dir, ...p.split('/'));
}

/** A summaries/<tenant>.json file's summary, or undefined when it is missing or not JSON (a release staged before summaries had files). */
function readSummary(read: () => Buffer | undefined): TenantSummary | undefined {
  try {
    const b = read();
    return b ? (JSON.parse(b.toString('utf8')) as TenantSummary) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a release folder keeps its connection files in shards (one listing of swanctl/conf.d). */
export function hasShards(dir: string): boolean {
  try {
    return fs.readdirSync(path.join(dir, 'swanctl', 'conf.d'), { withFileTypes: true }).some((e) => e.isSymbolicLink());
  } catch {
    return false;
  }
}

export interface VerifiedBundle {
  dir: string;
  manifest: Manifest;
  /** manifest.json's bytes, as hashed and as stage writes them. */
  manifestBytes: Buffer;
  /** sha256 of manifest.json, which holds every file's sha256: the bundle's identity. */
  digest: string;
  /**
   * Every listed file. `content` is read and hashed, except for a file the host's current release holds
   * with the same sha256 and mode (`reused`): stage links that copy, so the bundle's is never needed.
   */
  files: Array<{ path: string; content?: Buffer; mode: number; reused?: string; pieces?: Piece[] }>;
}

/**
 * A run of a file verified part by part (see PiecedFile): `len` bytes that are the current release's copy from byte
 * `at` on (parts it holds with the same length and sha256), or `bytes` read from the bundle and hashed. `parts`: the
 * manifest's parts the run is made of, to check the release's bytes against when they are read.
 */
interface Piece {
  len: number;
  at?: number;
  bytes?: Buffer;
  parts: FilePart[];
}

/** A release on the host (a folder under releases/), or null for the host as it was before s2sgw. */
export interface Release {
  name: string;
  dir: string;
  manifest: Manifest;
  /** Its connection files are in swanctl/conf.d/ itself, as in a bundle: a dry run's bundle folder, or a release staged before shards. */
  flat?: boolean;
  /** A file's bytes as verify read them, when it did (the release just staged): saves reading it back. */
  read?: (p: string) => Buffer | undefined;
  /** A large file verify took part by part (the release just staged): the current release's copy and the changed parts. */
  patched?: (p: string) => PatchedFile | undefined;
}

type FileEntry = Manifest['files'][string];

/** Whether a manifest entry describes the same bytes and mode as another (a file the current release can lend). */
function sameFile(was: FileEntry | undefined, now: FileEntry | undefined): boolean {
  return !!was && !!now && was.sha256 === now.sha256 && (was.mode ?? '0644') === (now.mode ?? '0644');
}

function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * Every file under `dir` by bundle path. In a release (`release`), swanctl/conf.d/<NN> and summaries/<NN> symlinks to
 * shard folders are followed and their files listed as swanctl/conf.d/<name> (summaries/<name>); a file in the wrong
 * shard is odd. Any other
 * symlink is odd (refused).
 */
function walk(dir: string, release = false): { files: string[]; odd: string[] } {
  const files: string[] = [];
  const odd: string[] = [];
  // In listing order: nothing depends on the order of 20,000 paths (sorting them was 10 ms of every apply), only
  // the few odd ones are sorted for the message.
  const rec = (rel: string) => {
    // The entries' types come with the listing: no lstat per file (10,000 of them at 10,000 tenants).
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) rec(r);
      else if (e.isFile()) files.push(r);
      else if (release && e.isSymbolicLink() && SHARDED.includes(`${rel}/`) && /^\d\d$/.test(e.name) && fs.statSync(path.join(dir, r)).isDirectory()) {
        for (const f of fs.readdirSync(path.join(dir, r), { withFileTypes: true })) {
          if (f.isFile() && shardOf(f.name) === e.name) files.push(`${rel}/${f.name}`);
          else odd.push(`${r}/${f.name}`);
        }
      } else odd.push(r);
    }
  };
  rec('');
  return { files, odd: odd.sort() };
}

/** A file verify takes from the current release: its path there is worked out only when asked (a prototype getter, not a closure per file). */
class ReusedFile {
  constructor(
    readonly path: string,
    readonly mode: number,
    private readonly from: Release,
  ) {}
  get reused(): string {
    return releasePath(this.from, this.path);
  }
}

/**
 * A large file (listed with its parts, see partsOf) the current release holds in another version: only the parts the
 * release does not hold were read from the bundle and hashed; the others are the release's (already verified when it
 * was staged), checked against their sha256 again when they are read (loadContent, stage).
 */
class PiecedFile {
  content?: Buffer;
  constructor(
    readonly path: string,
    readonly mode: number,
    readonly pieces: Piece[],
    readonly from: Release,
  ) {}
  /** The current release's copy the unchanged runs are read from. */
  get reused(): string {
    return releasePath(this.from, this.path);
  }
}

/**
 * Verifies bundle file `p` part by part against the current release's version `was` (both listed with parts): each
 * part the release holds (same length and sha256) is taken from it, every other part is read from the bundle at its
 * place and hashed. Undefined (verify reads the file whole) when either has no parts or when most of its bytes changed.
 */
function piecewise(p: string, mode: number, want: FileEntry, was: FileEntry | undefined, from: Release, file: string, problems: string[]): PiecedFile | undefined {
  if (!was || !isParts(want.parts) || !isParts(was.parts)) return undefined;
  const held = new Map<string, number>();
  let at = 0;
  for (const [len, sha] of was.parts) {
    const k = `${len}:${sha}`;
    if (!held.has(k)) held.set(k, at);
    at += len;
  }
  let total = 0;
  let fresh = 0;
  for (const [len, sha] of want.parts) {
    total += len;
    if (!held.has(`${len}:${sha}`)) fresh += len;
  }
  if (fresh * 2 > total) return undefined;
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size !== total) {
      problems.push(`${p}: ${size} bytes, not the ${total} of the manifest's parts`);
      return new PiecedFile(p, mode, [], from);
    }
    const pieces: Piece[] = [];
    let pos = 0;
    for (const part of want.parts) {
      const [len, sha] = part;
      const o = held.get(`${len}:${sha}`);
      const last = pieces[pieces.length - 1];
      if (o !== undefined) {
        if (last?.at !== undefined && last.at + last.len === o) {
          last.len += len;
          last.parts.push(part);
        } else pieces.push({ len, at: o, parts: [part] });
      } else {
        const bytes = Buffer.allocUnsafe(len);
        const got = readAt(fd, bytes, 0, len, pos) === len ? sha256(bytes) : '';
        if (got !== sha) problems.push(`${p}: sha256 ${got.slice(0, 12) || '(short file)'}… of its ${len} bytes at ${pos} does not match the manifest's part ${sha.slice(0, 12)}…`);
        pieces.push({ len, bytes, parts: [part] });
      }
      pos += len;
    }
    return new PiecedFile(p, mode, pieces, from);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Whether bundle path `p` (a plain path) is a regular file under `dir`, as walk would have found it: no folder on the
 * way and not the file itself a symlink or device. A symlink or device on the way is added to `odd` (once, as walk
 * names it); `kinds` keeps what each folder was found to be. False when it is not there (missing).
 */
function plainFile(dir: string, p: string, kinds: Map<string, 'dir' | 'odd' | 'missing'>, odd: string[]): boolean {
  const parts = p.split('/');
  let rel = '';
  for (let i = 0; i < parts.length; i++) {
    rel = rel ? `${rel}/${parts[i]}` : parts[i];
    const last = i === parts.length - 1;
    let kind = last ? undefined : kinds.get(rel);
    if (kind === undefined) {
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(path.join(dir, rel));
      } catch {
        st = undefined;
      }
      kind = !st ? 'missing' : (last ? st.isFile() : st.isDirectory()) ? 'dir' : 'odd';
      if (!last) kinds.set(rel, kind);
      // A folder where a file is listed is missing (walk went into it and found no file there); a file where a
      // folder is: walk listed it as a file.
      if (kind === 'odd' && !st!.isDirectory() && !st!.isFile()) odd.push(rel);
    }
    if (kind !== 'dir') return false;
  }
  return true;
}

const modeOf = new Map<string, number>();

/** A manifest entry's mode as a number (each of the few modes parsed once). */
function modeFor(want: FileEntry): number {
  const m = want.mode ?? '0644';
  if (m === '0644') return 0o644;
  let mode = modeOf.get(m);
  if (mode === undefined) modeOf.set(m, (mode = parseInt(m, 8) & 0o777));
  return mode;
}

/** A path as a manifest may list it: relative, no empty, `.` or `..` part. */
const PLAIN_PATH = /^(?!\/)(?!.*(?:^|\/)\.{1,2}(?:\/|$))(?!.*\/\/)(?!.*\/$).+$/;

/**
 * Checks a bundle folder against its manifest.json: every listed file present with its sha256, nothing
 * else (no extra file, no symlink), before apply looks at anything else. Collects every problem. Against the
 * current release (`reuse`) only what is used is checked: a file listed as the release holds it is the release's
 * copy (the bundle's is not looked at), every other listed file is found, read and hashed as without a release, and
 * the folder is not walked for files the manifest does not list (they are never staged).
 */
export function verifyBundle(dir: string, opts: { allowExtra?: string[]; reuse?: Release | null | ((m: Manifest) => Release | null); release?: boolean; manifestBytes?: Buffer } = {}): VerifiedBundle {
  const problems: string[] = [];
  let manifestBytes: Buffer;
  try {
    // The bytes whose signature apply checked, when it did: never a second read someone could swap in between.
    manifestBytes = opts.manifestBytes ?? fs.readFileSync(path.join(dir, MANIFEST));
  } catch (e) {
    throw new StepError('verify', `${dir} is not a bundle: cannot read ${MANIFEST} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let manifest: Manifest;
  // A tenant's summary is read from the verified files (as contentOf reads them) once verify is through.
  let verified: VerifiedBundle | undefined;
  try {
    manifest = parseManifest(manifestBytes, (t) => (verified ? readSummary(() => contentOf(verified!, summaryPath(t))) : undefined));
    if (!manifest || typeof manifest.files !== 'object' || typeof manifest.tenants !== 'object' || typeof manifest.gateway !== 'string') throw new Error('missing gateway, tenants or files');
  } catch (e) {
    throw new StepError('verify', `${MANIFEST} in ${dir} is not a valid manifest: ${(e as Error).message}`);
  }
  // The release to reuse files from may be opened from this manifest (see openRelease's `like`).
  const reusing = typeof opts.reuse === 'function' ? opts.reuse(manifest) : opts.reuse;
  const at = { dir, flat: !opts.release || !hasShards(dir) };
  const files: VerifiedBundle['files'] = [];
  const reuse = reusing?.manifest.files;
  const mismatch: string[] = [];
  const missing: string[] = [];
  const odd: string[] = [];
  /** Verifies listed file `p` (found in the folder as a regular file): taken from the current release, part by part, or read whole and hashed. */
  const check = (p: string, want: FileEntry) => {
    const mode = modeFor(want);
    // At 10,000 tenants reading and hashing every file took 1.8 s of a one-tenant apply; the current
    // release's copy of an unchanged file is already verified (when it was staged) and is what stage links.
    if (reuse && sameFile(reuse[p], want)) {
      files.push(new ReusedFile(p, mode, reusing!));
      return;
    }
    // A large file (the nft ruleset, frr.conf, tc and links batches: 60 MB at 10,000 tenants) the current release holds
    // in another version: only the parts a change touched are read and hashed.
    const pieced = reusing && piecewise(p, mode, want, reuse![p], reusing, releasePath(at, p), mismatch);
    if (pieced) {
      files.push(pieced);
      return;
    }
    const content = fs.readFileSync(releasePath(at, p));
    const got = sha256(content);
    if (got !== want.sha256) mismatch.push(`${p}: sha256 ${got.slice(0, 12)}… does not match the manifest's ${String(want.sha256).slice(0, 12)}…`);
    files.push({ path: p, content, mode });
  };
  const extra: string[] = [];
  if (reusing && !opts.release) {
    // Against the current release only the listed files are looked at, not the 20,000 in the folder (a walk of
    // them was 25 ms of every apply): a file listed as the release holds it is the release's copy, and the
    // bundle's is never read nor looked for (as its bytes never were); every other listed file must be a
    // regular file at a plain path, read and hashed. A file the manifest does not list is never staged.
    const kinds = new Map<string, 'dir' | 'odd' | 'missing'>();
    const listed = manifest.files;
    const skip = [MANIFEST, ...(opts.allowExtra ?? [])];
    // Object.keys, not for-in: for-in over 20,000 keys of a dictionary checks each is still there.
    const keys = Object.keys(listed);
    for (let i = 0; i < keys.length; i++) {
      const p = keys[i];
      const want = listed[p];
      // An entry whose line is the same bytes in both manifests is one object in both (deriveManifest shares it).
      const was = reuse![p];
      const skipped = skip.includes(p);
      if (want && !skipped && (was === want || sameFile(was, want))) {
        files.push(new ReusedFile(p, modeFor(want), reusing));
        continue;
      }
      const found = PLAIN_PATH.test(p) && plainFile(dir, p, kinds, odd);
      // manifest.json and the signature are not checked against the manifest (walk skips them too); an entry that is
      // not there (null) makes its file, as walk finds it, an extra one.
      if (!found) missing.push(p);
      else if (skipped) continue;
      else if (want) check(p, want);
      else extra.push(p);
    }
  } else {
    const walked = walk(dir, opts.release);
    odd.push(...walked.odd);
    let matched = 0;
    for (const p of walked.files) {
      if (p === MANIFEST || opts.allowExtra?.includes(p)) continue;
      const want = manifest.files[p];
      if (!want || !Object.prototype.hasOwnProperty.call(manifest.files, p)) {
        extra.push(p);
        continue;
      }
      matched++;
      check(p, want);
    }
    // Every listed file was found (so each is a plain path under the folder) unless fewer matched than are listed:
    // only then look for which, and whether they are plain paths at all.
    const listed = Object.keys(manifest.files);
    if (matched < listed.length) {
      const present = new Set(walked.files);
      missing.push(...listed.filter((x) => !present.has(x)));
    }
  }
  for (const o of [...new Set(odd)].sort()) problems.push(`${o}: not a regular file (symlinks and devices are refused)`);
  problems.push(...mismatch.sort());
  for (const p of extra.sort()) problems.push(`${p}: not in the manifest (an extra file)`);
  missing.sort();
  for (const p of missing) problems.push(`${p}: listed in the manifest but missing`);
  for (const p of missing) if (!PLAIN_PATH.test(p)) problems.push(`${p}: not a plain relative path`);
  if (problems.length) throw new StepError('verify', `the bundle in ${dir} does not match its manifest (${problems.length} problem${problems.length === 1 ? '' : 's'})`, problems.join('\n'));
  return (verified = { dir, manifest, manifestBytes, digest: sha256(manifestBytes), files });
}

/**
 * A verified file's bytes: read at verify, or (a reused file) the current release's copy, or, should that
 * copy be gone, the bundle's own, checked against the manifest then.
 */
export function contentOf(b: VerifiedBundle, rel: string): Buffer | undefined {
  const f = fileOf(b, rel);
  return f && loadContent(b, f);
}

/**
 * A pieced file's bytes: its runs read from the current release's copy (`file`), each of their parts checked against
 * its sha256, and the parts verify read from the bundle. Undefined when the copy is gone or a part does not match.
 */
function assemble(file: string, pieces: Piece[]): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const out = Buffer.allocUnsafe(pieces.reduce((n, x) => n + x.len, 0));
    let pos = 0;
    for (const x of pieces) {
      if (x.bytes) x.bytes.copy(out, pos);
      else {
        if (readAt(fd, out, pos, x.len, x.at!) !== x.len) return undefined;
        let o = pos;
        for (const [len, sha] of x.parts) {
          if (sha256(out.subarray(o, o + len)) !== sha) return undefined;
          o += len;
        }
      }
      pos += x.len;
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** A verified bundle's files by path, made on the first lookup (summaries are looked up by tenant, up to 10,000). */
const filesByPath = new WeakMap<VerifiedBundle, Map<string, VerifiedBundle['files'][number]>>();

function fileOf(b: VerifiedBundle, rel: string): VerifiedBundle['files'][number] | undefined {
  let byPath = filesByPath.get(b);
  if (!byPath) filesByPath.set(b, (byPath = new Map(b.files.map((f) => [f.path, f]))));
  return byPath.get(rel);
}

/**
 * Bundle file `rel` as verify took it part by part (see PiecedFile): the current release's copy, its parts as that
 * release lists them, and the runs and changed parts the new file is made of. Undefined for any other file. A plan that
 * needs only the changed tenant sections reads them from here (incremental/patched.ts), not the whole file.
 */
export function patchedOf(b: VerifiedBundle, rel: string): PatchedFile | undefined {
  const f = fileOf(b, rel);
  if (!(f instanceof PiecedFile) || !f.pieces.length) return undefined;
  const oldParts = f.from.manifest.files[rel]?.parts;
  return isParts(oldParts) ? { old: f.reused, oldParts, pieces: f.pieces } : undefined;
}

function loadContent(b: VerifiedBundle, f: VerifiedBundle['files'][number]): Buffer {
  const rel = f.path;
  if (f.content) return f.content;
  if (f.pieces) {
    const c = assemble(f.reused!, f.pieces);
    if (c) return (f.content = c);
  } else
    try {
      const c = fs.readFileSync(f.reused!);
      if (sha256(c) === b.manifest.files[rel].sha256) return (f.content = c);
    } catch {
      /* the release was pruned or damaged: the bundle's copy below */
    }
  const c = fs.readFileSync(path.join(b.dir, ...rel.split('/')));
  if (sha256(c) !== b.manifest.files[rel].sha256) throw new StepError('verify', `${rel}: sha256 does not match the manifest`);
  return (f.content = c);
}

/** Whose connections a bundle holds, and the gateway's key, to check each secret reference's scope on the host. */
export interface SecretScope {
  /** The manifest's tenants: each connection's tenant. */
  tenants: Record<string, { connections: string[] }>;
  /** The gateway identity's private key (swanctl/private.refs): no reference may reach it, even by a hard link. */
  privateKey?: string;
}

/**
 * Opens a secret file below the secrets folder without following a link: every folder below `dir` is checked with
 * lstat and the file is opened with O_NOFOLLOW, then compared with what lstat saw. Returns its bytes, or why not.
 */
function readScopedFile(dir: string, below: string[], key: fs.Stats | undefined): Buffer | string {
  let st: fs.Stats;
  try {
    // The secrets folder itself is the host's choice (it may be a link); what is below it must not be.
    if (!fs.statSync(dir).isDirectory()) return `the secrets folder ${dir} is not a folder`;
  } catch (e) {
    return `the secrets folder cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  let p = dir;
  for (let i = 0; i < below.length; i++) {
    p = path.join(p, below[i]);
    try {
      st = fs.lstatSync(p);
    } catch (e) {
      return `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
    }
    if (st.isSymbolicLink()) return `${i === below.length - 1 ? 'the file' : 'a folder on its path'} is a symbolic link; secret files and their folders below the secrets folder must be plain`;
    if (i < below.length - 1 && !st.isDirectory()) return 'a folder on its path is not a folder';
  }
  if (!st!.isFile()) return 'not a regular file';
  let fd: number;
  try {
    fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    return `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  try {
    const f = fs.fstatSync(fd);
    if (f.ino !== st!.ino || f.dev !== st!.dev || !f.isFile()) return 'the file changed while it was read';
    if (key && f.ino === key.ino && f.dev === key.dev) return "it is the gateway's private key";
    if (f.mode & 0o077) return `the file is readable or writable by group or others (mode ${(f.mode & 0o777).toString(8).padStart(4, '0')}); chmod 600 it`;
    if (f.size > MAX_SECRET_BYTES) return `it is ${f.size} bytes; a secret is at most ${MAX_SECRET_BYTES}`;
    // One byte more than the cap: a file that grew since fstat is still caught.
    const buf = Buffer.alloc(MAX_SECRET_BYTES + 1);
    let n = 0;
    for (let r; n < buf.length && (r = fs.readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    return buf.subarray(0, n);
  } catch (e) {
    return `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * What the host's current release resolved: its secrets.refs and secrets.conf (staged by an earlier apply, in the
 * root-only state folder, like the files stage links from it), its tenants, and the tenants whose generated lines
 * may differ in the new bundle (added, removed, digest moved). With it, apply resolves only those tenants' references.
 */
export interface PriorSecrets {
  refs: string;
  conf: string;
  tenants: Record<string, { connections: string[] }>;
  touched: string[];
}

/** secrets.refs opens each tenant's lines with `# tenant NAME (FILE)`. */
const REFS_MARKER = NFT_MARKER;

/**
 * More added tenants than this: each would search the whole file for references it now owns (an added tenant a-b
 * owns env:A_B_* of tenant a); resolving every reference is then the cheaper check.
 */
const INCREMENTAL_ADDED_MAX = 32;

/**
 * Resolves every reference in secrets.refs on this host and returns the swanctl secrets block. Each reference is
 * checked first against its tenant's scope (src/model/secret-scope.ts) with the bundle's tenants, then on the
 * host: files without following links, small, one line of text. Collects every problem; a message names the
 * reference, the connection and the tenant, never a value.
 *
 * With `prior` (the current release's, not on a first apply or --full) only the touched tenants' references are
 * resolved: every other line must be the same bytes as in the current release's secrets.refs (compared, not taken
 * from the digests), and keeps the value that release resolved and checked when it was applied. An added tenant's
 * names are looked for in the other tenants' lines (it may own one of them now). The result is the same text as
 * resolving everything while no secret changed in place; a secret changed under the same reference is taken up by
 * `apply --full` (a rotation names a new reference: docs/psk-rotation.md). Falls back to resolving everything when
 * the two files cannot be lined up (the head or the secrets folder changed, a block is not where it should be).
 */
export function resolveSecrets(refsText: string | undefined, env: NodeJS.ProcessEnv, runner: Pick<Runner, 'host'>, scope: SecretScope, prior?: PriorSecrets): string {
  if (refsText === undefined) return 'secrets {\n}\n';
  const problems: string[] = [];
  let dir: string;
  try {
    dir = refsSecretsDir(refsText) ?? DEFAULT_SECRETS_DIR;
  } catch (e) {
    throw new StepError('secrets', (e as Error).message);
  }
  const dirProblem = secretsDirProblem(dir);
  if (dirProblem) throw new StepError('secrets', `secrets.refs names the secrets folder ${JSON.stringify(dir)}, which cannot be one: ${dirProblem}; nothing was changed`);
  const tenants = scopeIndex(Object.keys(scope.tenants));
  let key: fs.Stats | undefined;
  try {
    if (scope.privateKey) key = fs.statSync(runner.host(scope.privateKey));
  } catch {
    /* no key on this host: checkPrivateKey says so when a connection needs it */
  }
  const resolver = (owner: (connection: string) => string | undefined) => refResolver(env, runner, dir, tenants, key, owner, problems);
  let conf: string | undefined;
  try {
    if (prior) conf = resolveTouched(refsText, dir, scope, prior, tenants, resolver, problems);
    if (conf === undefined) {
      problems.length = 0;
      const owner = new Map<string, string>();
      for (const [t, d] of Object.entries(scope.tenants)) for (const c of d.connections) owner.set(c, t);
      conf = formatSecrets(refsText, resolver((c) => owner.get(c)));
    }
  } catch (e) {
    throw new StepError('secrets', (e as Error).message);
  }
  if (problems.length) throw new StepError('secrets', `${problems.length} secret reference${problems.length === 1 ? '' : 's'} cannot be used; nothing was changed`, problems.join('\n'));
  return conf;
}

/**
 * Whether `a` without its spans is the same text as `b` without its spans (spans sorted, not overlapping; false when
 * they overlap). Compared piece by piece where the pieces line up: slices of a flat string share its bytes, where
 * joining the pieces copied both 2 MB files (10,000 tenants) into new strings to compare them.
 */
function sameOutside(a: string, as: Array<{ s: [number, number] }>, b: string, bs: Array<{ s: [number, number] }>): boolean {
  const pieces = (text: string, sp: Array<{ s: [number, number] }>): Array<[number, number]> | undefined => {
    const out: Array<[number, number]> = [];
    let at = 0;
    for (const { s } of sp) {
      if (s[0] < at) return undefined;
      if (s[0] > at) out.push([at, s[0]]);
      at = s[1];
    }
    if (at < text.length) out.push([at, text.length]);
    return out;
  };
  const pa = pieces(a, as);
  const pb = pieces(b, bs);
  if (!pa || !pb) return false;
  let total = 0;
  for (const [x, y] of pa) total += y - x;
  for (const [x, y] of pb) total -= y - x;
  if (total !== 0) return false;
  // Walk both piece lists, comparing the overlap of the current pieces.
  let i = 0;
  let j = 0;
  let ia = pa.length ? pa[0][0] : 0;
  let jb = pb.length ? pb[0][0] : 0;
  while (i < pa.length && j < pb.length) {
    const n = Math.min(pa[i][1] - ia, pb[j][1] - jb);
    if (a.slice(ia, ia + n) !== b.slice(jb, jb + n)) return false;
    ia += n;
    jb += n;
    if (ia === pa[i][1] && ++i < pa.length) ia = pa[i][0];
    if (jb === pb[j][1] && ++j < pb.length) jb = pb[j][0];
  }
  return i === pa.length && j === pb.length;
}

/**
 * Whether sorted `edits` leave `conf` as it is: each is a run taken out followed by an insertion, at the run's end, of
 * the very text taken out. Anything else (adjacent runs sorted apart, a block moved or changed) says no, and the
 * caller joins the pieces.
 */
function putsBack(conf: string, edits: ReadonlyArray<{ at: number; end: number; text: string }>): boolean {
  if (edits.length % 2 !== 0) return false;
  for (let k = 0; k < edits.length; k += 2) {
    const cut = edits[k];
    const put = edits[k + 1];
    if (cut.text !== '' || cut.end <= cut.at) return false;
    if (put.at !== cut.end || put.end !== put.at || conf.slice(cut.at, cut.end) !== put.text) return false;
  }
  return true;
}

type Resolve = (ref: string, kind: SecretKind, connection: string) => string | undefined;

/** One reference's value on this host, checked (scope, then the host's file or variable), or undefined with its problem recorded. */
function refResolver(env: NodeJS.ProcessEnv, runner: Pick<Runner, 'host'>, dir: string, tenants: ScopeIndex, key: fs.Stats | undefined, owner: (connection: string) => string | undefined, problems: string[]): Resolve {
  // Files are read once per reference; environment variables are looked up where used (a hash lookup).
  const files = new Map<string, string | undefined>();
  const fromBytes = (bytes: Buffer | string, where: () => string): string | undefined => {
    const v = typeof bytes === 'string' ? { problem: bytes } : secretValue(bytes);
    if ('problem' in v) {
      problems.push(`${where()}: ${v.problem}`);
      return undefined;
    }
    return v.value;
  };
  return (ref, kind, connection) => {
    const tenant = owner(connection);
    // Built only for a problem: 30,000 references at 10,000 tenants.
    const where = () => `${shownRef(ref)} (${kind} of connection ${connection}${tenant === undefined ? '' : `, tenant ${tenant}`})`;
    if (tenant === undefined) {
      problems.push(`${where()}: the connection belongs to no tenant of the manifest`);
      return undefined;
    }
    const s = scopeRef(ref, tenant, tenants, dir);
    let value: string | undefined;
    if (!s.ok) problems.push(`${where()}: outside tenant ${tenant}'s secrets: ${s.problem}`);
    else if (s.kind === 'env') {
      // Own properties only: env:constructor must not find Object.prototype's. One lookup (src/util/env.ts answers a
      // large environment's from its text: hasOwn, then a get, searched the 1.4 MB twice per reference).
      const v = Object.getOwnPropertyDescriptor(env, s.name)?.value as string | undefined;
      if (v === undefined) problems.push(`${where()}: environment variable ${s.name} is not set`);
      else {
        const t = secretText(v);
        if ('problem' in t) problems.push(`${where()}: ${t.problem}`);
        else value = t.value;
      }
    } else if (files.has(s.path)) value = files.get(s.path);
    else {
      value = fromBytes(readScopedFile(runner.host(dir), s.below, key), where);
      files.set(s.path, value);
    }
    if (value === undefined) return undefined;
    if (!value.length) problems.push(`${where()}: the secret is empty`);
    else if (kind === 'psk' && value.length < 2 * MIN_PSK && [...value].length < MIN_PSK) problems.push(`${where()}: a PSK must be at least ${MIN_PSK} characters`);
    else return value;
    return undefined;
  };
}

const CONF_OPEN = 'secrets {\n';
const CONF_CLOSE = '}\n';

/** A reference line's connection and whether the line is one (not a comment, an `@` line or empty). */
function refLineConnection(line: string): string | undefined {
  const c = line.charCodeAt(0);
  if (!line.trim() || c === 35 || c === 64) return undefined;
  const sp = line.indexOf(' ');
  return sp < 0 ? line : line.slice(0, sp);
}

/**
 * resolveSecrets for the touched tenants only, the other blocks taken from the current release's secrets.conf; the
 * same text resolving everything gives. Undefined when the two releases cannot be lined up: resolve everything.
 */
function resolveTouched(refsText: string, dir: string, scope: SecretScope, prior: PriorSecrets, idx: ScopeIndex, resolver: (owner: (c: string) => string | undefined) => Resolve, problems: string[]): string | undefined {
  const touched = new Set(prior.touched);
  const spans = (text: string) =>
    prior.touched
      .map((t) => ({ t, s: sectionSpan(text, REFS_MARKER, t) }))
      .filter((x): x is { t: string; s: [number, number] } => x.s !== undefined)
      .sort((a, b) => a.s[0] - b.s[0]);
  const newSpans = spans(refsText);
  // The same file (engine.ts hands the one string for both when the bytes are equal): the same spans, the same rest.
  const oldSpans = prior.refs === refsText ? newSpans : spans(prior.refs);
  // Every line outside the touched tenants' sections, the head (secrets folder) included, the same bytes as before.
  if (oldSpans !== newSpans && !sameOutside(prior.refs, oldSpans, refsText, newSpans)) return undefined;
  const conf = prior.conf;
  if (!conf.startsWith(CONF_OPEN) || !conf.endsWith(CONF_CLOSE)) return undefined;
  const blockAt = (c: string): [number, number] | undefined => {
    for (const k of ['ike', 'eap']) {
      const i = conf.indexOf(`\n  ${k}-${c} {\n`);
      if (i < 0) continue;
      const e = conf.indexOf('\n  }\n', i);
      return e < 0 ? undefined : [i + 1, e + 5];
    }
    return undefined;
  };
  // The tenant a line of the new file is under, and whether the manifest agrees that the connection is that tenant's.
  const ownerOf = (text: string, at: number, conn: string): string | undefined => {
    const m = text.lastIndexOf(`\n${REFS_MARKER.prefix}`, at);
    if (m < 0) return undefined;
    const from = m + 1 + REFS_MARKER.prefix.length;
    const t = text.slice(from, text.indexOf(REFS_MARKER.after, from));
    return scope.tenants[t]?.connections.includes(conn) ? t : undefined;
  };
  // An added tenant may own a name another tenant's unchanged line uses (tenant a-b added next to a's env:A_B_X).
  const added = prior.touched.filter((t) => !Object.hasOwn(prior.tenants, t) && Object.hasOwn(scope.tenants, t));
  if (added.length > INCREMENTAL_ADDED_MAX) return undefined;
  for (const n of added) {
    for (const needle of [` env:${envPrefix(n)}`, ` file:${refToken(`${dir}/${n}`)}`]) {
      for (let at = refsText.indexOf(needle); at >= 0; at = refsText.indexOf(needle, at + 1)) {
        const ls = refsText.lastIndexOf('\n', at) + 1;
        const le = refsText.indexOf('\n', at);
        for (const r of parseRefs(refsText.slice(ls, le < 0 ? refsText.length : le))) {
          const t = ownerOf(refsText, ls, r.connection);
          if (t === undefined) return undefined;
          if (touched.has(t)) continue;
          const s = scopeRef(r.ref, t, idx, dir);
          if (!s.ok) problems.push(`${shownRef(r.ref)} (${r.kind} of connection ${r.connection}, tenant ${t}): outside tenant ${t}'s secrets: ${s.problem}`);
        }
      }
    }
  }
  // The touched tenants' blocks taken out of the current release's secrets.conf: each tenant's blocks are one run.
  const edits: Array<{ at: number; end: number; text: string; order: number }> = [];
  for (const { t, s } of oldSpans) {
    const lines = prior.refs.slice(s[0], s[1]).split('\n');
    const conns = lines.map(refLineConnection).filter((c): c is string => c !== undefined);
    if (!conns.length) continue;
    const found = conns.map(blockAt);
    if (found.some((f) => f === undefined)) return undefined;
    const b = (found as Array<[number, number]>).sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < b.length; i++) if (b[i][0] !== b[i - 1][1]) return undefined;
    if (!Object.hasOwn(prior.tenants, t)) return undefined;
    edits.push({ at: b[0][0], end: b[b.length - 1][1], text: '', order: 0 });
  }
  // Their new blocks, each where the next untouched tenant's first block is (or at the end).
  const head = headOf(refsText, REFS_MARKER);
  // Lines before the first tenant's section would be resolved with each tenant's: a file s2sgw never writes.
  if (head.split('\n').some((l) => refLineConnection(l) !== undefined)) return undefined;
  const owners = new Map<string, string>();
  for (const { t } of newSpans) for (const c of scope.tenants[t]?.connections ?? []) owners.set(c, t);
  const resolve = resolver((c) => owners.get(c));
  newSpans.forEach(({ s }, i) => {
    const block = formatSecrets(head + refsText.slice(s[0], s[1]), resolve).slice(CONF_OPEN.length, -CONF_CLOSE.length);
    if (!block) return;
    let at = conf.length - CONF_CLOSE.length;
    let inTouched = false;
    for (let ls = s[1]; ls < refsText.length; ) {
      let le = refsText.indexOf('\n', ls);
      if (le < 0) le = refsText.length;
      const line = refsText.slice(ls, le);
      if (line.startsWith(REFS_MARKER.prefix)) inTouched = touched.has(line.slice(REFS_MARKER.prefix.length, line.indexOf(REFS_MARKER.after)));
      else if (!inTouched) {
        const c = refLineConnection(line);
        if (c !== undefined) {
          const b = blockAt(c);
          if (!b) {
            at = -1;
            break;
          }
          at = b[0];
          break;
        }
      }
      ls = le + 1;
    }
    edits.push({ at, end: at, text: block, order: i + 1 });
  });
  if (edits.some((e) => e.at < 0)) return undefined;
  edits.sort((x, y) => x.at - y.at || x.order - y.order);
  // Each touched tenant's blocks resolved to the very text they had (a change that moves no secret: a route, a
  // proposal): the current release's string itself. stage then links its file and compare finds the two the same
  // string, where equal text joined from pieces was 4.5 MB (10,000 tenants) to copy flat and compare, twice.
  if (putsBack(conf, edits)) return conf;
  let out = '';
  let pos = 0;
  for (const e of edits) {
    if (e.at < pos) return undefined;
    out += conf.slice(pos, e.at) + e.text;
    pos = e.end;
  }
  return out + conf.slice(pos);
}

/** Where swanctl's private/ folder is on the host: apply links the gateway identity's key there. */
export const SWANCTL_PRIVATE = '/etc/swanctl/private';

/**
 * The gateway identity's private key named by swanctl/private.refs: it must exist and be readable by
 * root alone before anything changes. Returns the link to make under swanctl's private/ folder.
 */
export function checkPrivateKey(refsText: string | undefined, runner: Pick<Runner, 'host'>): { key: string; link: string } | undefined {
  if (refsText === undefined) return undefined;
  const refs = parsePrivateRefs(refsText);
  if (!refs) throw new StepError('secrets', 'swanctl/private.refs has no `key PATH link NAME` line');
  try {
    const st = fs.statSync(runner.host(refs.key));
    if (!st.isFile()) throw new StepError('secrets', `the gateway's private key ${refs.key} is not a regular file; nothing was changed`);
    if (st.mode & 0o077) throw new StepError('secrets', `the gateway's private key ${refs.key} is readable or writable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); chmod 600 it; nothing was changed`);
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw new StepError('secrets', `the gateway's private key ${refs.key} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}); certificate and EAP connections need it; nothing was changed`);
  }
  return refs;
}

/**
 * Whether releases/<digest> already holds this bundle with these secrets (a re-applied or reverted bundle). Like
 * the current release that stage links from, a release folder is trusted to hold what its manifest says once
 * staged (made under a temporary name, renamed whole, never written in place, root's alone): the manifest and
 * secrets are compared and every listed file must be there, but 10,000 files are not hashed again.
 */
function sameRelease(dir: string, b: VerifiedBundle, secrets: string): boolean {
  try {
    if (!fs.readFileSync(path.join(dir, MANIFEST)).equals(b.manifestBytes) || fs.readFileSync(path.join(dir, SECRETS_CONF), 'utf8') !== secrets) return false;
    const { files, odd } = walk(dir, true);
    const want = Object.keys(b.manifest.files);
    const have = new Set(files);
    return !odd.length && files.length === want.length + 2 && want.every((p) => have.has(p));
  } catch {
    return false;
  }
}

/** At most this many files in flight at once while staging (libuv's threads do the writes). */
const STAGE_PARALLEL = 16;

/**
 * Creates `file` (it must not exist) with `content` and `mode`, on libuv's threads; not synced: stage() syncs the
 * file system once after the last write (syncFiles), where an fsync per file took 40 % of staging 20,000 files.
 */
async function writeNewAsync(file: string, content: string | Buffer, mode: number): Promise<void> {
  const fh = await fs.promises.open(file, 'wx', mode);
  try {
    await fh.writeFile(content);
    await fh.chmod(mode);
  } finally {
    await fh.close();
  }
}

/** At most this many bytes of a pieced file's unchanged runs are read and written at once. */
const COPY_SLICE = 1 << 20;

/** Writes the first `len` bytes of `b` at the file's position (a write may take fewer bytes than it was given). */
async function writeAll(fh: fs.promises.FileHandle, b: Buffer, len: number): Promise<void> {
  for (let o = 0; o < len; ) o += (await fh.write(b, o, len - o)).bytesWritten;
}

/**
 * Writes a pieced file (it must not exist): the parts verify read from the bundle as they are, the unchanged runs read
 * from the current release's copy through one buffer, each part checked against its sha256 before it is written
 * (so a damaged release copy never reaches a new release). Throws at the first part that does not match.
 */
async function writePieced(file: string, f: PiecedFile): Promise<void> {
  const src = await fs.promises.open(f.reused, 'r');
  try {
    const fh = await fs.promises.open(file, 'wx', f.mode);
    try {
      const buf = Buffer.allocUnsafe(COPY_SLICE);
      for (const x of f.pieces) {
        if (x.bytes) {
          await writeAll(fh, x.bytes, x.bytes.length);
          continue;
        }
        let at = x.at!;
        for (let i = 0; i < x.parts.length; ) {
          // Whole parts up to COPY_SLICE bytes (a part is at most 128 KiB).
          let len = 0;
          let j = i;
          while (j < x.parts.length && (j === i || len + x.parts[j][0] <= COPY_SLICE)) len += x.parts[j++][0];
          const slice = len <= COPY_SLICE ? buf : Buffer.allocUnsafe(len);
          for (let got = 0; got < len; ) {
            const { bytesRead } = await src.read(slice, got, len - got, at + got);
            if (bytesRead <= 0) throw new Error(`${f.reused}: shorter than its manifest's parts`);
            got += bytesRead;
          }
          for (let o = 0; i < j; i++) {
            const [n, sha] = x.parts[i];
            if (sha256(slice.subarray(o, o + n)) !== sha) throw new Error(`${f.reused}: a part does not match its sha256`);
            o += n;
          }
          await writeAll(fh, slice, len);
          at += len;
        }
      }
      await fh.chmod(f.mode);
    } finally {
      await fh.close();
    }
  } finally {
    await src.close();
  }
}

/**
 * Up to this many written files are made durable by an fsync each (16 in flight, then one of each folder they are
 * in); more (a first apply, `--full` of a new bundle: 20,000 files) by one syncfs(2) of their file system. syncfs
 * flushes every dirty page of the file system, not only stage's: the bundle copied to the host just before (80 MB at
 * 10,000 tenants), other programs' writes. A one-tenant change writes a shard of about N/64 connection files and
 * summaries and the changed gateway-wide files, and its `sync -f` took 0.2-1.4 s of a 10,000-tenant apply waiting on
 * writes that were not its own.
 */
export const stageSync = { fsyncMax: 1024 };

/**
 * Makes every file staging wrote durable before the release is renamed into place: an fsync of each file and of
 * the folders they are in (few files: stageSync.fsyncMax), or one syncfs(2) of the file system holding them
 * (`sync -f`, coreutils), else (no `sync`, or it failed) an fsync of each.
 */
async function syncFiles(files: string[], dirs: Iterable<string> = []): Promise<void> {
  if (!files.length) return;
  const few = files.length <= stageSync.fsyncMax;
  const ok =
    !few &&
    (await new Promise<boolean>((resolve) => {
      // Not the apply's environment: it holds the PSKs, and handing 30,000 variables to a child took 2-3 s of the stage
      // at 10,000 tenants (node reads each from the process's environment, a linear search each).
      const c = spawn('sync', ['-f', files[0]], { stdio: 'ignore', env: childEnv() });
      c.on('error', () => resolve(false));
      c.on('close', (code) => resolve(code === 0));
    }));
  if (ok) return;
  // Files first, then their folders (the new names in them): a folder synced before a file is created in it would not hold it.
  const fsyncAll = async (list: string[]) => {
    const left = [...list];
    const pool = async () => {
      for (let f = left.pop(); f !== undefined; f = left.pop()) {
        const fh = await fs.promises.open(f, 'r');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(STAGE_PARALLEL, left.length) }, pool));
  };
  await fsyncAll(files);
  await fsyncAll([...new Set([...files.map((f) => path.dirname(f)), ...dirs])]);
}

/**
 * A release being staged: every bundle file written (synced) or hard-linked into a temporary folder, and the shard
 * folders made, while the caller goes on; stage() then adds secrets.conf and renames the shard folders and the release.
 */
export interface Staging {
  tmp: string;
  /** Settles when every file is in place; never rejects (the error is kept for stage()). */
  done: Promise<void>;
  error?: unknown;
  /** Shard folders being made under temporary names: removed when staging fails. */
  made: string[];
  /** Each temporary shard folder and its name once the release is staged. */
  renames: Array<[string, string]>;
  /** The files written (not linked): synced once by stage() before the renames. */
  written: string[];
  /** The folders made (their entries: written files, links, shard symlinks), synced with the files when they are few. */
  dirs: Set<string>;
}

/**
 * Starts staging `b` as releases/<digest>/ without its secrets: the bundle's files are written by libuv's threads
 * (about 80 MB at 10,000 tenants; synced once, by stage()) while the main thread resolves the secrets. Undefined when
 * releases/<digest> already exists: stage() then checks whether it holds this bundle with these secrets.
 */
export function beginStage(b: VerifiedBundle, l: Layout, runner: Runner, reuse?: Release | null): Staging | undefined {
  fs.mkdirSync(l.releases, { recursive: true, mode: 0o700 });
  if (fs.existsSync(path.join(l.releases, b.digest))) return undefined;
  const tmp = path.join(l.releases, `.stage-${randomBytes(4).toString('hex')}`);
  // Folders made so far: 10,000 files in a handful of folders need a handful of mkdirs, not 10,000.
  const dirs = new Set<string>();
  const st: Staging = { tmp, done: Promise.resolve(), made: [], renames: [], written: [], dirs };
  const mkdir = (d: string) => {
    if (dirs.has(d)) return;
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    dirs.add(d);
  };
  const jobs: Array<() => Promise<void>> = [];
  // A file the current release holds with the same sha256 and mode is hard-linked, not copied (releases are never
  // written in place); a link that fails (the release's copy is gone) falls back to writing.
  const place = (f: VerifiedBundle['files'][number], at: string) => {
    mkdir(path.dirname(at));
    const canLink = !!reuse && sameFile(reuse.manifest.files[f.path], b.manifest.files[f.path]);
    jobs.push(async () => {
      runner.diskFull('stage');
      if (canLink) {
        try {
          // No lstat first: stage made the release's files with these modes, and a missing one fails the link.
          await fs.promises.link(releasePath(reuse!, f.path), at);
          return;
        } catch {
          /* written below */
        }
      }
      // A pieced file's unchanged runs are copied from the current release's copy, their parts checked on the way;
      // a part that does not match (the release's copy damaged) leaves it to loadContent (the bundle's copy, checked whole).
      if (f instanceof PiecedFile && !f.content)
        try {
          await writePieced(at, f);
          st.written.push(at);
          return;
        } catch {
          await fs.promises.rm(at, { force: true });
        }
      await writeNewAsync(at, loadContent(b, f), f.mode);
      st.written.push(at);
    });
  };
  // A shard whose files the current release holds, every one and no other (none of its files is gone), is the current
  // release's shard folder: its name is read from the link, not hashed again (20,000 files at 10,000 tenants).
  // Shards (shardKey) with a file the current release holds and the bundle does not, or with a file it does not lend.
  const changed = new Set<number>();
  if (reuse && !reuse.flat)
    for (const p in reuse.manifest.files) {
      if (b.manifest.files[p]) continue;
      const k = shardKey(p);
      if (k >= 0) changed.add(k);
    }
  const sameShard = (k: number): string | undefined => {
    if (!reuse || reuse.flat || changed.has(k)) return undefined;
    try {
      return path.basename(fs.readlinkSync(path.join(reuse.dir, ...shardFolder(k).split('/'))));
    } catch {
      return undefined;
    }
  };
  try {
    mkdir(tmp);
    // By shardKey: swanctl/conf.d/00-63, then summaries/00-63.
    const shards: Array<Array<VerifiedBundle['files'][number]> | undefined> = [];
    for (const f of b.files) {
      const k = shardKey(f.path);
      if (k < 0) place(f, path.join(tmp, ...f.path.split('/')));
      else {
        (shards[k] ??= []).push(f);
        if (!(f instanceof ReusedFile)) changed.add(k);
      }
    }
    jobs.push(async () => {
      await writeNewAsync(path.join(tmp, MANIFEST), b.manifestBytes, 0o644);
      st.written.push(path.join(tmp, MANIFEST));
    });
    // Each shard folder is named by the digest of its files' names, sha256s and modes: one that exists holds them.
    for (let k = 0; k < shards.length; k++) {
      const files = shards[k];
      if (!files) continue;
      const digest = sameShard(k) ?? createHash('sha256').update(files.map((f) => `${f.path}\0${b.manifest.files[f.path].sha256}\0${f.mode}\n`).join('')).digest('hex');
      const dir = path.join(l.shards, digest);
      if (!fs.existsSync(dir)) {
        mkdir(l.shards);
        const sd = path.join(l.shards, `.stage-${randomBytes(4).toString('hex')}`);
        st.made.push(sd);
        mkdir(sd);
        for (const f of files) place(f, path.join(sd, sharded(f.path)!.name));
        st.renames.push([sd, dir]);
      }
      // releases/<r>/swanctl/conf.d/NN -> ../../../../shards/<digest>; releases/<r>/summaries/NN -> ../../../shards/<digest>.
      const folder = shardFolder(k).split('/');
      const link = path.join(tmp, ...folder);
      mkdir(path.dirname(link));
      fs.symlinkSync(path.join(...folder.map(() => '..'), '..', 'shards', digest), link);
    }
    // The first failure stops the queue; `done` settles only when no write is in flight any more.
    const pool = async () => {
      for (let job = jobs.shift(); job; job = jobs.shift()) {
        try {
          await job();
        } catch (e) {
          st.error ??= e;
          jobs.length = 0;
        }
      }
    };
    st.done = Promise.all(Array.from({ length: Math.min(STAGE_PARALLEL, jobs.length) }, pool)).then(() => undefined);
  } catch (e) {
    st.error = e;
  }
  return st;
}

/** Undoes a staging that will not be finished (secrets could not be resolved): its folders go once its writes settle. */
export async function abortStage(st: Staging | undefined): Promise<void> {
  if (!st) return;
  await st.done;
  fs.rmSync(st.tmp, { recursive: true, force: true });
  for (const d of st.made) fs.rmSync(d, { recursive: true, force: true });
}

/** stage()'s secrets.conf in the staging folder: a hard link to the current release's when it holds the same text, else written (not synced: stage() syncs it with the rest). */
async function placeSecrets(conf: string, secrets: string, st: Staging, reuse: Release | null | undefined): Promise<void> {
  const dir = path.dirname(conf);
  if (!st.dirs.has(dir)) {
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    st.dirs.add(dir);
  }
  // The current release's text as the secrets step read it (held, not read again); a release is never written in place.
  if (reuse && readReleaseFile(reuse, SECRETS_CONF) === secrets) {
    try {
      await fs.promises.link(releasePath(reuse, SECRETS_CONF), conf);
      return;
    } catch {
      /* written below */
    }
  }
  await writeNewAsync(conf, secrets, 0o600);
  st.written.push(conf);
}

/**
 * Stages a verified bundle as releases/<digest>/ (mode 0700; secrets.conf 0600): written under a temporary
 * name, then renamed, so a release folder is whole or absent. The same bundle with the same secrets reuses
 * its folder; with other secrets (a rotation) it gets releases/<digest>.<n>/. `started` is beginStage's work.
 */
export async function stage(b: VerifiedBundle, secrets: string, l: Layout, runner: Runner, reuse?: Release | null, started?: Staging): Promise<Release> {
  let name = b.digest;
  let st = started;
  if (!st) {
    fs.mkdirSync(l.releases, { recursive: true, mode: 0o700 });
    for (let n = 1; fs.existsSync(path.join(l.releases, name)); n++) {
      const dir = path.join(l.releases, name);
      if (sameRelease(dir, b, secrets)) return { name, dir, manifest: b.manifest, flat: !hasShards(dir) };
      name = `${b.digest}.${n}`;
    }
    st = beginStage({ ...b, digest: name }, l, runner, reuse);
  }
  const tmp = st!.tmp;
  const conf = path.join(tmp, ...SECRETS_CONF.split('/'));
  // secrets.conf (4.5 MB at 10,000 tenants) is the current release's file when that holds these very secrets (a change
  // that touches none: replace, rekey, hitless): hard-linked, not written and synced again. Otherwise it is written on
  // libuv's threads while the bundle's last files are, and synced with them.
  const confJob = st!.error ? Promise.resolve() : placeSecrets(conf, secrets, st!, reuse);
  try {
    const [, confError] = await Promise.all([st!.done, confJob.then(() => undefined, (e: unknown) => e ?? new Error('secrets.conf'))]);
    if (st!.error) throw st!.error;
    if (confError) throw confError;
    await syncFiles(st!.written, st!.dirs);
    runner.diskFull('stage');
    remember(conf, { text: secrets });
    for (const [from, to] of st!.renames) {
      fs.renameSync(from, to);
      st!.made.splice(st!.made.indexOf(from), 1);
    }
    fs.chmodSync(tmp, 0o700);
    fs.renameSync(tmp, path.join(l.releases, name));
  } catch (e) {
    await abortStage(st);
    if (e instanceof StepError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new StepError('stage', `cannot stage the release in ${l.releases}${code === 'ENOSPC' ? ': the disk is full' : ''}`, (e as Error).message);
  }
  // The bytes verify (or a later read) already holds, without touching the disk.
  return { name, dir: path.join(l.releases, name), manifest: b.manifest, read: (p) => fileOf(b, p)?.content, patched: (p) => patchedOf(b, p) };
}

/**
 * secrets.conf of the releases one apply reads: the current release's by secrets, compare and reload-strongswan, the
 * new one's (as stage wrote it) by compare and reload-strongswan; 4.5 MB each at 10,000 tenants, read and decoded
 * five times over before. Keyed by the file's device, inode, size and change time (stat), so a file that is not the
 * one read (a release staged again under its name, a file replaced) is read afresh. Two entries: the two releases.
 */
interface Held {
  key: string;
  bytes?: Buffer;
  text?: string;
}
const held: Held[] = [];
const CACHED = new Set([SECRETS_CONF]);

function statKey(file: string): string {
  const st = fs.statSync(file, { bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

function heldFor(file: string): Held {
  const key = statKey(file);
  let h = held.find((x) => x.key === key);
  if (!h) {
    h = { key };
    held.unshift(h);
    held.length = Math.min(held.length, 2);
  }
  return h;
}

function remember(file: string, content: { text: string }): void {
  try {
    heldFor(file).text = content.text;
  } catch {
    /* read from the disk then */
  }
}

/** A release's file, or undefined when there is no release or no such file. */
export function readReleaseBytes(r: Release | null, rel: string): Buffer | undefined {
  if (!r) return undefined;
  try {
    const file = releasePath(r, rel);
    if (!CACHED.has(rel)) return fs.readFileSync(file);
    const h = heldFor(file);
    return (h.bytes ??= h.text !== undefined ? Buffer.from(h.text) : fs.readFileSync(file));
  } catch {
    return undefined;
  }
}

/**
 * Whether two releases' copies of a file (absent counts) hold the same bytes. A file held as text (secrets.conf: the
 * current release's as the secrets step read it, the new one's as stage wrote it) is compared as text, not turned
 * back into 4.5 MB Buffers first.
 */
export function sameReleaseFile(a: Release | null, b: Release | null, rel: string): boolean {
  if (CACHED.has(rel)) {
    // Strings compare by content (a flat one-byte string's is a memcmp); absent is undefined on either side. stage
    // writes the file from a string of ids and base64 values, so equal text is equal bytes.
    return readReleaseFile(a, rel) === readReleaseFile(b, rel);
  }
  const x = readReleaseBytes(a, rel);
  const y = readReleaseBytes(b, rel);
  return x === undefined || y === undefined ? x === y : x.equals(y);
}

/** A release's file as text, or undefined when there is no release or no such file. */
export function readReleaseFile(r: Release | null, rel: string): string | undefined {
  if (!r) return undefined;
  if (!CACHED.has(rel)) return readReleaseBytes(r, rel)?.toString('utf8');
  try {
    const file = releasePath(r, rel);
    const h = heldFor(file);
    if (h.text === undefined) h.text = (h.bytes ??= fs.readFileSync(file)).toString('utf8');
    return h.text;
  } catch {
    return undefined;
  }
}

/**
 * Opens an existing release folder (its manifest re-read; files re-verified when `verify`). With `like` (the bundle
 * being applied: its manifest's bytes and the manifest parsed from them), the release's manifest is made from that
 * one and the lines in which the two differ (deriveManifest), not parsed whole.
 */
export function openRelease(l: Layout, name: string | null, verify = false, like?: { bytes: Buffer; manifest: Manifest }): Release | null {
  if (name === null) return null;
  const dir = path.join(l.releases, name);
  if (verify) {
    const v = verifyBundle(dir, { allowExtra: [SECRETS_CONF], release: true });
    return { name, dir, manifest: v.manifest, flat: !hasShards(dir) };
  }
  const r: Release = { name, dir, manifest: undefined as unknown as Manifest, flat: !hasShards(dir) };
  const bytes = fs.readFileSync(path.join(dir, MANIFEST));
  const read = (t: string) => readSummary(() => fs.readFileSync(releasePath(r, summaryPath(t))));
  r.manifest = (like && deriveManifest(bytes, like.bytes, like.manifest, read)) || parseManifest(bytes, read);
  return r;
}

/** What pruneReleases removes: the releases to discard, and the history that names none of them. */
export interface PrunePlan {
  discard: string[];
  history: State['history'];
}

/**
 * The releases pruneReleases would discard with `state` as the host's (the commit plans with the state it is about to
 * write, so that one durable write holds the pruned history), and that state's history without them.
 */
export function planPrune(l: Layout, protect: Array<string | null>, keep = 5, state: Pick<State, 'current' | 'history'> = readState(l)): PrunePlan {
  let names: string[];
  try {
    names = fs.readdirSync(l.releases);
  } catch {
    return { discard: [], history: state.history.slice(-HISTORY_MAX) };
  }
  // Never the current release, the one a plain rollback goes to, or one waiting for its confirm.
  const kept = new Set([...protect, state.current, state.history.at(-2)?.release, readPending(l)?.release].filter((n): n is string => !!n));
  // Newest first: the last time a release became current, or when it was staged.
  const lastUsed = new Map<string, number>();
  for (const h of state.history) lastUsed.set(h.release, Math.max(lastUsed.get(h.release) ?? 0, Date.parse(h.at) || 0));
  const releases = names
    .filter((n) => !n.startsWith('.'))
    .map((n) => ({ n, t: Math.max(fs.statSync(path.join(l.releases, n)).mtimeMs, lastUsed.get(n) ?? 0) }))
    .sort((a, b) => b.t - a.t || (a.n < b.n ? -1 : 1));
  const discard = releases.slice(Math.max(keep, 1)).map(({ n }) => n).filter((n) => !kept.has(n));
  const gone = new Set(discard);
  // The history names only releases the host still holds (a rollback goes to one of them), and not without end.
  return { discard, history: state.history.filter((h) => !gone.has(h.release)).slice(-HISTORY_MAX) };
}

/**
 * Removes half-staged folders and releases other than the ones to keep (the newest `keep` by mtime stay too).
 * With `planned` (planPrune's, whose history the caller wrote to the state file), those releases are discarded and
 * the state file is left as it is.
 */
export function pruneReleases(l: Layout, protect: Array<string | null>, keep = 5, planned?: PrunePlan): void {
  if (!fs.existsSync(l.releases)) return;
  for (const n of fs.readdirSync(l.releases)) if (n.startsWith('.stage-')) fs.rmSync(path.join(l.releases, n), { recursive: true, force: true });
  const state = planned ? undefined : readState(l);
  const plan = planned ?? planPrune(l, protect, keep, state);
  const trash = plan.discard.map((n) => discard(l.releases, n));
  if (state && plan.history.length !== state.history.length) writeState(l, { current: state.current, history: plan.history });
  trash.push(...pruneShards(l));
  removeLater(l, trash);
}

/** Names under releases/ and shards/ of folders on their way out (renamed there by discard). */
const TRASH = '.trash-';

/** Takes `name` out of `folder` at once (one rename to a `.trash-` name that nothing reads) and returns its new path. */
function discard(folder: string, name: string): string {
  const to = path.join(folder, `${TRASH}${name}.${randomBytes(4).toString('hex')}`);
  try {
    fs.renameSync(path.join(folder, name), to);
    return to;
  } catch {
    fs.rmSync(path.join(folder, name), { recursive: true, force: true });
    return '';
  }
}

/**
 * Deletes discarded folders (and any an earlier apply left) in a detached `rm -rf` that outlives this process:
 * removing an old release and its shards (a few thousand files at 10,000 tenants) took 0.2-0.4 s of the commit,
 * and nothing waits for it. Nothing reads `.trash-` folders (releases, status and pruning skip dot names), so an
 * rm that is cut short (a reboot) only leaves them for the next prune.
 */
function removeLater(l: Layout, fresh: string[]): void {
  const all = new Set(fresh.filter(Boolean));
  for (const folder of [l.releases, l.shards]) {
    try {
      for (const n of fs.readdirSync(folder)) if (n.startsWith(TRASH)) all.add(path.join(folder, n));
    } catch {
      /* no such folder */
    }
  }
  if (!all.size) return;
  try {
    // Not the apply's environment (it holds the PSKs): rm needs none.
    const child = spawn('rm', ['-rf', '--', ...all], { detached: true, stdio: 'ignore', env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' } });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    /* the next prune tries again */
  }
}

/** Entries state.json's history keeps. */
const HISTORY_MAX = 100;

/** Discards shard folders no release links to (and half-made ones); returns their new paths for removeLater. */
function pruneShards(l: Layout): string[] {
  let shards: string[];
  try {
    shards = fs.readdirSync(l.shards);
  } catch {
    return [];
  }
  const used = new Set<string>();
  for (const r of fs.readdirSync(l.releases)) {
    if (r.startsWith(TRASH)) continue;
    for (const d of SHARDED) {
      const folder = path.join(l.releases, r, ...d.split('/').filter(Boolean));
      let entries: fs.Dirent[] = [];
      try {
        entries = fs.readdirSync(folder, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) if (e.isSymbolicLink()) used.add(path.basename(fs.readlinkSync(path.join(folder, e.name))));
    }
  }
  const out: string[] = [];
  for (const s of shards) if (!used.has(s) && !s.startsWith(TRASH)) out.push(discard(l.shards, s));
  return out;
}
