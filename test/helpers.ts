// Shared test helpers: compile a config folder in memory, compare with golden folders, temp copies.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../src/model/load';
import { readLock } from '../src/model/lock';
import { compile, Compiled } from '../src/bundle/compile';
import { main } from '../src/cli';

/** The repository root (tests run from dist/test, or a dist-NAME/test folder). */
export const ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const UPDATE = process.env.UPDATE === '1';

export function compileDir(dir: string): Compiled {
  return compile(loadConfig(dir), readLock(dir), { keepRendered: true });
}

const temps: string[] = [];
process.on('exit', () => temps.forEach((t) => fs.rmSync(t, { recursive: true, force: true })));

/** A temp copy of a config folder (gateways/, tenants/, lock), removed at process exit. */
export function tempCopy(dir: string): string {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-test-'));
  for (const name of ['gateways', 'tenants', 'allocations.lock.yaml']) {
    const src = path.join(dir, name);
    if (fs.existsSync(src)) fs.cpSync(src, path.join(tmp, name), { recursive: true });
  }
  temps.push(tmp);
  return tmp;
}

/** Every file below a folder, as relative path -> content. */
export function readFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!fs.existsSync(dir)) return out;
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (fs.statSync(path.join(dir, r)).isDirectory()) walk(r);
      else out.set(r, fs.readFileSync(path.join(dir, r), 'utf8'));
    }
  };
  walk('');
  return out;
}

/** Lines of `after` that are not in `before` and vice versa (multiset difference). */
export function changedLines(before: string, after: string): { added: string[]; removed: string[] } {
  const count = (s: string) => {
    const m = new Map<string, number>();
    for (const l of s.split('\n')) m.set(l, (m.get(l) ?? 0) + 1);
    return m;
  };
  const a = count(before);
  const b = count(after);
  const added: string[] = [];
  const removed: string[] = [];
  for (const [l, n] of b) for (let i = (a.get(l) ?? 0); i < n; i++) added.push(l);
  for (const [l, n] of a) for (let i = (b.get(l) ?? 0); i < n; i++) removed.push(l);
  return { added, removed };
}

/** Runs the CLI in-process with captured output. */
export async function cli(argv: string[], cwd = ROOT, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s), color: false, env, cwd });
  return { code, out, err };
}
