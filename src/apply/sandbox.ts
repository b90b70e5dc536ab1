// A throwaway gateway host for apply's tests and the lab: a network namespace, a --root folder, charon with a private VICI socket, FRR with -N.
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { which } from '../util/exec';
import type { RunnerOptions } from './runner';

export interface Sandbox {
  ns: string;
  root: string;
  vici: string;
  pathspace?: string;
  /** Runner options aimed at this sandbox. */
  runner(extra?: Partial<RunnerOptions>): RunnerOptions;
  /** Runs a command in the namespace (test assertions; not the runner). */
  sh(program: string, args: string[]): { code: number; stdout: string; stderr: string };
  close(): Promise<void>;
}

const CHARON_QUIET = ['certexpire', 'dhcp', 'error-notify', 'farp', 'ha', 'led', 'lookip', 'pkcs11', 'resolve', 'tpm'];

function ipx(args: string[]): void {
  const r = spawnSync(which('ip') ?? 'ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** With S2SGW_SANDBOX_LOGS=<dir>, a closing sandbox's charon.log is copied there (as <namespace>.log) before its root goes. */
function keepLog(root: string, ns: string): void {
  const dir = process.env.S2SGW_SANDBOX_LOGS;
  if (!dir) return;
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(root, 'charon.log'), path.join(dir, `${ns}.log`));
  } catch {
    /* no log */
  }
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/**
 * Creates the namespace and root; starts charon (always) and FRR's zebra, staticd and bgpd (with `frr`).
 * A missing daemon binary is an error, never a silent skip.
 */
export async function openSandbox(opts: { frr?: boolean; charon?: boolean; libipsec?: boolean } = {}): Promise<Sandbox> {
  const id = randomBytes(4).toString('hex');
  const ns = `s2sgw-apl-${id}`;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-apply-root-'));
  const children: ChildProcess[] = [];
  const frrPids: number[] = [];
  ipx(['netns', 'add', ns]);
  ipx(['-n', ns, 'link', 'set', 'lo', 'up']);
  const sh = (program: string, args: string[]) => {
    const r = spawnSync(which('ip') ?? 'ip', ['netns', 'exec', ns, which(program) ?? program, ...args], { encoding: 'utf8' });
    return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  // The host's swanctl.conf as Debian ships it: conf.d/*.conf next to it.
  fs.mkdirSync(path.join(root, 'etc/swanctl/conf.d'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/swanctl/swanctl.conf'), `include ${path.join(root, 'etc/swanctl/conf.d')}/*.conf\n`);
  const sock = path.join(root, 'run/charon.vici');
  const vici = `unix://${sock}`;
  let pathspace: string | undefined;
  const close = async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    for (const pid of frrPids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const pid of frrPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    spawnSync(which('ip') ?? 'ip', ['netns', 'del', ns]);
    keepLog(root, ns);
    if (pathspace) fs.rmSync(`/run/frr/${pathspace}`, { recursive: true, force: true });
    fs.rmSync(root, { recursive: true, force: true });
  };
  try {
    if (opts.charon !== false) {
      const bin = which('charon-systemd');
      if (!bin) throw new Error('charon-systemd not found (Debian package charon-systemd)');
      fs.mkdirSync(path.dirname(sock), { recursive: true });
      const conf = path.join(root, 'etc/strongswan.conf');
      fs.mkdirSync(path.join(root, 'etc/strongswan.d'), { recursive: true });
      fs.writeFileSync(
        conf,
        [
          'charon {',
          '  load_modular = yes',
          '  install_routes = no',
          `  filelog {\n    log {\n      path = ${path.join(root, 'charon.log')}\n      time_format = %H:%M:%S\n      time_add_ms = yes\n      default = ${process.env.S2SGW_SANDBOX_LOGLEVEL ?? 1}\n      flush_line = yes\n    }\n  }`,
          '  plugins {',
          '    include /etc/strongswan.d/charon/*.conf',
          `    vici {\n      socket = ${vici}\n    }`,
          ...CHARON_QUIET.map((p) => `    ${p} {\n      load = no\n    }`),
          // ESP in charon's own process (a TUN device): this kernel has no ESP module, so tests that bring SAs up use it.
          ...(opts.libipsec ? ['    kernel-libipsec {\n      load = yes\n    }'] : []),
          '  }',
          '}',
          'charon-systemd {\n  journal {\n    default = -1\n  }\n}',
          `include ${path.join(root, 'etc/strongswan.d')}/*.conf`,
          '',
        ].join('\n'),
      );
      const child = spawn(which('ip') ?? 'ip', ['netns', 'exec', ns, bin], { env: { ...process.env, STRONGSWAN_CONF: conf }, stdio: 'ignore' });
      children.push(child);
      await waitFor(() => fs.existsSync(sock) || child.exitCode !== null, 20_000, 'charon to open its VICI socket');
      if (!fs.existsSync(sock)) throw new Error(`charon exited (${child.exitCode}) before opening ${sock}`);
    }
    if (opts.frr) {
      pathspace = ns;
      const rundir = `/run/frr/${ns}`;
      fs.mkdirSync(rundir, { recursive: true });
      spawnSync('chown', ['frr:frr', rundir]);
      sh('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
      for (const d of ['zebra', 'staticd', 'bgpd']) {
        const bin = which(d);
        if (!bin) throw new Error(`${d} not found (Debian package frr)`);
        const pidFile = path.join(rundir, `${d}.pid`);
        const r = spawnSync(which('ip') ?? 'ip', ['netns', 'exec', ns, bin, '-N', ns, '-d', '-f', '/dev/null', '-i', pidFile], { encoding: 'utf8', timeout: 30_000 });
        const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : NaN;
        if (Number.isInteger(pid)) frrPids.push(pid);
        if (r.status !== 0 || !Number.isInteger(pid)) throw new Error(`${d} did not start: ${r.stderr}`);
      }
    }
  } catch (e) {
    await close();
    throw e;
  }
  return {
    ns,
    root,
    vici,
    pathspace,
    runner: (extra = {}) => ({ root, netns: ns, vici, frrPathspace: pathspace, ...extra }),
    sh,
    close,
  };
}

/** A tenant of a fixture bundle: enough for a manifest entry with a summary the plan's impact can compare. */
export interface FixtureTenant {
  /** `ike`/`esp`: the summary's proposals and lifetime (default aes256gcm16-prfsha384-ecp384 8h, aes256gcm16-ecp384 1h). */
  connections: Record<string, { destination: string; auth: string; ifId: number; ike?: { proposals: string[]; lifetime: string }; esp?: { proposals: string[]; lifetime: string } }>;
  network: string;
  table: number;
}

/**
 * Writes a bundle folder from a fixture folder (the bundle's files plus tenants.json) with a manifest
 * built the way src/bundle/bundle.ts builds it: every file's sha256, per-tenant digests over the files
 * that name the tenant, and a summary per tenant.
 */
export function fixtureBundle(src: string, out: string): void {
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
  const tenants = JSON.parse(fs.readFileSync(path.join(src, 'tenants.json'), 'utf8')) as Record<string, FixtureTenant>;
  fs.rmSync(out, { recursive: true, force: true });
  const files: Record<string, { sha256: string; mode: string }> = {};
  const texts = new Map<string, string>();
  const walk = (rel: string) => {
    for (const n of fs.readdirSync(path.join(src, rel)).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (r === 'tenants.json') continue;
      const st = fs.statSync(path.join(src, r));
      if (st.isDirectory()) walk(r);
      else {
        const c = fs.readFileSync(path.join(src, r), 'utf8');
        texts.set(r, c);
        const mode = r.endsWith('.sh') ? 0o755 : r.startsWith('netplan/') && r.endsWith('.yaml') ? 0o600 : 0o644;
        files[r] = { sha256: sha(c), mode: mode.toString(8).padStart(4, '0') };
        fs.mkdirSync(path.dirname(path.join(out, r)), { recursive: true });
        fs.writeFileSync(path.join(out, r), c, { mode });
      }
    }
  };
  walk('');
  const owns = (t: string, line: string, p = '') => {
    if (p.startsWith('swanctl/conf.d/')) return p === `swanctl/conf.d/${t}.conf`;
    const names = [t, tenants[t].network, ...Object.keys(tenants[t].connections)];
    return line.split(/[^A-Za-z0-9_-]+/).some((w) => names.includes(w));
  };
  const manifestTenants: Record<string, unknown> = {};
  let gw = '';
  for (const [p, c] of [...texts].sort()) for (const line of c.split('\n')) if (!Object.keys(tenants).some((t) => owns(t, line, p))) gw += `${p}\0${line}\n`;
  for (const [t, d] of Object.entries(tenants).sort()) {
    let h = '';
    for (const [p, c] of [...texts].sort()) for (const line of c.split('\n')) if (owns(t, line, p)) h += `${p}\0${line}\n`;
    const connections = Object.fromEntries(
      Object.entries(d.connections)
        .sort()
        .map(([name, c], i) => [
          name,
          {
            line: 10 + i,
            lines: Object.fromEntries(['auth', 'destination', 'source', 'rate', 'ike', 'esp', 'dpd', 'connect'].map((k) => [k, 10 + i])),
            ifId: c.ifId,
            auth: c.auth,
            destination: c.destination,
            source: '10.99.0.1',
            connect: 'on-demand',
            ike: c.ike ?? { proposals: ['aes256gcm16-prfsha384-ecp384'], lifetime: '8h' },
            esp: c.esp ?? { proposals: ['aes256gcm16-ecp384'], lifetime: '1h' },
            dpd: '30s',
            rate: { txKbps: 5120, rxKbps: 5120 },
            routes: [],
            postConnectRoutes: [],
          },
        ]),
    );
    manifestTenants[t] = {
      digest: sha(h),
      file: `tenants/${t}.yaml`,
      connections: Object.keys(d.connections).sort(),
      summary: {
        file: `tenants/${t}.yaml`,
        line: 2,
        routingDomain: '{00000000-0000-0000-0000-000000000000}',
        vrf: { table: d.table, zone: d.table - 1000 },
        network: { interface: d.network, vlan: d.table + 3000, vteps: [], addresses: [], line: 5 },
        connections,
        filters: {},
      },
    };
  }
  const manifest = { compiler: 's2sgw fixture', gateway: 'gw1', gatewayDigest: sha(gw), tenants: manifestTenants, files };
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
}

/** The fixture secrets: woodgrove's PSK in a 0600 file under the root, contoso's in the environment. */
export const FIXTURE_ENV = { CONTOSO_PSK: 'contoso-psk-0123456789-abcdef' };
export const WOODGROVE_PSK = 'woodgrove-psk-0123456789-abcdef';
/** The fixture bundles' tenants and their connections, as their manifests list them (each secret's scope). */
export const FIXTURE_SCOPE = { tenants: { contoso: { connections: ['IfCe1'] }, woodgrove: { connections: ['IfWe1', 'IfWe2'] } } };

/** Prepares a sandbox for the fixture bundles: the secret file, and veth stand-ins for the XFRM devices tc shapes. */
export function prepareFixtureHost(sb: Sandbox): void {
  const dir = path.join(sb.root, 'etc/s2sgw/secrets');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'woodgrove'), WOODGROVE_PSK + '\n', { mode: 0o600 });
  for (const d of ['IfCe1', 'IfWe1', 'IfWe2']) {
    const r = sb.sh('ip', ['link', 'add', d, 'type', 'veth', 'peer', 'name', `${d}p`]);
    if (r.code !== 0) throw new Error(`veth ${d}: ${r.stderr}`);
  }
}

/** Everything apply controls on a sandbox host, as one comparable value. */
export function fingerprint(sb: Sandbox): Record<string, string> {
  const read = (p: string) => {
    try {
      return fs.readFileSync(path.join(sb.root, p), 'utf8');
    } catch {
      return '(absent)';
    }
  };
  let current = '(none)';
  try {
    current = path.basename(fs.readlinkSync(path.join(sb.root, 'var/lib/s2sgw/current')));
  } catch {
    /* none */
  }
  const conns = sb.sh('swanctl', ['--list-conns', '--uri', sb.vici]).stdout.split('\n').filter((l) => /^\S+: IKEv/.test(l)).map((l) => l.split(':')[0]).sort().join(',');
  const out: Record<string, string> = {
    current,
    // The applied release as the state file says (its `previous` is bookkeeping that moves with every apply).
    state: (() => {
      const t = read('var/lib/s2sgw/state.json');
      return t === '(absent)' ? t : String(JSON.parse(t).current);
    })(),
    'etc/frr/frr.conf': read('etc/frr/frr.conf'),
    'etc/sysctl.d/90-s2sgw.conf': read('etc/sysctl.d/90-s2sgw.conf'),
    'etc/swanctl/conf.d/s2sgw.conf': read('etc/swanctl/conf.d/s2sgw.conf'),
    nft: sb.sh('nft', ['list', 'ruleset']).stdout.replace(/counter packets \d+ bytes \d+/g, 'counter'),
    charon: conns,
    tc: sb.sh('tc', ['qdisc', 'show']).stdout.split('\n').filter((l) => /tbf/.test(l)).map((l) => l.replace(/^qdisc tbf [0-9a-f]+: /, '').replace(/ refcnt \d+/, '')).sort().join('\n'),
  };
  if (sb.pathspace) out.frr = sb.sh('vtysh', ['-N', sb.pathspace, '-c', 'show running-config no-header']).stdout;
  return out;
}
