// Checks tc/s2sgw.tc with the real tc: `tc -batch` twice in a throwaway namespace on stand-in devices named like the XFRM interfaces.
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Diagnostic, error, warning } from '../../model/diagnostics';
import type { CheckInput, RenderedFile } from '../target';
import { run, which, withNetns } from '../../util/exec';
import { bundlePlace, lineAt, originOfLine } from '../nftables/places';

export const FILE = 'tc/s2sgw.tc';

export interface TcFailure {
  /** 1-based line of the batch file; 0 when tc gave none. */
  line: number;
  message: string;
}

/**
 * The kernel's answers when it lacks a module (this build machine has no matchall, no police
 * action): tc parsed the line, the kernel could not load it. Such a line is reported as a warning
 * that says so, since the gateway host's Debian kernel has the module (measured in the lab VM).
 */
const KERNEL_LACKS = [/TC classifier not found/, /Failed to load TC action module/, /Specified qdisc kind is unknown/];

export function kernelLacks(message: string): boolean {
  return KERNEL_LACKS.some((re) => re.test(message));
}

/** Splits `tc -batch` stderr into failures: the lines before each `Command failed FILE:N` belong to line N. */
export function parseTcFailures(stderr: string, code: number): TcFailure[] {
  const out: TcFailure[] = [];
  let pending: string[] = [];
  for (const l of stderr.split('\n')) {
    const m = /^Command failed (.*):(\d+)$/.exec(l.trim());
    if (m) {
      const said = pending.filter((p) => !/^We have an error talking to the kernel/.test(p)).map((p) => p.replace(/^Error: /, ''));
      out.push({ line: Number(m[2]), message: said.join(' ').trim() || 'tc failed' });
      pending = [];
    } else if (l.trim()) pending.push(l.trim());
  }
  if (code !== 0 && (pending.length || !out.length)) out.push({ line: 0, message: pending.slice(0, 3).join(' ') || `exit code ${code}` });
  return out;
}

/** Diagnostics for the failures of each run. Pure. */
export function mapTcFailures(runs: TcFailure[][], file: RenderedFile, input: Pick<CheckInput, 'gateway' | 'tenants'>): Diagnostic[] {
  const out: Diagnostic[] = [];
  const gaps = new Map<string, number[]>();
  const seen = new Set<string>();
  runs.forEach((failures, i) => {
    for (const f of failures) {
      if (seen.has(`${f.line}\0${f.message}`)) continue;
      seen.add(`${f.line}\0${f.message}`);
      if (kernelLacks(f.message)) {
        gaps.set(f.message, [...(gaps.get(f.message) ?? []), f.line]);
        continue;
      }
      const bundle = bundlePlace(input.gateway.name, file.path, Math.max(1, f.line));
      const when = i === 0 ? '' : ' on the second run (the line does not replace in place)';
      if (f.line === 0) {
        out.push(error('tc/check', bundle, `tc -batch failed${when}: ${f.message}`));
        continue;
      }
      const text = lineAt(file, f.line).text.trim();
      const origin = originOfLine(file, f.line, input.tenants);
      const message = `tc rejected ${file.path} line ${f.line}${when}: ${f.message}`;
      out.push(origin ? error('tc/check', origin, message, { related: [{ ...bundle, message: `the rejected line: ${text}` }] }) : error('tc/check', bundle, `${message}: ${text}`));
    }
  });
  for (const [message, lines] of [...gaps].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    out.push(
      warning('tc/kernel-unsupported', bundlePlace(input.gateway.name, file.path, lines[0]), `this machine's kernel cannot load ${lines.length} line${lines.length === 1 ? '' : 's'} of ${file.path}: ${message} (tc accepted the syntax; the kernel lacks the module)`, {
        hint: 'the gateway host needs the cls_u32 and act_police modules (in the Debian kernel); run the check there, or in the lab VM, to load them',
        related: lines.slice(1).map((l) => ({ ...bundlePlace(input.gateway.name, file.path, l), message: 'also not loaded' })),
      }),
    );
  }
  return out;
}

/** Creates a stand-in device per connection interface (ifb, else a veth pair): this kernel cannot make XFRM interfaces. */
function standIns(ns: string, names: string[]): string | undefined {
  const ip = which('ip') ?? 'ip';
  for (const [i, name] of names.entries()) {
    const ifb = spawnSync(ip, ['-n', ns, 'link', 'add', name, 'type', 'ifb'], { encoding: 'utf8' });
    if (ifb.status === 0) continue;
    const veth = spawnSync(ip, ['-n', ns, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `s2sgw-peer${i}`], { encoding: 'utf8' });
    if (veth.status !== 0) return `cannot create a stand-in device ${name}: ${(veth.stderr || ifb.stderr).trim()}`;
  }
  return undefined;
}

/** Runs the rendered file with `tc -force -batch` twice (the second run proves it replaces in place), collecting every failure. */
export async function checkTc(input: CheckInput): Promise<Diagnostic[]> {
  const file = input.files.find((f) => f.path === FILE);
  if (!file) return [];
  const abs = path.join(input.dir, FILE);
  const devices = input.tenants.flatMap((t) => t.connections.map((c) => c.interface)).sort();
  const at1 = bundlePlace(input.gateway.name, FILE, 1);
  try {
    return await withNetns(async (ns) => {
      const problem = standIns(ns, devices);
      if (problem) return [error('tc/check', at1, `cannot check the tc file: ${problem}`)];
      const runs: TcFailure[][] = [];
      for (let i = 0; i < 2; i++) {
        // -force: go on after a failure so every bad line is reported, not only the first.
        const r = await run('tc', ['-force', '-batch', abs], { netns: ns, timeoutMs: 120_000 });
        if (r.missing) return [error('tc/tool-missing', at1, 'tc is not installed, so the rate limits were not checked', { hint: 'install the Debian package iproute2' })];
        runs.push(r.code === 0 ? [] : parseTcFailures(r.stderr, r.code));
      }
      return mapTcFailures(runs, file, input);
    });
  } catch (e) {
    return [error('tc/check', at1, `cannot check the tc file: ${(e as Error).message}`, { hint: 'the check needs root and network namespaces (`ip netns add`)' })];
  }
}
