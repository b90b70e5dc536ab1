// Checks frr/frr.conf with FRR itself: `vtysh -C` for syntax, then zebra+staticd+bgpd in a throwaway namespace, and frr-reload's offline diff.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Diagnostic, error } from '../../model/diagnostics';
import type { CheckInput, RenderedFile } from '../target';
import { run, which, withNetns, withTempDir } from '../../util/exec';

export const FRR_CONF = 'frr/frr.conf';
/** The FRR daemons frr.conf needs: zebra (VRFs, interfaces), staticd (static routes), bgpd. */
export const DAEMONS = ['zebra', 'staticd', 'bgpd'];

/**
 * How many tenants the daemon load takes: FRR's load time grows faster than the file (measured here:
 * 100 tenants 7 s, 300 tenants over 60 s), and the load proves the form of lines the view writes the
 * same way for every tenant. vtysh -C still reads every line.
 */
export const LOAD_CHECK_TENANTS = 40;

/** One line vtysh refused. */
export interface Rejection {
  /** 1-based line in the checked file. */
  line: number;
  message: string;
  /** The refused line as vtysh echoed it, trimmed. */
  text: string;
}

/** vtysh's reply to a refused line: `line 3: % Unknown command[25]:  bogus` (the [n] is its parser node). */
const REJECTED = /^line (\d+): (% [^[\n]*?)(?:\[\d+\])?: ?(.*)$/;

/**
 * `vtysh -C -f FILE`: a syntax check that needs no running daemon. vtysh reads vtysh.conf first, so
 * it runs with a scratch --config_dir holding an empty one: the result does not depend on /etc/frr.
 */
export async function vtyshCheck(file: string): Promise<{ missing: boolean; ok: boolean; rejections: Rejection[]; output: string }> {
  return withTempDir('frr-vtysh', async (dir) => {
    fs.writeFileSync(path.join(dir, 'vtysh.conf'), '');
    const r = await run('vtysh', ['--config_dir', dir, '-C', '-f', file], { timeoutMs: 60_000 });
    const output = `${r.stdout}${r.stderr}`;
    return { missing: !!r.missing, ok: r.code === 0, rejections: parseRejections(output), output };
  });
}

export function parseRejections(output: string): Rejection[] {
  const out: Rejection[] = [];
  for (const l of output.split('\n')) {
    const m = REJECTED.exec(l.trim());
    if (m) out.push({ line: Number(m[1]), message: m[2].replace(/^% /, '').trim(), text: m[3].trim() });
  }
  return out;
}

/** One line frr-reload would change, under its context (e.g. [`router bgp 64512 vrf contoso`, ` address-family ipv4 unicast`]). */
export interface ReloadChange {
  context: string[];
  /** The line as frr-reload prints it, indentation kept. */
  line: string;
}

export interface ReloadDiff {
  /** What frr-reload would remove, printed (as it sends them) as `no ...` commands under their context. */
  delete: ReloadChange[];
  /** Lines frr-reload would add. */
  add: ReloadChange[];
}

export async function reloadDiff(oldFile: string, newFile: string): Promise<ReloadDiff> {
  const vtysh = which('vtysh');
  const args = ['--test', '--input', oldFile, ...(vtysh ? ['--bindir', path.dirname(vtysh)] : []), newFile];
  const r = await run('frr-reload.py', args, { timeoutMs: 120_000 });
  if (r.missing) throw new Error('frr-reload.py not found (Debian package frr-pythontools)');
  if (r.code !== 0) throw new Error(`frr-reload.py --test failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  return parseReloadDiff(r.stdout);
}

/**
 * Parses `frr-reload.py --test` output: under "Lines To Delete" / "Lines To Add", each change is printed
 * after its context lines, deeper levels indented by one more space; a line with nothing more indented
 * after it is a change, the lines above it with less indentation are its context.
 */
export function parseReloadDiff(stdout: string): ReloadDiff {
  const diff: ReloadDiff = { delete: [], add: [] };
  const blocks: Record<'delete' | 'add', string[]> = { delete: [], add: [] };
  let into: string[] | undefined;
  for (const l of stdout.split('\n')) {
    if (l === 'Lines To Delete') into = blocks.delete;
    else if (l === 'Lines To Add') into = blocks.add;
    else if (/^=+$/.test(l) || !l.trim()) continue;
    else into?.push(l);
  }
  const indent = (l: string) => l.length - l.trimStart().length;
  for (const kind of ['delete', 'add'] as const) {
    const lines = blocks[kind];
    const stack: string[] = [];
    lines.forEach((l, i) => {
      while (stack.length && indent(stack[stack.length - 1]) >= indent(l)) stack.pop();
      const next = lines[i + 1];
      if (next !== undefined && indent(next) > indent(l)) stack.push(l);
      else diff[kind].push({ context: [...stack], line: l });
    });
  }
  return diff;
}

/** A change as one line of text: its context and itself, joined by " / ". */
export function describe(c: ReloadChange): string {
  return [...c.context, c.line].map((x) => x.trim()).join(' / ');
}

/** Where each 1-based line of a rendered file comes from: the section holding it. */
function sectionAt(file: RenderedFile, line: number): { tenant?: string; origin?: { file: string; line: number; col: number } } | undefined {
  let n = 0;
  for (const s of file.sections) {
    const count = s.text.split('\n').length - 1;
    if (line > n && line <= n + count) return s;
    n += count;
  }
  return undefined;
}

/** 1-based line numbers of a rendered file's lines equal (after trimming) to text. */
function linesMatching(file: RenderedFile, text: string): number[] {
  const lines = file.sections.map((s) => s.text).join('').split('\n');
  const out: number[] = [];
  lines.forEach((l, i) => {
    if (l.trim() === text.trim()) out.push(i + 1);
  });
  return out;
}

function bundlePlace(input: CheckInput, line: number, message: string) {
  return { file: `out/${input.gateway.name}/${FRR_CONF}`, line, col: 1, message };
}

/** A finding at the YAML place behind a frr.conf line, with the line itself as related place. */
function mapped(input: CheckInput, file: RenderedFile, code: string, line: number, message: string, lineText: string): Diagnostic {
  const s = sectionAt(file, line);
  const at = s?.origin ?? { file: input.gateway.origin.file, line: input.gateway.origin.line, col: input.gateway.origin.col };
  return error(code, at, `${message}${s?.tenant ? ` (tenant ${s.tenant})` : ''}`, {
    related: [bundlePlace(input, line, `rendered line: ${lineText}`)],
  });
}

/** Starts zebra, staticd and bgpd in a namespace with their own pathspace; returns a stop function that ends exactly these processes. */
async function startDaemons(ns: string): Promise<{ stop: () => void; problem?: string }> {
  const rundir = `/run/frr/${ns}`;
  fs.mkdirSync(rundir, { recursive: true });
  // The daemons drop to user frr and write their pid files and sockets here.
  spawnSync('chown', ['frr:frr', rundir]);
  const pids: number[] = [];
  const stop = () => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    const deadline = Date.now() + 5000;
    for (const pid of pids) {
      while (Date.now() < deadline && alive(pid)) spawnSync('sleep', ['0.05']);
      if (alive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    fs.rmSync(rundir, { recursive: true, force: true });
  };
  for (const d of DAEMONS) {
    const bin = which(d);
    if (!bin) return { stop, problem: `${d} not found (Debian package frr)` };
    const pidFile = path.join(rundir, `${d}.pid`);
    // -d daemonizes once the vty socket is open; an empty config: the file under test is loaded with vtysh.
    const r = await run('ip', ['netns', 'exec', ns, bin, '-N', ns, '-d', '-f', '/dev/null', '-i', pidFile], { timeoutMs: 30_000 });
    const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : NaN;
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
    if (r.code !== 0 || !Number.isInteger(pid)) return { stop, problem: `${d} did not start (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-2).join(' | ')}` };
  }
  return { stop };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Differences the load check does not count: with a pathspace (-N) the daemons keep the OS host name
 * whatever `hostname` says (FRR issue #7583); on the gateway FRR runs without one.
 */
function relevant(c: ReloadChange): boolean {
  return !/^\s*(no )?hostname /.test(c.line) && c.line.trim() !== 'exit-vrf';
}

/**
 * Loads the file into real daemons in a throwaway network namespace and compares what they hold
 * with the file through frr-reload: anything left to add or delete was not taken as written (frr-reload
 * lists `exit-vrf` with any VRF change; that is not a difference of its own).
 * This kernel has no VRF module: FRR keeps `vrf X` and `router bgp ASN vrf X` as configuration with
 * an inactive VRF (vrf-id -1), so the whole file still loads and shows in running-config.
 */
export async function loadCheck(file: string): Promise<{ problems: string[]; rejections: Rejection[]; diff?: ReloadDiff }> {
  return withNetns(async (ns) => {
    // The gateway forwards (the sysctl target sets it); zebra reports "no ip forwarding" otherwise.
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    const d = await startDaemons(ns);
    try {
      if (d.problem) return { problems: [d.problem], rejections: [] };
      const load = await run('ip', ['netns', 'exec', ns, which('vtysh') ?? 'vtysh', '-N', ns, '-f', file], { timeoutMs: 60_000 });
      const rejections = parseRejections(`${load.stdout}${load.stderr}`);
      const show = await run('ip', ['netns', 'exec', ns, which('vtysh') ?? 'vtysh', '-N', ns, '-c', 'show running-config no-header'], { timeoutMs: 60_000 });
      if (show.code !== 0) return { problems: [`vtysh show running-config failed (exit ${show.code}): ${show.stderr.trim()}`], rejections };
      return withTempDir('frr-running', async (dir) => {
        const running = path.join(dir, 'running.conf');
        fs.writeFileSync(running, show.stdout);
        const diff = await reloadDiff(running, file);
        return { problems: [], rejections, diff: { delete: diff.delete.filter(relevant), add: diff.add.filter(relevant) } };
      });
    } finally {
      d.stop();
    }
  });
}

/**
 * The target's check: every line through vtysh -C, then the gateway's lines and the first
 * LOAD_CHECK_TENANTS tenants loaded into real daemons; every refusal maps to the tenant's YAML.
 */
export async function checkFrr(input: CheckInput): Promise<Diagnostic[]> {
  const file = input.files.find((f) => f.path === FRR_CONF);
  if (!file) return [];
  const abs = path.join(input.dir, FRR_CONF);
  const gwPlace = { file: input.gateway.origin.file, line: input.gateway.origin.line, col: input.gateway.origin.col };
  const lines = file.sections.map((s) => s.text).join('').split('\n');
  const v = await vtyshCheck(abs);
  if (v.missing) return [error('frr/tool-missing', gwPlace, 'vtysh not found: frr.conf cannot be checked', { hint: 'install the Debian package frr' })];
  const out: Diagnostic[] = v.rejections.map((r) => mapped(input, file, 'frr/check', r.line, `vtysh -C rejected frr.conf line ${r.line}: ${r.message}: ${r.text}`, lines[r.line - 1] ?? r.text));
  if (!v.ok && !out.length) out.push(error('frr/check', gwPlace, `vtysh -C rejected frr.conf: ${v.output.trim() || 'no message'}`, { related: [bundlePlace(input, 1, 'the checked file')] }));
  if (out.length) return out;
  // The daemon load needs frr-reload.py as well.
  if (!which('frr-reload.py')) return [error('frr/tool-missing', gwPlace, 'frr-reload.py not found: frr.conf cannot be compared with what FRR loads', { hint: 'install the Debian package frr-pythontools' })];
  // The gateway's lines and the first tenants' (in name order); lineOf maps the sample's lines back to frr.conf.
  const tenantNames = [...new Set(file.sections.flatMap((s) => (s.tenant === undefined ? [] : [s.tenant])))];
  const keep = new Set(tenantNames.slice(0, LOAD_CHECK_TENANTS));
  const lineOf: number[] = [0];
  let full = 0;
  let sample = '';
  for (const s of file.sections) {
    const n = s.text.split('\n').length - 1;
    if (s.tenant === undefined || keep.has(s.tenant)) {
      for (let i = 1; i <= n; i++) lineOf.push(full + i);
      sample += s.text;
    }
    full += n;
  }
  let l: Awaited<ReturnType<typeof loadCheck>>;
  try {
    l = await withTempDir('frr-sample', async (dir) => {
      const f = path.join(dir, 'frr.conf');
      fs.writeFileSync(f, sample);
      return loadCheck(f);
    });
  } catch (e) {
    return [error('frr/load', gwPlace, `could not load frr.conf into FRR daemons: ${(e as Error).message}`)];
  }
  for (const p of l.problems) out.push(error(/not found/.test(p) ? 'frr/tool-missing' : 'frr/load', gwPlace, p));
  for (const r of l.rejections) {
    const line = lineOf[r.line] ?? 1;
    out.push(mapped(input, file, 'frr/load', line, `FRR refused frr.conf line ${line} when loading it: ${r.message}: ${r.text}`, lines[line - 1] ?? r.text));
  }
  if (l.diff) {
    const pending = [...l.diff.delete.map((c) => ['delete', c] as const), ...l.diff.add.map((c) => ['add', c] as const)];
    for (const [kind, c] of pending) {
      // The line itself, else its outermost context (`vrf X`, `router bgp N vrf X`: one tenant's).
      const at = [c.line.replace(/^(\s*)no /, '$1'), ...c.context].map((x) => linesMatching(file, x)[0]).find((n) => n !== undefined) ?? 1;
      out.push(mapped(input, file, 'frr/load', at, `after loading frr.conf, FRR's running configuration still differs from it: frr-reload would ${kind} "${describe(c)}"`, lines[at - 1] ?? ''));
    }
  }
  return out;
}
