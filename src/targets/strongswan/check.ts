// Checks the rendered swanctl files with a real charon in a throwaway network namespace and maps its complaints back to the YAML.
import { spawn, ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Diagnostic, Place, Related } from '../../model/diagnostics';
import { error } from '../../model/diagnostics';
import type { CheckInput, RenderedFile, Section } from '../target';
import { text } from '../target';
import { run, which, withNetns, withTempDir } from '../../util/exec';
import { secretsConf } from './secrets';
import { CHARON_SNIPPET_PATH, SECRETS_REFS_PATH, UPDOWN_PATH } from './view';

const CODE = 'strongswan/check';
const MISSING = 'strongswan/tool-missing';
/** charon opens its VICI socket in well under a second; this is the give-up point, not a wait. */
const SOCKET_DEADLINE_MS = 20_000;
const SWANCTL_TIMEOUT_MS = 300_000;

/**
 * The swanctl.conf apply (and this check) loads: the bundle's tenant files, then the secrets block
 * made by secretsConf(). `confGlob` is the path of conf.d/*.conf, absolute or relative to the file.
 */
export function mainConf(confGlob: string, secrets: string): string {
  return `include ${confGlob}\n${secrets}`;
}

/**
 * Plugins that would touch the host outside the namespace (sockets in /run, /etc/resolv.conf,
 * DHCP, ARP) or only log noise; the check's charon runs without them.
 */
const QUIET_PLUGINS = ['certexpire', 'dhcp', 'error-notify', 'farp', 'ha', 'led', 'lookip', 'pkcs11', 'resolve', 'tpm'];

function strongswanConf(sock: string, snippet: string): string {
  return [
    'charon {',
    '  load_modular = yes',
    '  filelog {',
    '    stderr {',
    '      default = 1',
    '    }',
    '  }',
    '  plugins {',
    '    include /etc/strongswan.d/charon/*.conf',
    '    vici {',
    `      socket = unix://${sock}`,
    '    }',
    ...QUIET_PLUGINS.map((p) => `    ${p} {\n      load = no\n    }`),
    '  }',
    '}',
    'charon-systemd {',
    '  journal {',
    '    default = -1',
    '  }',
    '}',
    // The bundle's own snippet, as the host will include it from /etc/strongswan.d/.
    `include ${snippet}`,
    '',
  ].join('\n');
}

/** Where a rendered line is: its file in the bundle, its 1-based line, and the section that holds it. */
interface Spot {
  file: RenderedFile;
  line: number;
  section?: Section;
  text: string;
}

function spotAt(file: RenderedFile, line: number): Spot {
  let start = 1;
  for (const s of file.sections) {
    const n = s.text.split('\n').length - 1;
    if (line >= start && line < start + n) return { file, line, section: s, text: s.text.split('\n')[line - start] };
    start += n;
  }
  return { file, line, text: '' };
}

function toDiagnostic(gwName: string, fallback: Place, spot: Spot | undefined, message: string, hint?: string, who = 'swanctl rejected'): Diagnostic {
  const rendered: Place | undefined = spot ? { file: `out/${gwName}/${spot.file.path}`, line: spot.line, col: Math.max(1, spot.text.search(/\S/) + 1) } : undefined;
  const primary = spot?.section?.origin ?? rendered ?? fallback;
  const related: Related[] = [];
  if (rendered && primary !== rendered) related.push({ ...rendered, message: `rendered line: ${spot!.text.trim()}` });
  const where = spot ? `${spot.file.path}:${spot.line}: ` : '';
  return error(CODE, primary, `${who} ${where}${message}`, { related, ...(hint ? { hint } : {}) });
}

/** The 1-based line of `key = ` inside connection `name`'s block of a conf file, or its header line. */
function findInConnection(file: RenderedFile, name: string, key?: string): number | undefined {
  const lines = text(file).split('\n');
  const start = lines.findIndex((l) => l === `  ${name} {`);
  if (start < 0) return undefined;
  if (key) {
    for (let i = start + 1; i < lines.length && lines[i] !== '  }'; i++) if (lines[i].trim().startsWith(`${key} =`)) return i + 1;
  }
  return start + 1;
}

/** Waits for a path to appear, polling; false when the deadline passes or `gone()` says the daemon died. */
async function waitFor(p: string, deadlineMs: number, gone: () => boolean): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (fs.existsSync(p)) return true;
    if (gone()) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return fs.existsSync(p);
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), 5000));
  if ((await Promise.race([exited.then(() => 'done' as const), timer])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
}

/** A throwaway CA and gateway certificate made by strongSwan's pki tool, for identity paths that do not exist here. */
async function throwawayPki(dir: string): Promise<{ ca: string; cert: string; key: string } | string> {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n: string) => path.join(dir, n);
  const steps: Array<[string, string[]]> = [
    [f('ca.key'), ['--gen', '--type', 'ecdsa', '--size', '256', '--outform', 'pem']],
    [f('ca.pem'), ['--self', '--ca', '--lifetime', '2', '--in', f('ca.key'), '--type', 'ecdsa', '--dn', 'CN=s2sgw check CA', '--outform', 'pem']],
    [f('gw.key'), ['--gen', '--type', 'ecdsa', '--size', '256', '--outform', 'pem']],
    [f('gw.pub'), ['--pub', '--in', f('gw.key'), '--type', 'ecdsa', '--outform', 'pem']],
    [f('gw.pem'), ['--issue', '--lifetime', '2', '--cacert', f('ca.pem'), '--cakey', f('ca.key'), '--in', f('gw.pub'), '--type', 'pub', '--dn', 'CN=s2sgw check gateway', '--outform', 'pem']],
  ];
  for (const [out, args] of steps) {
    const r = await run('pki', args, { timeoutMs: 30_000 });
    if (r.missing) return 'pki';
    if (r.code !== 0) throw new Error(`pki ${args[0]} failed: ${r.stderr.trim()}`);
    fs.writeFileSync(out, r.stdout);
  }
  return { ca: f('ca.pem'), cert: f('gw.pem'), key: f('gw.key') };
}

/** Runs charon-systemd and swanctl on the rendered strongSwan files; every rejection is a diagnostic. */
export async function check(input: CheckInput): Promise<Diagnostic[]> {
  return (await checkLoaded(input)).diagnostics;
}

export interface CheckResult {
  diagnostics: Diagnostic[];
  /** The connection names charon held after loading, sorted (empty when it never got that far). */
  loaded: string[];
}

/** check(), also saying what charon loaded. */
export async function checkLoaded(input: CheckInput): Promise<CheckResult> {
  let loaded: string[] = [];
  const diagnostics = await runCheck(input, (names) => (loaded = names));
  return { diagnostics, loaded };
}

async function runCheck(input: CheckInput, onLoaded: (names: string[]) => void): Promise<Diagnostic[]> {
  try {
    return await checkIn(input, onLoaded);
  } catch (e) {
    // No namespace (not root), an unwritable temp folder, pki failing: the check could not run, which is never a pass.
    const gw = input.gateway;
    return [error(CODE, { file: gw.origin.file, line: gw.origin.line, col: gw.origin.col }, `cannot check the strongSwan files: ${(e as Error).message}`, { hint: 'the check runs charon in a network namespace: run it as root' })];
  }
}

async function checkIn(input: CheckInput, onLoaded: (names: string[]) => void): Promise<Diagnostic[]> {
  const gw = input.gateway;
  const gwPlace: Place = { file: gw.origin.file, line: gw.origin.line, col: gw.origin.col };
  const missing = ['charon-systemd', 'swanctl', 'ip'].filter((p) => !which(p));
  if (missing.length) {
    return [error(MISSING, gwPlace, `cannot check the strongSwan files: ${missing.join(', ')} not found`, { hint: 'install the Debian packages charon-systemd and strongswan-swanctl (and iproute2)' })];
  }
  const confs = input.files.filter((f) => f.path.startsWith('swanctl/conf.d/') && f.path.endsWith('.conf')).sort((a, b) => (a.path < b.path ? -1 : 1));
  const byPath = new Map(input.files.map((f) => [f.path, f]));
  const out: Diagnostic[] = [];

  // The updown hook is plain sh: at least it must parse.
  const updown = byPath.get(UPDOWN_PATH);
  if (updown) {
    const r = await run('sh', ['-n', path.join(input.dir, UPDOWN_PATH)], { timeoutMs: 10_000 });
    if (r.code !== 0) {
      // dash says "FILE: LINE: message", bash "FILE: line LINE: message".
      const m = /^.*?: (?:line )?(\d+): (.*)$/m.exec(r.stderr);
      out.push(toDiagnostic(gw.name, gwPlace, m ? spotAt(updown, Number(m[1])) : undefined, m ? m[2] : r.stderr.trim(), undefined, 'sh -n rejected'));
    }
  }

  return withTempDir('swan', async (tmp) => {
    const swdir = path.join(tmp, 'swanctl');
    for (const d of ['conf.d', 'private', 'x509', 'x509ca']) fs.mkdirSync(path.join(swdir, d), { recursive: true });

    // Identity files named by the gateway that do not exist here are replaced by throwaway ones, line for line.
    let pki: { ca: string; cert: string; key: string } | undefined;
    const certPaths = new Set<string>();
    for (const f of confs) for (const m of text(f).matchAll(/^\s*(?:certs|cacerts) = "([^"]*)"$/gm)) for (const p of m[1].split(',')) if (!fs.existsSync(p)) certPaths.add(p);
    if (certPaths.size) {
      const made = await throwawayPki(path.join(tmp, 'pki'));
      if (typeof made === 'string') return [...out, error(MISSING, gwPlace, `cannot check certificate connections: ${made} (strongSwan's pki tool) not found`, { hint: 'install the Debian package strongswan-pki' })];
      pki = made;
      fs.copyFileSync(pki.key, path.join(swdir, 'private', 'gw.key'));
    }
    const copyOf = (f: RenderedFile): string =>
      text(f)
        .split('\n')
        .map((l) => {
          const m = /^(\s*)(certs|cacerts) = "([^"]*)"$/.exec(l);
          if (!m || !pki) return l;
          const paths = m[3].split(',').map((p) => (fs.existsSync(p) ? p : m[2] === 'certs' ? pki!.cert : pki!.ca));
          return `${m[1]}${m[2]} = "${paths.join(',')}"`;
        })
        .join('\n');
    const copies = new Map<string, RenderedFile>();
    for (const f of confs) {
      const name = path.basename(f.path);
      fs.writeFileSync(path.join(swdir, 'conf.d', name), copyOf(f));
      copies.set(name, f);
    }
    const refs = byPath.get(SECRETS_REFS_PATH);
    let secrets = 'secrets {\n}\n';
    try {
      secrets = refs ? secretsConf(text(refs), () => `s2sgw-check-${randomBytes(12).toString('hex')}`) : secrets;
    } catch (e) {
      out.push(toDiagnostic(gw.name, gwPlace, refs ? spotAt(refs, 1) : undefined, (e as Error).message));
    }
    const mainFile = path.join(swdir, 'swanctl.conf');
    fs.writeFileSync(mainFile, mainConf('conf.d/*.conf', secrets));

    // The VICI socket path must fit a sockaddr_un (108 bytes); TMPDIR may be long.
    let sockDir = tmp;
    if (path.join(tmp, 'charon.vici').length > 100) sockDir = fs.mkdtempSync('/tmp/s2sgw-vici-');
    const sock = path.join(sockDir, 'charon.vici');
    const uri = `unix://${sock}`;
    const confFile = path.join(tmp, 'strongswan.conf');
    fs.writeFileSync(confFile, strongswanConf(sock, path.join(input.dir, CHARON_SNIPPET_PATH)));
    const logFile = path.join(tmp, 'charon.log');

    try {
      await withNetns(async (ns) => {
        const log = fs.openSync(logFile, 'w');
        const child = spawn(which('ip')!, ['netns', 'exec', ns, which('charon-systemd')!], { env: { ...process.env, STRONGSWAN_CONF: confFile }, stdio: ['ignore', log, log] });
        fs.closeSync(log);
        let gone = false;
        const exited = new Promise<void>((r) => child.on('exit', () => ((gone = true), r())));
        child.on('error', () => (gone = true));
        try {
          if (!(await waitFor(sock, SOCKET_DEADLINE_MS, () => gone))) {
            out.push(error(CODE, gwPlace, `charon-systemd did not open its VICI socket within ${SOCKET_DEADLINE_MS / 1000} s: ${tail(logFile)}`));
            return;
          }
          const env = { ...process.env, SWANCTL_DIR: swdir };
          const load = await run('swanctl', ['--load-all', '--noprompt', '--file', mainFile, '--uri', uri], { env, timeoutMs: SWANCTL_TIMEOUT_MS });
          const list = await run('swanctl', ['--list-conns', '--uri', uri], { env, timeoutMs: SWANCTL_TIMEOUT_MS });
          onLoaded(loadedConnections(list.stdout));
          out.push(...interpret(input, copies, swdir, load.stdout + load.stderr, load.code, list.stdout, gwPlace));
          const pols = await run('ip', ['-n', ns, 'xfrm', 'policy', 'list'], { timeoutMs: 60_000 });
          out.push(...missingTraps(gw.name, gwPlace, [...copies.values()], new Set(loadedConnections(list.stdout)), pols.stdout));
        } finally {
          await stop(child, exited);
        }
      });
    } finally {
      if (sockDir !== tmp) fs.rmSync(sockDir, { recursive: true, force: true });
    }
    return out;
  });
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ') || '(no log)';
  } catch {
    return '(no log)';
  }
}

/**
 * On-demand connections must leave trap policies in the kernel tagged with their if_id: that is what
 * makes routed traffic dial the tunnel. Only connections to an IP literal (a DNS name cannot be
 * resolved in the namespace) that charon loaded are expected to have them.
 */
export function missingTraps(gwName: string, gwPlace: Place, confs: RenderedFile[], loaded: Set<string>, policies: string): Diagnostic[] {
  const have = new Set([...policies.matchAll(/^\s*if_id (0x[0-9a-f]+)$/gm)].map((m) => Number(m[1])));
  const out: Diagnostic[] = [];
  for (const f of confs) {
    for (const s of f.sections) {
      const name = /^ {2}([A-Za-z0-9_-]+) \{$/m.exec(s.text)?.[1];
      const ifId = /^\s*if_id_out = (\d+)$/m.exec(s.text)?.[1];
      const remote = /^\s*remote_addrs = "([^"]*)"$/m.exec(s.text)?.[1];
      if (!name || !ifId || !remote || !loaded.has(name) || !/start_action = trap\b/.test(s.text) || !/^[0-9.]+$|:/.test(remote)) continue;
      if (have.has(Number(ifId))) continue;
      const line = findInConnection(f, name, 'start_action');
      out.push(toDiagnostic(gwName, gwPlace, line ? spotAt(f, line) : undefined, `connection ${name}: no trap policy with if_id ${ifId} in the kernel, so routed traffic would not dial it`, undefined, 'charon loaded'));
    }
  }
  return out;
}

import { loadedConnections } from './host';
export { loadedConnections };

/** Turns swanctl's output into diagnostics; every expected connection must be loaded. */
function interpret(input: CheckInput, copies: Map<string, RenderedFile>, swdir: string, output: string, code: number, listOutput: string, gwPlace: Place): Diagnostic[] {
  const gw = input.gateway;
  const out: Diagnostic[] = [];
  const reported = new Set<string>();
  const owner = new Map<string, RenderedFile>();
  for (const t of input.tenants) for (const c of t.connections) owner.set(c.interface, copies.get(`${t.name}.conf`)!);
  const confDir = path.join(swdir, 'conf.d') + '/';
  let unexplained = false;
  for (const line of output.split('\n')) {
    if (!line.trim() || line.startsWith('opening directory')) continue;
    let m: RegExpExecArray | null;
    if (line.startsWith(confDir) && (m = /^([^:]+):(\d+): (.*)$/.exec(line))) {
      const f = copies.get(path.basename(m[1]));
      out.push(toDiagnostic(gw.name, gwPlace, f ? spotAt(f, Number(m[2])) : undefined, m[3], 'a syntax error makes swanctl --load-all unload every connection on the host'));
      for (const n of owner.keys()) reported.add(n); // nothing from this file set was loaded
      continue;
    }
    if ((m = /^loading connection '([^']+)' failed: (.*)$/.exec(line))) {
      const name = m[1];
      const key = /(?:invalid value for|unknown option): (\w+)/.exec(m[2])?.[1];
      const f = owner.get(name);
      const ln = f ? findInConnection(f, name, key) : undefined;
      out.push(toDiagnostic(gw.name, gwPlace, f && ln ? spotAt(f, ln) : undefined, `connection ${name}: ${m[2]}`, key === 'proposals' || key === 'esp_proposals' ? 'list the algorithms this strongSwan knows with `swanctl --list-algs`' : undefined));
      reported.add(name);
      continue;
    }
    if (/failed|error|invalid/i.test(line) && !/^loaded \d+ of \d+ connections/.test(line) && !/^invalid config file/.test(line)) {
      // e.g. "loading certs certificate '/x.pem' failed": find the quoted value in the rendered lines.
      const quoted = /'([^']+)'/.exec(line)?.[1];
      let spot: Spot | undefined;
      if (quoted) {
        for (const f of copies.values()) {
          const idx = fs.readFileSync(path.join(confDir, path.basename(f.path)), 'utf8').split('\n').findIndex((l) => l.includes(quoted));
          if (idx >= 0) {
            spot = spotAt(f, idx + 1);
            break;
          }
        }
      }
      out.push(toDiagnostic(gw.name, gwPlace, spot, line.trim()));
      const conn = spot?.section?.text.match(/^ {2}([A-Za-z0-9_-]+) \{$/m)?.[1];
      if (conn) reported.add(conn);
      else unexplained = true;
    }
  }
  const loaded = new Set(loadedConnections(listOutput));
  for (const t of input.tenants) {
    for (const c of [...t.connections].sort((a, b) => (a.interface < b.interface ? -1 : 1))) {
      if (loaded.has(c.interface) || reported.has(c.interface)) continue;
      const f = owner.get(c.interface);
      const ln = f ? findInConnection(f, c.interface) : undefined;
      out.push(toDiagnostic(gw.name, gwPlace, f && ln ? spotAt(f, ln) : undefined, `charon did not load connection ${c.interface}${unexplained ? '' : ` (swanctl exit ${code}: ${output.trim().split('\n').filter((l) => !l.startsWith('opening directory')).slice(-2).join(' | ')})`}`));
    }
  }
  const expected = new Set(owner.keys());
  for (const n of loaded) if (!expected.has(n)) out.push(error(CODE, gwPlace, `charon loaded connection ${n}, which no tenant of gateway ${gw.name} has`));
  return out;
}
