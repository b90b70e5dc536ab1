// The switch: points <root>/var/lib/s2sgw/current at a release. The live files root's readers read are symlinks into
// `current`, so that one rename switches them all at once; those read by other users (FRR, networkd) are written by rename.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyDurable, readBytesIfExists, readIfExists, removeDurable, symlinkAtomic, Syncs, writeDurable, writeHint } from './fsx';
import type { Layout } from './layout';
import type { Release } from './release';
import { releasePath, SECRETS_CONF, SWANCTL_PRIVATE } from './release';
import { PRIVATE_REFS_PATH, parsePrivateRefs } from '../targets/strongswan/host';
import type { Runner } from './runner';

/** A file a daemon reads from a fixed place on the host, and where its content comes from. */
export interface LiveFile {
  /** Host path (under --root). */
  host: string;
  /** The bundle file copied there. */
  bundle?: string;
  /** Or content apply writes itself while a release is current. */
  generate?: (ctx: { root: string; current: string; release: Release }) => string | undefined;
  mode: number;
  /**
   * A relative symlink to `current/<bundle>` rather than a copy: switched by the one rename of `current`. Only for
   * files read by root (the state folder is 0700): systemd-modules-load, systemd-sysctl and `sysctl -p`, netplan
   * generate, charon, keepalived. Not frr.conf (FRR's daemons read it as user frr, and `vtysh -c write` rewrites it: that must
   * never reach a release's files, which releases share by hard links) nor networkd.conf.d (systemd-network reads it).
   */
  link?: boolean;
}

/** swanctl.conf on the host includes conf.d/*.conf: this one include pulls in the current release's connections and secrets. */
export const SWANCTL_INCLUDE = '/etc/swanctl/conf.d/s2sgw.conf';

export const LIVE: LiveFile[] = [
  { host: '/etc/modules-load.d/s2sgw.conf', bundle: 'modules-load.d/s2sgw.conf', mode: 0o644, link: true },
  { host: '/etc/sysctl.d/90-s2sgw.conf', bundle: 'sysctl/90-s2sgw.conf', mode: 0o644, link: true },
  { host: '/etc/netplan/90-s2sgw.yaml', bundle: 'netplan/90-s2sgw.yaml', mode: 0o600, link: true },
  { host: '/etc/systemd/networkd.conf.d/90-s2sgw.conf', bundle: 'networkd.conf.d/90-s2sgw.conf', mode: 0o644 },
  { host: '/etc/frr/frr.conf', bundle: 'frr/frr.conf', mode: 0o640 },
  { host: '/etc/strongswan.d/s2sgw.conf', bundle: 'swanctl/strongswan.d/s2sgw.conf', mode: 0o644, link: true },
  { host: '/etc/keepalived/keepalived.conf', bundle: 'keepalived/keepalived.conf', mode: 0o644, link: true },
  {
    host: SWANCTL_INCLUDE,
    mode: 0o600,
    generate: ({ current, release }) =>
      Object.keys(release.manifest.files).some((p) => p.startsWith('swanctl/conf.d/'))
        ? [
            '# Written by s2sgw apply: the current release\'s swanctl connections and resolved secrets. Do not edit.',
            `include ${current}/swanctl/conf.d/${release.flat ? '' : '*/'}*.conf`,
            `include ${current}/${SECRETS_CONF}`,
            '',
          ].join('\n')
        : undefined,
  },
];

interface Baseline {
  /** Host path -> whether it existed before s2sgw's first switch (its bytes are in baseline/). */
  existed: Record<string, boolean>;
}

function baselineCopy(l: Layout, host: string): string {
  return path.join(l.baseline, 'files', ...host.split('/').filter(Boolean));
}

/** Records, once, what the live paths held before s2sgw wrote them: that is what "no release" restores. */
function ensureBaseline(l: Layout, r: Runner): Baseline & { held?: Map<string, string> } {
  const file = path.join(l.baseline, 'baseline.json');
  const text = readIfExists(file);
  if (text) return JSON.parse(text) as Baseline;
  const b: Baseline & { held?: Map<string, string> } = { existed: {} };
  const held = new Map<string, string>();
  for (const f of LIVE) {
    const content = readIfExists(r.host(f.host));
    b.existed[f.host] = content !== undefined;
    if (content !== undefined) held.set(f.host, content);
  }
  // A dry run looks, never writes.
  if (r.dryRun) return { ...b, held };
  for (const [host, content] of held) writeDurable(baselineCopy(l, host), content, 0o600);
  writeDurable(file, JSON.stringify(b, null, 2) + '\n', 0o600);
  return b;
}

/** What a live file should hold with a release current: its bytes when asked (`load`), or the link into `current`. */
interface LiveWant {
  mode: number;
  bundle?: string;
  link?: string;
  /** The manifest's sha256 of the bytes `load` gives: the release's copy of `bundle` (not generated nor the baseline's). */
  sha?: string;
  /** The bytes (undefined: the file should be absent); read only when asked: frr.conf is 14 MB at 10,000 tenants. */
  load: () => string | Buffer | undefined;
  /** The release's copy (with `sha`), and its bytes when this process holds them (verify read them). */
  file?: string;
  held?: () => Buffer | undefined;
}

function liveWants(l: Layout, r: Runner, release: Release | null): Map<string, LiveWant> {
  const baseline = ensureBaseline(l, r);
  const out = new Map<string, LiveWant>();
  const fromBaseline = (host: string) => (baseline.existed[host] ? baseline.held?.get(host) ?? readIfExists(baselineCopy(l, host)) : undefined);
  for (const f of LIVE) {
    const link = f.link && release && f.bundle && release.manifest.files[f.bundle] ? linkTarget(l, r, f.host, f.bundle) : undefined;
    if (link) {
      // Read through the link: its bytes are not needed (netplan's file grows with the tenants).
      out.set(f.host, { mode: f.mode, bundle: f.bundle, link, load: () => undefined });
      continue;
    }
    // Bytes, not text: frr.conf is 14 MB at 10,000 tenants and is only compared and copied. The bytes verify read
    // are used when the release has them (the same bytes, already checked against the manifest).
    const entry = release && f.bundle ? release.manifest.files[f.bundle] : undefined;
    if (release && f.bundle && entry) {
      const bundle = f.bundle;
      const file = releasePath(release, bundle);
      const held = () => release.read?.(bundle);
      out.set(f.host, { mode: f.mode, bundle, sha: entry.sha256, file, held, load: () => held() ?? fs.readFileSync(file) });
      continue;
    }
    const generated = release && f.generate ? f.generate({ root: r.root, current: l.current, release }) : undefined;
    out.set(f.host, { mode: f.mode, bundle: f.bundle, load: () => generated ?? fromBaseline(f.host) });
  }
  return out;
}

/** What each live file should hold with `release` current (undefined: absent), or the link into `current` it should be. */
export function liveContents(l: Layout, r: Runner, release: Release | null): Map<string, { content?: string | Buffer; mode: number; bundle?: string; link?: string }> {
  const out = new Map<string, { content?: string | Buffer; mode: number; bundle?: string; link?: string }>();
  for (const [host, w] of liveWants(l, r, release)) out.set(host, w.link ? { mode: w.mode, bundle: w.bundle, link: w.link } : { content: w.load(), mode: w.mode, bundle: w.bundle });
  return out;
}

/**
 * Live files switch wrote, by host path: the manifest's sha256 of what it wrote and the file's stat right after
 * (device, inode, size, modification and change times in nanoseconds). A live file whose stat is still that one holds
 * those bytes: any write to it, in place or by rename, changes its inode or its change time (which no one can set
 * back). So an unchanged frr.conf (14 MB at 10,000 tenants) is neither read nor compared with the release's copy to
 * put back a hand edit; a file whose stat moved is compared as before. Lost or damaged: every file is compared.
 */
type Stamps = Record<string, { sha: string; stat: string }>;

function statStamp(p: string): string | undefined {
  try {
    const s = fs.lstatSync(p, { bigint: true });
    return s.isFile() ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : undefined;
  } catch {
    return undefined;
  }
}

function readStamps(l: Layout): Stamps {
  try {
    const v = JSON.parse(fs.readFileSync(l.liveStamps, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Stamps) : {};
  } catch {
    return {};
  }
}

/** A live file switch's copy put in place after switchTo returned (Syncs.copy): its stamp added to the record. */
function stampLater(l: Layout, host: string, sha: string, stat: string | undefined): void {
  if (!stat) return;
  const stamps = readStamps(l);
  stamps[host] = { sha, stat };
  writeHint(l.liveStamps, JSON.stringify(stamps) + '\n');
}

/** The relative symlink from a live path to its file in `current` (relative: the same under any --root). */
function linkTarget(l: Layout, r: Runner, host: string, bundle: string): string {
  return path.relative(path.dirname(r.host(host)), path.join(l.current, ...bundle.split('/')));
}

function readLinkIfAny(p: string): string | undefined {
  try {
    return fs.readlinkSync(p);
  } catch {
    return undefined;
  }
}

/**
 * Makes `release` current: the `current` symlink first (one rename: every live file that is a link into it switches
 * with it), then each other live file by rename, and a link put in place where the host has none yet (the first
 * apply) or someone replaced it. Idempotent, so a recovery can run it again. Returns the live paths it changed.
 * With `later` (a forward apply's switch) the fsyncs are recorded there for the commit to await (Syncs), not made here.
 */
export function switchTo(l: Layout, r: Runner, release: Release | null, fileChanged?: (bundlePath: string) => boolean, later?: Syncs): string[] {
  const changed: string[] = [];
  if (release) symlinkAtomic(path.join('releases', release.name), l.current, later);
  else removeDurable(l.current, later);
  const stamps = readStamps(l);
  let stamped = false;
  // `st`: the file's stat, taken before it was read and compared (a file changed meanwhile is not stamped).
  const stamp = (host: string, p: string, sha: string | undefined, st = sha ? statStamp(p) : undefined) => {
    if (st && sha) stamps[host] = { sha, stat: st };
    else if (!stamps[host]) return;
    else delete stamps[host];
    stamped = true;
  };
  for (const [host, want] of liveWants(l, r, release)) {
    const p = r.host(host);
    if (want.link) {
      if (readLinkIfAny(p) === want.link) continue;
      symlinkAtomic(want.link, p, later);
      changed.push(host);
      continue;
    }
    // A file the new release changed is written without reading what the host holds (frr.conf: 14 MB at 10,000
    // tenants); an unchanged one is compared, so a hand-edited live file is put back: by its stamp when switch wrote
    // it and its stat has not moved since, else byte for byte.
    // A link left from a release that had the file is replaced, whatever it points at.
    let content: string | Buffer | undefined;
    let loaded = false;
    if (readLinkIfAny(p) === undefined && !(want.sha && fileChanged?.(want.bundle!))) {
      const was = stamps[host];
      const before = statStamp(p);
      if (want.sha && was && was.sha === want.sha && was.stat === before) continue;
      const have = readBytesIfExists(p);
      content = want.load();
      loaded = true;
      const bytes = typeof content === 'string' ? Buffer.from(content) : content;
      if (have === bytes || (have && bytes && have.equals(bytes))) {
        if (want.sha && before !== undefined && statStamp(p) === before) stamp(host, p, want.sha, before);
        continue;
      }
    }
    // Bytes not read to compare, and not held: the kernel copies the release's file. In a forward apply on libuv's
    // threads, beside the reload steps (frr.conf's 14 MB at 10,000 tenants: 5-20 ms); stamped once in place.
    const copy = !loaded && want.file && !want.held?.() ? want.file : undefined;
    if (copy && later && want.sha) {
      const sha = want.sha;
      later.copy(copy, p, want.mode, () => stampLater(l, host, sha, statStamp(p)));
      if (stamps[host]) stamp(host, p, undefined);
      changed.push(host);
      continue;
    }
    if (copy) copyDurable(copy, p, want.mode, later);
    else {
      if (!loaded) content = want.load();
      if (content === undefined) removeDurable(p, later);
      else writeDurable(p, content, want.mode, later);
    }
    stamp(host, p, copy || content !== undefined ? want.sha : undefined);
    changed.push(host);
  }
  // Not synced: a stamp lost in a crash (or torn: read as none) only means one more comparison.
  if (stamped) writeHint(l.liveStamps, JSON.stringify(stamps) + '\n');
  changed.push(...linkPrivateKey(r, release, later));
  return changed;
}

/**
 * swanctl loads private keys only from its private/ folder: the release's identity key is linked there as
 * s2sgw-<gateway>.key (the key itself stays where the operator keeps it). Links of other releases are removed.
 */
function linkPrivateKey(r: Runner, release: Release | null, later?: Syncs): string[] {
  const dir = r.host(SWANCTL_PRIVATE);
  const file = release && release.manifest.files[PRIVATE_REFS_PATH] ? releasePath(release, PRIVATE_REFS_PATH) : undefined;
  const want = file ? parsePrivateRefs(fs.readFileSync(file, 'utf8')) : undefined;
  const changed: string[] = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((n) => /^s2sgw-.*\.key$/.test(n) && fs.lstatSync(path.join(dir, n)).isSymbolicLink());
  } catch {
    /* no private/ folder yet */
  }
  for (const n of names) {
    if (want && n === want.link) continue;
    removeDurable(path.join(dir, n), later);
    changed.push(`${SWANCTL_PRIVATE}/${n}`);
  }
  if (want) {
    const link = path.join(dir, want.link);
    let have: string | undefined;
    try {
      have = fs.readlinkSync(link);
    } catch {
      have = undefined;
    }
    if (have !== want.key) {
      symlinkAtomic(want.key, link, later);
      changed.push(`${SWANCTL_PRIVATE}/${want.link}`);
    }
  }
  return changed;
}

