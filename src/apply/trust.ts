// Before apply changes anything: is this bundle for this host (its gateway name), and signed by a key the host trusts?
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BundleSource } from '../bundle/manifest';
import { readIfExists, writeDurable } from './fsx';
import { Layout, readState } from './layout';
import { StepError } from './runner';
import { ALLOWED_SIGNERS, SIGNATURE, SignatureError, signatureKey, verifyData } from './signature';

/** The gateway name an operator writes for the host (s2sgw only reads it). */
export const GATEWAY_FILE = '/etc/s2sgw/gateway';
/** The gateway name the host's first apply recorded, in the state folder. */
const RECORDED = 'gateway';

/** Where a bundle came from, as apply, its output and the audit trail report it. */
export interface Provenance {
  gateway: string;
  source?: BundleSource | null;
  compiler?: string;
  /** The allowed_signers principal that signed manifest.json; null when unsigned or not checked. */
  signer: string | null;
  /** The signing key's fingerprint, when signed (checked or not). */
  key?: string;
  /** manifest.json's bytes as checked: verify uses these very bytes. */
  manifestBytes: Buffer;
}

/**
 * The manifest's head fields without parsing its tenants (tens of MB at 10,000 tenants; verify parses it once):
 * formatManifest and any JSON layout of it put compiler, gateway and source before tenants. verify checks that the
 * parsed manifest says the same gateway.
 */
export function manifestHead(bytes: Buffer): { gateway?: string; source?: BundleSource | null; compiler?: string } {
  const head = bytes.subarray(0, 4096).toString('utf8');
  const str = (k: string) => {
    const m = new RegExp(`"${k}"\\s*:\\s*("(?:[^"\\\\]|\\\\.)*")`).exec(head);
    return m ? (JSON.parse(m[1]) as string) : undefined;
  };
  const src = /"source"\s*:\s*(null|\{[^{}]*\})/.exec(head);
  let source: BundleSource | null | undefined;
  try {
    source = src ? (JSON.parse(src[1]) as BundleSource | null) : undefined;
  } catch {
    source = undefined;
  }
  return { gateway: str('gateway'), source, compiler: str('compiler') };
}

/** The gateway this host is, and where that was said; undefined when nothing says (a first apply). */
export function hostGateway(l: Layout, host: (p: string) => string): { name: string; from: string; rename: string } | undefined {
  const read = (file: string) => readIfExists(file)?.trim() || undefined;
  const etc = read(host(GATEWAY_FILE));
  if (etc) return { name: etc, from: GATEWAY_FILE, rename: `change ${GATEWAY_FILE}` };
  const rec = read(path.join(l.state, RECORDED));
  const recorded = path.posix.join('/var/lib/s2sgw', RECORDED);
  if (rec) return { name: rec, from: `${recorded}, recorded by the host's first apply`, rename: `write the new name to ${GATEWAY_FILE}, or remove ${recorded}` };
  // A host applied by an s2sgw that recorded no name: its current release says which gateway it runs.
  try {
    const cur = readState(l).current;
    const name = cur ? manifestHead(fs.readFileSync(path.join(l.releases, cur, 'manifest.json'))).gateway : undefined;
    if (name) return { name, from: `its current release ${cur!.slice(0, 12)}`, rename: `write the new name to ${GATEWAY_FILE}` };
  } catch {
    /* no readable release: nothing says */
  }
  return undefined;
}

/** Records the gateway name after a successful apply, unless the operator's file or an earlier record says it already. */
export function recordGateway(l: Layout, host: (p: string) => string, name: string): void {
  if (readIfExists(host(GATEWAY_FILE))?.trim()) return;
  const file = path.join(l.state, RECORDED);
  if (readIfExists(file)?.trim() === name) return;
  writeDurable(file, `${name}\n`, 0o644);
}

/**
 * The checks before any change: the bundle is for this gateway (`--gateway`, /etc/s2sgw/gateway, the name the first
 * apply recorded, or the current release's), and when the host has /etc/s2sgw/allowed_signers, manifest.json carries
 * a valid signature by a key listed there (manifest.json lists every file's sha256: verify checks the files against it).
 * Warnings (an unsigned bundle on a host without trusted signers) go to `warn`.
 */
export function checkTrust(bundle: string, l: Layout, host: (p: string) => string, opts: { gateway?: string; warn: (s: string) => void }): Provenance {
  let manifestBytes: Buffer;
  try {
    manifestBytes = fs.readFileSync(path.join(bundle, 'manifest.json'));
  } catch (e) {
    throw new StepError('verify', `${bundle} is not a bundle: cannot read manifest.json (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const head = manifestHead(manifestBytes);
  if (!head.gateway) throw new StepError('verify', `manifest.json in ${bundle} is not a valid manifest: no gateway`);
  const known = hostGateway(l, host);
  if (opts.gateway && known && known.name !== opts.gateway)
    throw new StepError('gateway', `--gateway ${opts.gateway} contradicts this host's name ${known.name} (from ${known.from}); refused, nothing was changed (to rename the host, ${known.rename})`);
  const expected = opts.gateway ?? known?.name;
  if (expected && expected !== head.gateway)
    throw new StepError('gateway', `the bundle in ${bundle} was built for gateway ${head.gateway}, but this host is ${expected} (from ${opts.gateway ? '--gateway' : known!.from}); refused, nothing was changed`);
  const sigFile = path.join(bundle, SIGNATURE);
  const armored = readIfExists(sigFile);
  const allowed = host(ALLOWED_SIGNERS);
  const prov: Provenance = { gateway: head.gateway, source: head.source, compiler: head.compiler, signer: null, manifestBytes, ...(armored && signatureKey(armored) ? { key: signatureKey(armored) } : {}) };
  if (!fs.existsSync(allowed)) {
    opts.warn(
      armored === undefined
        ? `warning: the bundle is not signed; accepted because this host trusts no signers (${ALLOWED_SIGNERS} does not exist)`
        : `warning: the bundle's signature (${prov.key ?? 'unreadable'}) was not checked: this host trusts no signers (${ALLOWED_SIGNERS} does not exist)`,
    );
    return prov;
  }
  if (armored === undefined) throw new StepError('signature', `the bundle in ${bundle} is not signed (no ${SIGNATURE}), and this host accepts only bundles signed by a key in ${ALLOWED_SIGNERS}; refused, nothing was changed (sign it: s2sgw sign --bundle DIR --key KEY)`);
  try {
    const v = verifyData(manifestBytes, armored, allowed, sigFile);
    return { ...prov, signer: v.principal, key: v.key.replace(/ key /, ' ') };
  } catch (e) {
    if (!(e instanceof SignatureError)) throw e;
    throw new StepError('signature', `${e.message}; refused, nothing was changed`, e.tool);
  }
}

/** A provenance in one line: `gateway gw1, commit 0123456789ab (dirty), s2sgw 0.1.0, signed by ci@example (ED25519 SHA256:...)`. */
export function describeProvenance(p: Pick<Provenance, 'gateway' | 'source' | 'compiler' | 'signer' | 'key'>): string {
  const commit = p.source ? `commit ${p.source.commit.slice(0, 12)}${p.source.dirty ? ' (dirty)' : ''}` : p.source === null ? 'no commit (built outside Git)' : 'commit not recorded';
  const signed = p.signer ? `signed by ${p.signer} (${p.key})` : p.key ? `signature by ${p.key} not checked` : 'unsigned';
  return `gateway ${p.gateway}, ${commit}, ${p.compiler ?? 'compiler not recorded'}, ${signed}`;
}
