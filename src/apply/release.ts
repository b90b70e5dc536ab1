// A bundle on its way to the host: verified against its manifest, its secrets resolved, staged as a release folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Manifest, parseManifest } from '../compiler/bundle';
import { parseRefs, secretsBlock } from '../targets/strongswan/secrets';
import { parsePrivateRefs } from '../targets/strongswan/view';
import { StepError, Runner } from './runner';
import { Layout } from './layout';
import { writeNewSynced } from './fsx';

export const MANIFEST = 'manifest.json';
export const SECRETS_REFS = 'swanctl/secrets.refs';
/** The resolved secrets, mode 0600, only inside a release folder. */
export const SECRETS_CONF = 'swanctl/secrets.conf';
export const MIN_PSK = 20;

export interface VerifiedBundle {
  dir: string;
  manifest: Manifest;
  manifestText: string;
  /** sha256 of manifest.json, which holds every file's sha256: the bundle's identity. */
  digest: string;
  /**
   * Every listed file. `content` is read and hashed, except for a file the host's current release holds
   * with the same sha256 and mode (`reused`): stage links that copy, so the bundle's is never needed.
   */
  files: Array<{ path: string; content?: Buffer; mode: number; reused?: string }>;
}

/** A release on the host (a folder under releases/), or null for the host as it was before s2sgw. */
export interface Release {
  name: string;
  dir: string;
  manifest: Manifest;
}

function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

function walk(dir: string): { files: string[]; odd: string[] } {
  const files: string[] = [];
  const odd: string[] = [];
  const rec = (rel: string) => {
    // The entries' types come with the listing: no lstat per file (10,000 of them at 10,000 tenants).
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) rec(r);
      else if (e.isFile()) files.push(r);
      else odd.push(r);
    }
  };
  rec('');
  return { files, odd };
}

/**
 * Checks a bundle folder against its manifest.json: every listed file present with its sha256, nothing
 * else (no extra file, no symlink), before apply looks at anything else. Collects every problem.
 */
export function verifyBundle(dir: string, opts: { allowExtra?: string[]; reuse?: Release | null } = {}): VerifiedBundle {
  const problems: string[] = [];
  let manifestText: string;
  try {
    manifestText = fs.readFileSync(path.join(dir, MANIFEST), 'utf8');
  } catch (e) {
    throw new StepError('verify', `${dir} is not a bundle: cannot read ${MANIFEST} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(manifestText);
    if (!manifest || typeof manifest.files !== 'object' || typeof manifest.tenants !== 'object' || typeof manifest.gateway !== 'string') throw new Error('missing gateway, tenants or files');
  } catch (e) {
    throw new StepError('verify', `${MANIFEST} in ${dir} is not a valid manifest: ${(e as Error).message}`);
  }
  const { files: found, odd } = walk(dir);
  for (const o of odd) problems.push(`${o}: not a regular file (symlinks and devices are refused)`);
  const listed = new Set(Object.keys(manifest.files));
  const files: VerifiedBundle['files'] = [];
  for (const p of found) {
    if (p === MANIFEST || opts.allowExtra?.includes(p)) continue;
    if (!listed.has(p)) {
      problems.push(`${p}: not in the manifest (an extra file)`);
      continue;
    }
    const want = manifest.files[p];
    const mode = parseInt(want.mode ?? '0644', 8) & 0o777;
    // At 10,000 tenants reading and hashing every file took 1.8 s of a one-tenant apply; the current
    // release's copy of an unchanged file is already verified (when it was staged) and is what stage links.
    const was = opts.reuse?.manifest.files[p];
    if (was && was.sha256 === want.sha256 && (was.mode ?? '0644') === (want.mode ?? '0644')) {
      files.push({ path: p, mode, reused: path.join(opts.reuse!.dir, ...p.split('/')) });
      continue;
    }
    const content = fs.readFileSync(path.join(dir, p));
    const got = sha256(content);
    if (got !== want.sha256) problems.push(`${p}: sha256 ${got.slice(0, 12)}… does not match the manifest's ${String(want.sha256).slice(0, 12)}…`);
    files.push({ path: p, content, mode });
  }
  const present = new Set(found);
  for (const p of [...listed].sort()) if (!present.has(p)) problems.push(`${p}: listed in the manifest but missing`);
  for (const p of listed) if (p.split('/').some((s) => s === '..' || s === '' || s === '.') || p.startsWith('/')) problems.push(`${p}: not a plain relative path`);
  if (problems.length) throw new StepError('verify', `the bundle in ${dir} does not match its manifest (${problems.length} problem${problems.length === 1 ? '' : 's'})`, problems.join('\n'));
  return { dir, manifest, manifestText, digest: sha256(manifestText), files };
}

/**
 * A verified file's bytes: read at verify, or (a reused file) the current release's copy, or, should that
 * copy be gone, the bundle's own, checked against the manifest then.
 */
export function contentOf(b: VerifiedBundle, rel: string): Buffer | undefined {
  const f = b.files.find((x) => x.path === rel);
  return f && loadContent(b, f);
}

function loadContent(b: VerifiedBundle, f: VerifiedBundle['files'][number]): Buffer {
  const rel = f.path;
  if (f.content) return f.content;
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

/**
 * Resolves every reference in secrets.refs on this host and returns the swanctl secrets block. Collects every
 * problem; a message names the reference and the connection, never a value.
 */
export function resolveSecrets(refsText: string | undefined, env: NodeJS.ProcessEnv, runner: Pick<Runner, 'host'>): string {
  if (refsText === undefined) return 'secrets {\n}\n';
  let refs;
  try {
    refs = parseRefs(refsText);
  } catch (e) {
    throw new StepError('secrets', (e as Error).message);
  }
  const problems: string[] = [];
  // By kind, then reference: no key strings to build for 30,000 references.
  const byKind = { psk: new Map<string, string>(), eap: new Map<string, string>() };
  for (const r of refs) {
    const values = byKind[r.kind];
    if (values.has(r.ref)) continue;
    let value: string | undefined;
    // Built only for a problem: 30,000 references at 10,000 tenants.
    const where = () => `${r.ref} (${r.kind} of connection ${r.connection})`;
    if (r.ref.startsWith('env:')) {
      const name = r.ref.slice(4);
      value = env[name];
      if (value === undefined) problems.push(`${where()}: environment variable ${name} is not set`);
    } else if (r.ref.startsWith('file:/')) {
      const file = runner.host(r.ref.slice(5));
      try {
        const st = fs.statSync(file);
        if (!st.isFile()) problems.push(`${where()}: not a regular file`);
        else if (st.mode & 0o077) problems.push(`${where()}: the file is readable or writable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); chmod 600 it`);
        else value = fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (e) {
        problems.push(`${where()}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    } else {
      problems.push(`${where()}: not an env:NAME or file:/path reference`);
    }
    if (value === undefined) continue;
    if (!value.length) problems.push(`${where()}: the secret is empty`);
    else if (r.kind === 'psk' && value.length < 2 * MIN_PSK && [...value].length < MIN_PSK) problems.push(`${where()}: a PSK must be at least ${MIN_PSK} characters`);
    else values.set(r.ref, value);
  }
  if (problems.length) throw new StepError('secrets', `${problems.length} secret reference${problems.length === 1 ? '' : 's'} cannot be used; nothing was changed`, problems.join('\n'));
  return secretsBlock(refs, (ref, e) => byKind[e.kind].get(ref)!);
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

function sameRelease(dir: string, b: VerifiedBundle, secrets: string): boolean {
  try {
    verifyBundle(dir, { allowExtra: [SECRETS_CONF] });
    return fs.readFileSync(path.join(dir, MANIFEST), 'utf8') === b.manifestText && fs.readFileSync(path.join(dir, SECRETS_CONF), 'utf8') === secrets;
  } catch {
    return false;
  }
}

/**
 * Stages a verified bundle as releases/<digest>/ (mode 0700; secrets.conf 0600): written under a temporary
 * name, then renamed, so a release folder is whole or absent. The same bundle with the same secrets reuses
 * its folder; with other secrets (a rotation) it gets releases/<digest>.<n>/.
 */
export function stage(b: VerifiedBundle, secrets: string, l: Layout, runner: Runner, reuse?: Release | null): Release {
  fs.mkdirSync(l.releases, { recursive: true, mode: 0o700 });
  let name = b.digest;
  for (let n = 1; fs.existsSync(path.join(l.releases, name)); n++) {
    if (sameRelease(path.join(l.releases, name), b, secrets)) return { name, dir: path.join(l.releases, name), manifest: b.manifest };
    name = `${b.digest}.${n}`;
  }
  const tmp = path.join(l.releases, `.stage-${randomBytes(4).toString('hex')}`);
  try {
    fs.mkdirSync(tmp, { mode: 0o700 });
    // Folders made so far: 10,000 files in a handful of folders need a handful of mkdirs, not 10,000.
    const made = new Set<string>([tmp]);
    const mkdir = (d: string) => {
      if (made.has(d)) return;
      fs.mkdirSync(d, { recursive: true, mode: 0o700 });
      made.add(d);
    };
    const write = (rel: string, content: Buffer | string, mode: number) => {
      runner.diskFull('stage');
      const p = path.join(tmp, ...rel.split('/'));
      mkdir(path.dirname(p));
      writeNewSynced(p, content, mode);
    };
    // A file the current release holds with the same sha256 and mode is hard-linked, not copied: a one-tenant
    // change on a 10,000-tenant host writes a handful of files, not 10,000 (releases are never written in place).
    const link = (rel: string, mode: number): boolean => {
      const was = reuse?.manifest.files[rel];
      const now = b.manifest.files[rel];
      if (!reuse || !was || !now || was.sha256 !== now.sha256 || (was.mode ?? '0644') !== (now.mode ?? '0644')) return false;
      runner.diskFull('stage');
      const src = path.join(reuse.dir, ...rel.split('/'));
      const p = path.join(tmp, ...rel.split('/'));
      try {
        // No lstat first (10,000 of them): stage made the release's files with these modes, and a missing one fails the link.
        mkdir(path.dirname(p));
        fs.linkSync(src, p);
        return true;
      } catch {
        return false;
      }
    };
    for (const f of b.files) if (!link(f.path, f.mode)) write(f.path, loadContent(b, f), f.mode);
    write(SECRETS_CONF, secrets, 0o600);
    write(MANIFEST, b.manifestText, 0o644);
    fs.chmodSync(tmp, 0o700);
    fs.renameSync(tmp, path.join(l.releases, name));
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (e instanceof StepError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new StepError('stage', `cannot stage the release in ${l.releases}${code === 'ENOSPC' ? ': the disk is full' : ''}`, (e as Error).message);
  }
  return { name, dir: path.join(l.releases, name), manifest: b.manifest };
}

/** A release's file as text, or undefined when there is no release or no such file. */
export function readReleaseFile(r: Release | null, rel: string): string | undefined {
  if (!r) return undefined;
  try {
    return fs.readFileSync(path.join(r.dir, ...rel.split('/')), 'utf8');
  } catch {
    return undefined;
  }
}

/** Opens an existing release folder (its manifest re-read; files re-verified when `verify`). */
export function openRelease(l: Layout, name: string | null, verify = false): Release | null {
  if (name === null) return null;
  const dir = path.join(l.releases, name);
  if (verify) {
    const v = verifyBundle(dir, { allowExtra: [SECRETS_CONF] });
    return { name, dir, manifest: v.manifest };
  }
  return { name, dir, manifest: parseManifest(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) };
}

/** Removes half-staged folders and releases other than the ones to keep (the newest `keep` by mtime stay too). */
export function pruneReleases(l: Layout, protect: Array<string | null>, keep = 5): void {
  if (!fs.existsSync(l.releases)) return;
  const names = fs.readdirSync(l.releases);
  for (const n of names) if (n.startsWith('.stage-')) fs.rmSync(path.join(l.releases, n), { recursive: true, force: true });
  const releases = names
    .filter((n) => !n.startsWith('.'))
    .map((n) => ({ n, t: fs.statSync(path.join(l.releases, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  releases.slice(keep).forEach(({ n }) => {
    if (!protect.includes(n)) fs.rmSync(path.join(l.releases, n), { recursive: true, force: true });
  });
}
