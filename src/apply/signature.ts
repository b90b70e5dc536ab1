// SSH signatures of a bundle's manifest.json (OpenSSH's PROTOCOL.sshsig, namespace s2sgw-bundle), made and checked by
// ssh-keygen itself: it handles every key type, ssh-agent, security keys and allowed_signers' options (valid-before,
// namespaces, cert-authority), which a reimplementation would each have to get right.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { which } from '../util/exec';
import { childEnv } from '../util/env';

/** The signature file beside manifest.json. */
export const SIGNATURE = 'manifest.json.sig';
/** The SSH signature namespace: a signature made for Git commits (namespace `git`) or anything else does not pass. */
export const NAMESPACE = 's2sgw-bundle';
/** The host's trusted signers, in ssh-keygen's ALLOWED SIGNERS format (under --root). */
export const ALLOWED_SIGNERS = '/etc/s2sgw/allowed_signers';

export class SignatureError extends Error {
  constructor(
    message: string,
    /** ssh-keygen's own words. */
    readonly tool?: string,
  ) {
    super(message);
  }
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function sshKeygen(args: string[], input: Buffer): Result {
  const bin = which('ssh-keygen');
  if (!bin) throw new SignatureError('ssh-keygen is not installed (Debian package openssh-client): it makes and checks the signatures');
  const r = spawnSync(bin, args, { input, env: childEnv(), maxBuffer: 1 << 20, timeout: 120_000 });
  if (r.error) throw new SignatureError(`cannot run ssh-keygen: ${r.error.message}`);
  return { code: r.status ?? 1, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

/** ssh-keygen's message without its progress line. */
const said = (r: Result) =>
  (r.stderr + r.stdout)
    .split('\n')
    .filter((l) => l.trim() && !/^Signing data on standard input/.test(l))
    .join('\n');

/** Signs `data` with the SSH key `key` (a private key file, or a public key whose private half ssh-agent holds). */
export function signData(data: Buffer, key: string): string {
  const r = sshKeygen(['-Y', 'sign', '-n', NAMESPACE, '-f', key], data);
  if (r.code !== 0 || !r.stdout.includes('BEGIN SSH SIGNATURE')) throw new SignatureError(`ssh-keygen could not sign with ${key}`, said(r));
  return r.stdout;
}

/**
 * The fingerprint (`ED25519 SHA256:...`) of the public key inside an armored SSH signature, read from the blob
 * (PROTOCOL.sshsig: "SSHSIG", version, publickey, ...), without trusting it: for messages only. Undefined when the
 * text is not an SSH signature.
 */
export function signatureKey(armored: string): string | undefined {
  const m = /-----BEGIN SSH SIGNATURE-----([\s\S]*?)-----END SSH SIGNATURE-----/.exec(armored);
  if (!m) return undefined;
  const blob = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  if (blob.length < 14 || blob.subarray(0, 6).toString('latin1') !== 'SSHSIG') return undefined;
  const len = blob.readUInt32BE(10);
  const key = blob.subarray(14, 14 + len);
  if (key.length !== len || len < 4) return undefined;
  const tlen = key.readUInt32BE(0);
  const type = key.subarray(4, 4 + tlen).toString('latin1');
  const kind = type.replace(/^ssh-/, '').replace(/-cert-v01@openssh\.com$/, '').replace(/@openssh\.com$/, '').replace(/^ecdsa-sha2-nistp\d+$/, 'ECDSA').toUpperCase();
  return `${kind} SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export interface Verified {
  /** The principal of allowed_signers that signed. */
  principal: string;
  /** Its key, as ssh-keygen prints it (`ED25519 key SHA256:...`). */
  key: string;
}

/**
 * Checks `armored` (manifest.json.sig) over `data` (manifest.json) against the allowed_signers file: ssh-keygen
 * -Y find-principals names the principals the signing key is trusted for, -Y verify checks the signature for one of
 * them (namespace, validity dates, the data). Throws a SignatureError that says which check failed.
 */
export function verifyData(data: Buffer, armored: string, allowedSigners: string, sigFile: string): Verified {
  const key = signatureKey(armored);
  if (!key) throw new SignatureError(`${sigFile} is not an SSH signature (expected the output of ssh-keygen -Y sign)`);
  const found = sshKeygen(['-Y', 'find-principals', '-s', sigFile, '-f', allowedSigners], Buffer.alloc(0));
  const principals = found.code === 0 ? found.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
  if (!principals.length) throw new SignatureError(`signed by ${key}, a key ${allowedSigners} does not trust`, said(found));
  let last: Result | undefined;
  for (const principal of principals) {
    const r = sshKeygen(['-Y', 'verify', '-n', NAMESPACE, '-I', principal, '-f', allowedSigners, '-s', sigFile], data);
    const good = /^Good "[^"]*" signature for .* with (.*)$/m.exec(r.stdout);
    if (r.code === 0 && good) return { principal, key: good[1] };
    last = r;
  }
  throw new SignatureError(`the signature by ${principals.join(', ')} (${key}) does not match manifest.json: the manifest changed after it was signed, or it was signed for another purpose or outside the key's validity`, said(last!));
}
