// Checks sysctl/90-s2sgw.conf with the real `sysctl -p` in a throwaway network namespace (every key is per namespace), then reads the values back.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Diagnostic, error, Place, warning } from '../../model/diagnostics';
import type { CheckInput, RenderedFile } from '../target';
import { text } from '../target';
import { run, withNetns, withTempDir } from '../../util/exec';
import { kernelGapSeverity } from '../links/lines';
import { keyPath, MODULE_KEYS } from './view';

/** The settings of a sysctl.d file: 1-based line, key, value. Comments and blanks skipped. */
export function parseSysctl(s: string): Array<{ line: number; key: string; value: string }> {
  const out: Array<{ line: number; key: string; value: string }> = [];
  s.split('\n').forEach((l, i) => {
    const t = l.trim();
    if (!t || t.startsWith('#') || t.startsWith(';')) return;
    const eq = t.indexOf('=');
    if (eq > 0) out.push({ line: i + 1, key: t.slice(0, eq).trim(), value: t.slice(eq + 1).trim() });
  });
  return out;
}

const CANNOT_STAT = /cannot stat \/proc\/sys\/(\S+?):/;

export async function checkSysctl(input: CheckInput, confPath: string, modulesPath: string): Promise<Diagnostic[]> {
  const file = input.files.find((f) => f.path === confPath);
  const gw: Place = { file: input.gateway.origin.file, line: input.gateway.origin.line, col: input.gateway.origin.col };
  const diags: Diagnostic[] = [];
  const modules = input.files.find((f) => f.path === modulesPath);
  if (modules) diags.push(...checkModules(modules, gw));
  if (!file) return diags;
  const settings = parseSysctl(text(file));
  const r0 = await run('sysctl', ['--version']);
  if (r0.missing) return [...diags, error('sysctl/tool-missing', gw, `cannot check ${confPath}: sysctl is not installed`, { hint: 'apt-get install procps' })];
  const result = await withTempDir('sysctl', async (dir) => {
    const conf = path.join(dir, '90-s2sgw.conf');
    fs.writeFileSync(conf, text(file));
    return withNetns(async (ns) => {
      // Per-interface keys need the interface: a veth stand-in named like the external NIC.
      await run('ip', ['link', 'add', 'name', input.gateway.external.interface, 'type', 'veth', 'peer', 'name', 's2sgw-peer0'], { netns: ns });
      const applied = await run('sysctl', ['-p', conf], { netns: ns });
      const present = settings.filter((s) => fs.existsSync(path.join('/proc/sys', keyPath(s.key))) || !MODULE_KEYS.some((m) => keyPath(s.key).startsWith(m.prefix)));
      const back = await run('sysctl', present.map((s) => s.key), { netns: ns });
      return { applied, back };
    });
  });
  const missing = new Set<string>();
  for (const l of result.applied.stderr.split('\n')) {
    const m = CANNOT_STAT.exec(l);
    if (m) missing.add(m[1]);
  }
  const gap: string[] = [];
  for (const s of settings) {
    const p = keyPath(s.key);
    if (!missing.has(p)) continue;
    const mod = MODULE_KEYS.find((k) => p.startsWith(k.prefix));
    if (mod) gap.push(`${s.key} (line ${s.line}, module ${mod.module})`);
    else diags.push(error('sysctl/check', gw, `${confPath}:${s.line}: this kernel has no ${s.key} (/proc/sys/${p})`));
  }
  if (gap.length) {
    const make = kernelGapSeverity() === 'error' ? error : warning;
    diags.push(make('sysctl/kernel-unsupported', gw, `${confPath}: ${gap.join(', ')} not checked: the key exists only with the module loaded, and this kernel lacks it`, { hint: 'the lab VM (npm run lab) applies it with the module loaded' }));
  }
  const otherErrors = result.applied.stderr.split('\n').filter((l) => l.trim() && !CANNOT_STAT.test(l));
  for (const l of otherErrors) diags.push(error('sysctl/check', gw, `sysctl -p ${confPath}: ${l.trim()}`));
  // Read back what was applied: a value the kernel clamped or ignored shows up here.
  const got = new Map<string, string>();
  for (const l of result.back.stdout.split('\n')) {
    const eq = l.indexOf(' = ');
    if (eq > 0) got.set(keyPath(l.slice(0, eq)).replace(/\./g, '/'), l.slice(eq + 3).trim());
  }
  for (const s of settings) {
    const p = keyPath(s.key);
    if (missing.has(p)) continue;
    const v = got.get(p.replace(/\./g, '/'));
    if (v !== s.value) diags.push(error('sysctl/check', gw, `${confPath}:${s.line}: ${s.key} reads back as ${v ?? 'nothing'} after sysctl -p, expected ${s.value}`));
  }
  return diags;
}

/** The modules file: names only; loading needs the host's kernel, so this says which ones this kernel lacks. */
function checkModules(file: RenderedFile, gw: Place): Diagnostic[] {
  const names = text(file)
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
  const bad = names.filter((n) => !/^[a-z0-9_-]+$/.test(n));
  const out: Diagnostic[] = bad.map((n) => error('sysctl/check', gw, `${file.path}: "${n}" is not a module name`));
  const absent = names.filter((n) => !bad.includes(n) && !fs.existsSync(path.join('/sys/module', n.replace(/-/g, '_'))));
  if (absent.length) {
    const make = kernelGapSeverity() === 'error' ? error : warning;
    out.push(make('sysctl/kernel-unsupported', gw, `${file.path}: modules ${absent.join(', ')} are neither loaded nor built into this kernel, and it cannot load modules: not checked here`, { hint: 'the lab VM (npm run lab) loads them' }));
  }
  return out;
}
