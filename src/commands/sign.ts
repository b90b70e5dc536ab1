// `s2sgw sign`: sign a built bundle's manifest.json with an SSH key (ssh-keygen -Y sign, namespace s2sgw-bundle).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../util/usage';
import { Command, EXIT, formatOption, note } from './common';
import { format as formatOpt } from '../util/options';
import { writeFileAtomic } from '../bundle/write';
import { verifyBundle } from '../apply/release';
import { StepError } from '../apply/runner';
import { describeError } from '../apply/engine';
import { NAMESPACE, SIGNATURE, SignatureError, signData, signatureKey } from '../apply/signature';
import { describeProvenance, manifestHead } from '../apply/trust';

export const command: Command = {
  name: 'sign',
  summary: `sign a bundle's manifest.json with an SSH key into manifest.json.sig (SSH signature, namespace ${NAMESPACE})`,
  options: {
    bundle: { type: 'string', short: 'b', value: 'DIR', required: true, description: 'the built bundle to sign (out/<gateway>)', example: '--bundle out/gw1' },
    key: { type: 'string', short: 'k', value: 'FILE', required: true, description: 'the SSH private key, or the .pub of a key ssh-agent holds', example: '--key ~/.ssh/id_ed25519' },
    ...formatOpt(['text', 'json']),
  },
  json: `{ "version": 1, "manifest": "out/gw1/manifest.json", "signature": "out/gw1/manifest.json.sig", "key": "ED25519 SHA256:...", "gateway": "gw1", "commit": "0123...", "dirty": false }`,
  async run({ values }, io) {
    const json = formatOption(values, ['text', 'json']) === 'json';
    // Both required: the parser refuses to run without them.
    const bundle = values.bundle as string;
    const key = values.key as string;
    const dir = path.resolve(io.cwd, bundle);
    const keyFile = path.resolve(io.cwd, key);
    if (!fs.existsSync(keyFile)) throw new UsageError(`--key ${key}: no such file`);
    // Only a bundle whose files match its manifest is worth a signature: the signature covers the files through it.
    let manifestBytes: Buffer;
    try {
      manifestBytes = verifyBundle(dir, { allowExtra: [SIGNATURE] }).manifestBytes;
    } catch (e) {
      if (!(e instanceof StepError)) throw e;
      io.err(`s2sgw sign: not signed: ${describeError(e)}\n`);
      return EXIT.findings;
    }
    let sig: string;
    try {
      sig = signData(manifestBytes, keyFile);
    } catch (e) {
      if (!(e instanceof SignatureError)) throw e;
      io.err(`s2sgw sign: ${e.message}${e.tool ? `\n${e.tool.split('\n').map((l) => `  | ${l}`).join('\n')}` : ''}\n`);
      return EXIT.findings;
    }
    const out = path.join(dir, SIGNATURE);
    writeFileAtomic(out, sig, 0o644);
    const head = manifestHead(manifestBytes);
    if (head.source?.dirty) io.err(`s2sgw sign: warning: the bundle was built from a work tree that differs from commit ${head.source.commit.slice(0, 12)}\n`);
    if (json) {
      io.out(JSON.stringify({ version: 1, manifest: path.relative(io.cwd, path.join(dir, 'manifest.json')), signature: path.relative(io.cwd, out), key: signatureKey(sig), gateway: head.gateway ?? null, commit: head.source?.commit ?? null, ...(head.source ? { dirty: head.source.dirty } : {}) }, null, 2) + '\n');
      return EXIT.ok;
    }
    note(io, `signed ${path.relative(io.cwd, path.join(dir, 'manifest.json')) || 'manifest.json'} (${describeProvenance({ gateway: head.gateway ?? '?', source: head.source, compiler: head.compiler, signer: null, key: undefined }).replace(/, unsigned$/, '')}) with ${signatureKey(sig)}: wrote ${path.relative(io.cwd, out)}\n`);
    return EXIT.ok;
  },
};
