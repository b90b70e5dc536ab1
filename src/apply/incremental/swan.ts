// strongSwan's incremental reload: load, replace and unload exactly the changed connections and secrets over VICI, then end the SAs that must drop.
import { connectionsToVici, encode, loadConnMessage, loadSharedMessage, parseSwanctlConf, secretsToVici, ViciClient, ViciCommandError, ViciInputElement } from '../../vici';
import type { Release } from '../release';
import { readReleaseFile as read, SECRETS_CONF } from '../release';

export interface SwanPlan {
  /** Connections to load (new or changed), with their load-conn bodies. */
  load: Array<{ name: string; section: Map<string, ViciInputElement> }>;
  unload: string[];
  /** Shared secrets to load (new or changed). */
  loadShared: Array<{ id: string; type: string; data: Buffer; owners: string[] }>;
  unloadShared: string[];
  /** Connection files compared (the changed ones). */
  files: string[];
}

const CONF_DIR = 'swanctl/conf.d/';

function conns(text: string | undefined, file: string, swanctlDir: string): Map<string, { section: Map<string, ViciInputElement>; bytes: Buffer }> {
  const out = new Map<string, { section: Map<string, ViciInputElement>; bytes: Buffer }>();
  if (text === undefined) return out;
  for (const c of connectionsToVici(parseSwanctlConf(text, file), { swanctlDir })) out.set(c.name, { section: c.section, bytes: encode(loadConnMessage(c)) });
  return out;
}

/**
 * secrets.conf (written by apply at stage: `secrets {`, then one `  NAME {` ... `  }` block per secret) split into
 * its blocks by name, so that only changed blocks are parsed. Anything else: undefined (the caller parses it whole).
 */
function secretBlocks(text: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  const lines = text.split('\n');
  if (lines[0] !== 'secrets {') return undefined;
  let name: string | undefined;
  let body: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    if (name === undefined) {
      if (l === '}' || l === '') continue;
      const m = /^ {2}(\S+) \{$/.exec(l);
      if (!m) return undefined;
      name = m[1];
      body = [l];
    } else {
      body.push(l);
      if (l === '  }') {
        out.set(name, body.join('\n'));
        name = undefined;
      }
    }
  }
  return name === undefined ? out : undefined;
}

const BLOCK_END = '\n  }\n';

/**
 * The parts of two secrets.conf texts that differ, widened to whole blocks, each as a secrets.conf of its own:
 * outside them the two files are the same bytes. A one-tenant change parses its few blocks, not 30,000.
 * (`\n  }\n` only ever ends a block: bodies are indented four spaces and the file's own end has none.)
 */
export function differingSecrets(a: string, b: string): [string, string] {
  const n = Math.min(a.length, b.length);
  let p = 0;
  while (p < n && a.charCodeAt(p) === b.charCodeAt(p)) p++;
  let q = 0;
  while (q < n - p && a.charCodeAt(a.length - 1 - q) === b.charCodeAt(b.length - 1 - q)) q++;
  const lineStart = a.lastIndexOf('\n', p - 1) + 1;
  const before = lineStart >= 5 ? a.lastIndexOf(BLOCK_END, lineStart - 5) : -1;
  const start = before < 0 ? a.indexOf('\n') + 1 : before + BLOCK_END.length;
  // The first block end lying wholly in the common suffix: the same bytes, at the same distance from the end, in b.
  const after = a.indexOf(BLOCK_END, a.length - q);
  const fromEnd = after < 0 ? 0 : a.length - (after + BLOCK_END.length);
  const part = (t: string) => `secrets {\n${t.slice(start, Math.max(start, t.length - fromEnd))}`;
  return [part(a), part(b)];
}

function shared(block: string | undefined) {
  return block === undefined ? [] : secretsToVici(parseSwanctlConf(`secrets {\n${block}\n}\n`, SECRETS_CONF));
}

/**
 * What charon must be told to go from release `from` to `to`: the connection files whose sha256 differs are
 * compared connection by connection (as the bytes of their load-conn messages, exactly what swanctl sends),
 * and the resolved secrets block by block.
 */
export function swanPlan(from: Release, to: Release, swanctlDir: string): SwanPlan {
  const fa = from.manifest.files;
  const fb = to.manifest.files;
  const files = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].filter((p) => p.startsWith(CONF_DIR) && fa[p]?.sha256 !== fb[p]?.sha256).sort();
  const plan: SwanPlan = { load: [], unload: [], loadShared: [], unloadShared: [], files };
  const before = new Map<string, Buffer>();
  const after = new Map<string, { section: Map<string, ViciInputElement>; bytes: Buffer }>();
  for (const f of files) {
    for (const [n, c] of conns(read(from, f), f, swanctlDir)) before.set(n, c.bytes);
    for (const [n, c] of conns(read(to, f), f, swanctlDir)) after.set(n, c);
  }
  for (const [n, c] of [...after].sort(([x], [y]) => (x < y ? -1 : 1))) if (!before.get(n)?.equals(c.bytes)) plan.load.push({ name: n, section: c.section });
  // A connection that moved to another changed file is in `after`: it is replaced, not unloaded.
  plan.unload = [...before.keys()].filter((n) => !after.has(n)).sort();
  const sa = read(from, SECRETS_CONF) ?? 'secrets {\n}\n';
  const sb = read(to, SECRETS_CONF) ?? 'secrets {\n}\n';
  if (sa !== sb) {
    const [da, db] = differingSecrets(sa, sb);
    const ba = secretBlocks(da);
    const bb = secretBlocks(db);
    if (ba && bb) {
      for (const [id, block] of [...bb].sort(([x], [y]) => (x < y ? -1 : 1))) if (ba.get(id) !== block) plan.loadShared.push(...shared(block));
      plan.unloadShared = [...ba.keys()].filter((id) => !bb.has(id)).sort();
    } else {
      const key = (s: { type: string; data: Buffer; owners: string[] }) => `${s.type} ${s.data.toString('base64')} ${s.owners.join(',')}`;
      const old = new Map(secretsToVici(parseSwanctlConf(sa, SECRETS_CONF)).map((s) => [s.id, key(s)]));
      const now = secretsToVici(parseSwanctlConf(sb, SECRETS_CONF));
      plan.loadShared = now.filter((s) => old.get(s.id) !== key(s));
      plan.unloadShared = [...old.keys()].filter((id) => !now.some((s) => s.id === id)).sort();
    }
  }
  return plan;
}

/** Runs a VICI call through the runner (logged as `vici --OP NAME`, in swanctl's words; dry-run aware; fault-injectable). */
export type Call = <T>(argv: string[], fn: () => Promise<T>) => Promise<T | undefined>;

/**
 * Applies a plan: secrets first (a connection may need its new PSK at once), then connections, then the
 * unloads, then terminates the SAs of removed or replaced connections (charon keeps them up otherwise).
 */
export async function applySwanPlan(client: ViciClient | undefined, plan: SwanPlan, terminate: string[], call: Call): Promise<void> {
  const c = () => client!;
  for (const s of plan.loadShared) await call(['vici', '--load-shared', s.id], () => c().request('load-shared', loadSharedMessage(s)));
  for (const l of plan.load) await call(['vici', '--load-conn', l.name], () => c().loadConn(l.name, l.section));
  for (const n of plan.unload) await call(['vici', '--unload-conn', n], () => c().unloadConn(n));
  for (const id of plan.unloadShared) await call(['vici', '--unload-shared', id], () => c().unloadShared(id));
  for (const n of terminate) {
    await call(['vici', '--terminate', '--ike', n, '--force'], async () => {
      try {
        await c().terminate({ ike: n, force: true, timeout: 10_000 }, { timeoutMs: 20_000 });
      } catch (e) {
        // Nothing up for it: nothing to end.
        if (!(e instanceof ViciCommandError && /no matching|not found/i.test(e.errmsg))) throw e;
      }
    });
  }
}
