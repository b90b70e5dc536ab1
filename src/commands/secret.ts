// `s2sgw secret rotate`: stage a connection's new PSK in the host's secrets folder, for a rotation that never drops the tunnel (docs/psk-rotation.md).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UsageError } from '../model/load';
import { DEFAULT_SECRETS_DIR, scopeRef, secretsDirProblem, secretValue } from '../model/secret-scope';
import { MIN_PSK } from '../apply/release';
import { Command, EXIT, Io } from './common';

/** Bytes of randomness in a generated PSK: 256 bits, written as 43 base64url characters. */
export const GENERATED_PSK_BYTES = 32;

/** A new PSK: `bytes` random bytes (crypto.randomBytes) as base64url, no padding. */
export function generatePsk(bytes = GENERATED_PSK_BYTES): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * The file a rotation writes: `<dir>/<tenant>/<connection>.<n>.psk`, n the smallest from 2 not yet there (the tenant's
 * own folder, which only it may name: docs/security.md). Pure but for the existence checks.
 */
export function rotationPath(dir: string, tenant: string, connection: string, exists: (p: string) => boolean): string {
  for (let n = 2; ; n++) {
    const p = `${dir}/${tenant}/${connection}.${n}.psk`;
    if (!exists(p)) return p;
  }
}

/** Reads stdin whole (a PSK piped in: never an argument, which `ps` would show). */
function readStdin(): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((e as NodeJS.ErrnoException).code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    if (chunks.reduce((a, c) => a + c.length, 0) > 8192) break;
  }
  return Buffer.concat(chunks);
}

/** Creates the tenant's folder (0700) if needed, refusing a link where a folder must be. */
function tenantFolder(dir: string): void {
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw new UsageError(`${dir} exists and is not a folder (a link is never followed here)`);
  if (!st) fs.mkdirSync(dir, { mode: 0o700 });
}

export const command: Command = {
  name: 'secret',
  summary: "stage a connection's new PSK in the host's secrets folder for a rotation without a dropped tunnel (secret rotate)",
  details:
    'Writes the new PSK to <secrets-dir>/<tenant>/<connection>.<n>.psk (0600, a new file: the running release keeps\n' +
    'its own) and prints the reference to put in the tenant\'s YAML. --generate makes a 256-bit PSK and prints it\n' +
    'once, for the peer\'s admin; --stdin reads it (the other gateways of the tenant, or a PSK the peer chose).\n' +
    'Nothing in charon changes until the YAML points at the new file and apply replaces the connection\n' +
    'make-before-break. The stages, and the peer\'s side of each: docs/psk-rotation.md, s2sgw peer-config --psk-rotation.\n',
  positionals: [{ name: 'ACTION', description: 'what to do', choices: ['rotate'] }],
  options: {
    tenant: { type: 'string', short: 't', value: 'NAME', required: true, description: 'the tenant whose PSK changes', example: '--tenant contoso' },
    connection: { type: 'string', value: 'IFACE', required: true, description: 'the connection, by its interface name', example: '--connection IfCe1' },
    generate: { type: 'boolean', description: 'make a 256-bit PSK and print it once (for the peer\'s admin)' },
    stdin: { type: 'boolean', description: 'read the PSK from standard input (one line, at least 20 characters)' },
    'secrets-dir': { type: 'string', value: 'DIR', default: '/etc/s2sgw/secrets', description: 'the gateway\'s secrets folder (its file\'s secretsDir)' },
    root: { type: 'string', value: 'DIR', default: '/', description: 'the host\'s root folder (a test root or a chroot)', complete: 'dir' },
  },
  examples: ['s2sgw secret rotate --tenant contoso --connection IfCe1 --generate', 'printf %s "$PSK" | s2sgw secret rotate -t contoso --connection IfCe1 --stdin'],
  async run({ values }, io: Io) {
    // Both required: the parser refuses to run without them.
    const tenant = values.tenant as string;
    const conn = values.connection as string;
    if (!!values.generate === !!values.stdin) throw new UsageError('give exactly one of --generate and --stdin');
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(conn)) throw new UsageError(`--connection ${JSON.stringify(conn)} is not an interface name`);
    const dir = (values['secrets-dir'] as string | undefined) ?? DEFAULT_SECRETS_DIR;
    const dirProblem = secretsDirProblem(dir);
    if (dirProblem) throw new UsageError(`--secrets-dir ${dir}: ${dirProblem}`);
    const root = path.resolve(io.cwd, (values.root as string | undefined) ?? '/');
    const host = (p: string) => path.join(root, p);
    const ref = `file:${rotationPath(dir, tenant, conn, (p) => fs.existsSync(host(p)))}`;
    // The same scope rules as validate and apply: the file is the tenant's own.
    const scoped = scopeRef(ref, tenant, [tenant], dir);
    if (!scoped.ok) throw new UsageError(`tenant ${tenant}: ${scoped.problem}`);
    let psk: string;
    if (values.generate) psk = generatePsk();
    else {
      const v = secretValue(readStdin());
      if ('problem' in v) throw new UsageError(`the PSK on stdin cannot be used: ${v.problem}`);
      if ([...v.value].length < MIN_PSK) throw new UsageError(`the PSK on stdin is shorter than ${MIN_PSK} characters`);
      psk = v.value;
    }
    if (!fs.existsSync(host(dir))) throw new UsageError(`the secrets folder ${host(dir)} does not exist`, 'pass --secrets-dir (the gateway file\'s secretsDir) or --root');
    tenantFolder(host(`${dir}/${tenant}`));
    const file = host(ref.slice(5));
    // A new file only (O_EXCL), never through a link (O_NOFOLLOW), private from its first byte.
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      fs.writeSync(fd, psk + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (values.generate) io.out(`${psk}\n`);
    io.err(
      [
        `wrote the new PSK of ${tenant}/${conn} to ${file} (0600)${values.generate ? '; it is printed above, once: give it to the peer\'s admin over a private channel' : ''}`,
        'next (docs/psk-rotation.md):',
        `  1. the same PSK on the tenant's other gateways: s2sgw secret rotate --tenant ${tenant} --connection ${conn} --stdin`,
        `  2. the peer stages it without touching its SA: s2sgw peer-config --tenant ${tenant} --connection ${conn} --psk-rotation`,
        `  3. in tenants/${tenant}.yaml, connection ${conn}: psk: ${ref}`,
        '     then plan (the connection is `replaced`) and apply: the new IKE_SA authenticates with the new PSK before the old one ends',
        '  4. after s2sgw confirm, remove the old PSK file or variable',
        '',
      ].join('\n'),
    );
    return EXIT.ok;
  },
};
