// Checks the link batches with the real ip and bridge in a throwaway network namespace, reporting exactly which lines this kernel could not run.
//
// The batches run in apply's order (netplan/90-s2sgw.ipbatch, netplan/90-s2sgw.fdb, links.ipbatch)
// in one namespace, with veth stand-ins for the gateway's trunk and external NICs. A kernel without a
// device kind (this one has no vrf, 8021q, xfrm_interface) answers "Unknown device type": the lines
// creating that kind, and every later line naming a device that could therefore not exist, are left
// out, listed, and run in the lab VM instead. No line is rewritten into a look-alike.
import { Diagnostic, error, Place, warning } from '../../model/diagnostics';
import type { CheckInput, RenderedFile } from '../target';
import { run, withNetns } from '../../util/exec';
import { kernelGapSeverity, lineRanges, lineTenants, originOfLine } from './lines';

/** One command line of a batch file, with what it creates and which devices it needs. */
export interface BatchLine {
  file: RenderedFile;
  /** 1-based line in the file. */
  line: number;
  text: string;
  tool: 'ip' | 'bridge';
  creates?: { name: string; kind: string };
  needs: string[];
}

/** Device names a line creates and needs, read from the keywords the views always write. */
export function parseBatchLine(file: RenderedFile, line: number, text: string, tool: 'ip' | 'bridge'): BatchLine {
  const w = text.trim().split(/\s+/);
  const after = (k: string, from = 0) => {
    const i = w.indexOf(k, from);
    return i >= 0 && i + 1 < w.length ? w[i + 1] : undefined;
  };
  const needs: string[] = [];
  let creates: BatchLine['creates'];
  if (tool === 'ip' && w[0] === 'link' && w[1] === 'add') {
    const name = after('name');
    const kind = after('type');
    if (name && kind) creates = { name, kind };
    const t = w.indexOf('type');
    for (const k of ['link', 'dev']) {
      // `link X` before `type` is the parent device; `dev X` after it is the lower device.
      const v = k === 'link' ? (w.slice(2, t).includes('link') ? after('link', 2) : undefined) : after('dev', t);
      if (v) needs.push(v);
    }
  } else {
    for (const k of ['dev', 'master']) {
      const v = after(k);
      if (v) needs.push(v);
    }
  }
  return { file, line, text: text.trim(), tool, ...(creates ? { creates } : {}), needs };
}

/** The command lines of a rendered batch file (comments and blank lines are not commands). */
export function batchLines(file: RenderedFile, tool: 'ip' | 'bridge'): BatchLine[] {
  const out: BatchLine[] = [];
  const lines = file.sections.map((s) => s.text).join('').split('\n');
  lines.forEach((l, i) => {
    const t = l.replace(/#.*/, '').trim();
    if (t) out.push(parseBatchLine(file, i + 1, t, tool));
  });
  return out;
}

const UNKNOWN_KIND = /Unknown device type/i;
const FAILED = /^Command failed (.*):(\d+)\s*$/;

export interface BatchOutcome {
  /** Lines a real tool rejected, with its message. */
  errors: Array<{ at: BatchLine; message: string }>;
  /** Kinds this kernel cannot create. */
  unsupportedKinds: string[];
  /** Lines not run: they create a device of an unsupported kind, or name a device that could not exist; `kinds` are those devices' kinds. */
  unchecked: Array<{ at: BatchLine; kinds: string[] }>;
  /** Lines that ran and were accepted. */
  checked: BatchLine[];
  /** A failure no line could be blamed for. */
  other?: string;
}

/**
 * Runs the lines in order in the namespace, one `ip -batch -` (or `bridge -batch -`) per run of
 * same-tool lines; after a failure it goes on from the next line, leaving out what depends on it.
 */
export async function runBatches(ns: string, all: BatchLine[], maxErrors = 20): Promise<BatchOutcome> {
  const unsupported = new Set<string>();
  const unavailable = new Map<string, string>(); // devices that cannot exist here -> their kind
  const unchecked = new Map<BatchLine, string[]>();
  const broken = new Set<string>(); // devices whose creation a real error stopped
  const out: BatchOutcome = { errors: [], unsupportedKinds: [], unchecked: [], checked: [] };
  let i = 0;
  while (i < all.length && out.errors.length < maxErrors && !out.other) {
    // Gather the next run of lines for one tool, leaving out what cannot run here.
    const tool = all[i].tool;
    const fed: BatchLine[] = [];
    let j = i;
    for (; j < all.length && all[j].tool === tool; j++) {
      const l = all[j];
      const causes = [...new Set([l.creates && unsupported.has(l.creates.kind) ? l.creates.kind : undefined, ...l.needs.map((d) => unavailable.get(d))].filter((k): k is string => !!k))];
      const afterError = l.needs.some((d) => broken.has(d));
      if (causes.length) {
        unchecked.set(l, causes);
        if (l.creates) unavailable.set(l.creates.name, causes[0]);
      } else if (afterError) {
        if (l.creates) broken.add(l.creates.name);
      } else fed.push(l);
    }
    if (!fed.length) {
      i = j;
      continue;
    }
    const failed = await runFed(ns, tool, fed);
    if (failed.other) {
      out.other = failed.other;
      break;
    }
    if (failed.index === undefined) {
      out.checked.push(...fed);
      i = j;
      continue;
    }
    const bad = fed[failed.index];
    const message = failed.message;
    out.checked.push(...fed.slice(0, failed.index));
    if (bad.creates && UNKNOWN_KIND.test(message)) {
      unsupported.add(bad.creates.kind);
      unavailable.set(bad.creates.name, bad.creates.kind);
      unchecked.set(bad, [bad.creates.kind]);
    } else {
      out.errors.push({ at: bad, message: message || `${tool} failed` });
      if (bad.creates) broken.add(bad.creates.name);
    }
    // Go on after the failing line; lines of this run after it are re-gathered.
    i = all.indexOf(bad) + 1;
  }
  out.unsupportedKinds = [...unsupported].sort();
  // A map: a blocked line after a failure is gathered again by the next run, and counts once.
  const order = new Map(all.map((l, k) => [l, k]));
  out.unchecked = [...unchecked].map(([at, kinds]) => ({ at, kinds })).sort((a, b) => order.get(a.at)! - order.get(b.at)!);
  return out;
}

/** After each ip line, one line of known output: counting them tells how far a batch got. */
const MARKER = 'link show dev lo';
const MARKER_OUT = /^\d+: lo: /;

/**
 * Runs lines with one `ip -batch` / `bridge -batch`. Returns the index of the failing line and the
 * tool's message, or nothing when all passed. ip exits on a bad argument without naming the line,
 * so each ip line is followed by a marker whose output counts the lines that ran; bridge lines are
 * appends (idempotent), so when bridge names no line they are re-run one by one to find it.
 */
export async function runFed(ns: string, tool: 'ip' | 'bridge', fed: BatchLine[]): Promise<{ index?: number; message: string; other?: string }> {
  const input = tool === 'ip' ? fed.map((l) => `${l.text}\n${MARKER}\n`).join('') : fed.map((l) => `${l.text}\n`).join('');
  const r = await run(tool, tool === 'ip' ? ['-o', '-batch', '-'] : ['-batch', '-'], { netns: ns, input, timeoutMs: 300_000 });
  if (r.missing) return { message: '', other: `${tool} is not installed (${r.stderr.trim()})` };
  if (r.code === 0) return { message: '' };
  const message = r.stderr
    .split('\n')
    .filter((l) => l.trim() && !FAILED.test(l))
    .map((l) => l.trim())
    .join(' ');
  if (tool === 'ip') {
    const done = r.stdout.split('\n').filter((l) => MARKER_OUT.test(l)).length;
    if (done < fed.length) return { index: done, message };
    return { message, other: `ip -batch failed after every line had run (exit ${r.code}): ${message}` };
  }
  const named = r.stderr.split('\n').map((l) => FAILED.exec(l)).find(Boolean);
  if (named) return { index: Number(named[2]) - 1, message };
  for (let k = 0; k < fed.length; k++) {
    const one = await run(tool, ['-batch', '-'], { netns: ns, input: `${fed[k].text}\n` });
    if (one.code !== 0) return { index: k, message: one.stderr.split('\n').filter((l) => l.trim() && !FAILED.test(l)).map((l) => l.trim()).join(' ') };
  }
  return { message, other: `bridge -batch failed (exit ${r.code}) but every line passes alone: ${message}` };
}

/** Readable kinds for the message. */
const KIND_NAMES: Record<string, string> = { vrf: 'vrf (VRF)', vlan: 'vlan (802.1Q, module 8021q)', xfrm: 'xfrm (XFRM interface, module xfrm_interface)', vxlan: 'vxlan' };

/** The stand-ins for the gateway's NICs: veth pairs named like the real ones. */
export async function addStandIns(ns: string, names: string[]): Promise<string | undefined> {
  let k = 0;
  for (const name of [...new Set(names)].sort()) {
    const r = await run('ip', ['link', 'add', 'name', name, 'type', 'veth', 'peer', 'name', `s2sgw-peer${k++}`], { netns: ns });
    if (r.code !== 0) return `cannot create a veth stand-in for ${name}: ${r.stderr.trim()}`;
    await run('ip', ['link', 'set', 'dev', name, 'up'], { netns: ns });
  }
  return undefined;
}

/**
 * Checks the batch files that are present, in apply's order, in one throwaway namespace. Rejected
 * lines are `links/check` errors at the tenant line the section came from; lines this kernel cannot
 * run are one `links/kernel-unsupported` finding per file (an error in CI with S2SGW_REQUIRE_KERNEL_LINKS=1).
 */
export async function checkBatches(input: CheckInput, order: Array<{ path: string; tool: 'ip' | 'bridge' }>): Promise<Diagnostic[]> {
  const gw: Place = { file: input.gateway.origin.file, line: input.gateway.origin.line, col: input.gateway.origin.col };
  const files = order.map((o) => ({ ...o, file: input.files.find((f) => f.path === o.path) })).filter((o) => o.file);
  const all = files.flatMap((o) => batchLines(o.file!, o.tool));
  if (!all.length) return [];
  for (const tool of new Set(all.map((l) => l.tool))) {
    const r = await run(tool, ['-V']);
    if (r.missing) return [error('links/tool-missing', gw, `cannot check ${files.map((f) => f.path).join(', ')}: ${tool} is not installed`, { hint: 'apt-get install iproute2' })];
  }
  let outcome: BatchOutcome;
  try {
    outcome = await withNetns(async (ns) => {
      const problem = await addStandIns(ns, [input.gateway.trunk.interface, input.gateway.external.interface]);
      if (problem) return { errors: [], unsupportedKinds: [], unchecked: [], checked: [], other: problem };
      return runBatches(ns, all);
    });
  } catch (e) {
    return [error('links/check', gw, `cannot check ${files.map((f) => f.path).join(', ')}: ${(e as Error).message}`, { hint: 'checks run as root with network namespaces' })];
  }
  const diags: Diagnostic[] = [];
  for (const e of outcome.errors) {
    diags.push(error('links/check', originOfLine(e.at.file, e.at.line, gw), `${e.at.tool} rejects ${e.at.file.path}:${e.at.line} \`${e.at.text}\`: ${e.message}`));
  }
  if (outcome.other) diags.push(error('links/check', gw, `cannot check ${files.map((f) => f.path).join(', ')}: ${outcome.other}`));
  for (const { file } of files) {
    const mine = outcome.unchecked.filter((u) => u.at.file === file);
    if (!mine.length) continue;
    const lines = mine.map((u) => u.at.line);
    const total = all.filter((l) => l.file === file).length;
    const kinds = [...new Set(mine.flatMap((u) => u.kinds))].sort().map((k) => KIND_NAMES[k] ?? k).join(', ');
    const tenantOf = lineTenants(file!);
    const tenants = [...new Set(lines.map((n) => tenantOf[n]).filter((t): t is string => !!t))].sort();
    const ran = total - lines.length;
    const severity = kernelGapSeverity();
    const make = severity === 'error' ? error : warning;
    diags.push(
      make(
        'links/kernel-unsupported',
        gw,
        `${lines.length} of ${total} lines of ${file!.path} were not checked: this kernel cannot create ${kinds} devices ("Unknown device type"); lines ${lineRanges(lines)} create such a device or use one${tenants.length ? ` (tenants ${tenants.slice(0, 10).join(', ')}${tenants.length > 10 ? ` and ${tenants.length - 10} more` : ''})` : ''}. ${ran ? `The other ${ran} ran in a throwaway namespace and were accepted.` : 'None of its lines could run here.'}`,
        { hint: severity === 'error' ? 'this CI run sets S2SGW_REQUIRE_KERNEL_LINKS=1: it needs a kernel with these modules' : 'the lab VM (npm run lab) runs every line on a kernel that has them' },
      ),
    );
  }
  return diags;
}
