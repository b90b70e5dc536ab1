// FRR's incremental reload: the vtysh commands that turn one tenant's frr.conf section into another's, line by line, under their contexts.
import { FRR_MARKER, headOf, sectionOf, Text } from './sections';

/** A config line with the lines nested under it (a `vrf`, `router bgp`, `route-map` or `address-family` block). */
interface Node {
  line: string;
  children: Node[];
}

/** One command in config mode, under its context (the block headers to enter first, outermost first). */
export interface FrrCommand {
  context: string[];
  command: string;
  /** The command opens a block: the following commands of a deeper context are inside it. */
  opens?: boolean;
}

const CLOSERS = new Set(['exit', 'exit-vrf', 'exit-address-family', 'end']);

/** Parses a section's config lines into blocks by indentation; comments, `!` and block closers carry nothing. */
export function parseFrr(text: string): Node[] {
  const root: Node = { line: '', children: [] };
  const stack: Array<{ node: Node; indent: number }> = [{ node: root, indent: -1 }];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    const t = line.trim();
    if (!t || t.startsWith('!') || CLOSERS.has(t)) continue;
    const indent = line.length - line.trimStart().length;
    while (stack.length > 1 && stack[stack.length - 1].indent >= indent) stack.pop();
    const node: Node = { line: t, children: [] };
    stack[stack.length - 1].node.children.push(node);
    stack.push({ node, indent });
  }
  return root.children;
}

/** Blocks open with these words; anything else is a leaf even when nothing is nested under it. */
const BLOCK = /^(vrf|router|route-map|address-family|interface|line|key chain|segment-routing)\b/;
const isBlock = (n: Node) => n.children.length > 0 || BLOCK.test(n.line);

/** The `no` form of a line: `no bgp default ipv4-unicast` is undone by `bgp default ipv4-unicast`. */
function negate(line: string): string {
  return line.startsWith('no ') ? line.slice(3) : `no ${line}`;
}

/**
 * Lines that a new line of the same key replaces in place, where the `no` of the old one would do more
 * harm: `no neighbor X remote-as` deletes the whole neighbor (and its address-family settings).
 */
function replaceKey(line: string): string | undefined {
  const m = /^neighbor (\S+) remote-as /.exec(line);
  return m ? `neighbor ${m[1]} remote-as` : undefined;
}

/** Neighbors a block loses: their other lines go with `no neighbor X remote-as`, so no `no` is sent for them. */
function removedNeighbors(old: Node[], now: Node[]): Set<string> {
  const has = (ns: Node[]) => new Set(ns.map((n) => /^neighbor (\S+) remote-as /.exec(n.line)?.[1]).filter((x): x is string => !!x));
  const a = has(old);
  const b = has(now);
  return new Set([...a].filter((x) => !b.has(x)));
}

const neighborOf = (line: string) => /^neighbor (\S+) /.exec(line)?.[1];

/** Every line of a new block, as commands (the header opens it). */
function addAll(n: Node, context: string[], out: FrrCommand[]): void {
  if (!isBlock(n)) {
    out.push({ context, command: n.line });
    return;
  }
  out.push({ context, command: n.line, opens: true });
  for (const c of n.children) addAll(c, [...context, n.line], out);
}

/**
 * Removals, deepest first: a neighbor's address-family lines before the neighbor, a block's lines before the block.
 * `gone` holds neighbors removed at an outer level (their nested lines need no `no`).
 */
function removals(old: Node[], now: Node[], context: string[], gone: Set<string>, out: FrrCommand[]): void {
  const byLine = new Map(now.map((n) => [n.line, n]));
  const newKeys = new Set(now.map((n) => replaceKey(n.line)).filter(Boolean));
  const lost = new Set([...gone, ...removedNeighbors(old, now)]);
  for (const o of old) {
    const n = byLine.get(o.line);
    if (isBlock(o)) {
      if (n) removals(o.children, n.children, [...context, o.line], lost, out);
      else if (o.line.startsWith('vrf ')) {
        // The VRF's routes first; the `no vrf` itself comes last (frrPlan moves it out: FRR refuses it while the
        // kernel still has the VRF device, so apply sends it in remove-frr, after remove-links).
        removals(o.children, [], [...context, o.line], lost, out);
        out.push({ context, command: negate(o.line) });
      } else out.push({ context, command: negate(o.line) });
      continue;
    }
    if (n) continue;
    const nb = neighborOf(o.line);
    if (nb && lost.has(nb) && !/ remote-as /.test(o.line)) continue;
    const key = replaceKey(o.line);
    if (key && newKeys.has(key)) continue;
    out.push({ context, command: negate(o.line) });
  }
}

/** Additions, outermost first: a neighbor's remote-as before its address-family lines. */
function additions(old: Node[], now: Node[], context: string[], out: FrrCommand[]): void {
  const byLine = new Map(old.map((n) => [n.line, n]));
  for (const n of now) {
    const o = byLine.get(n.line);
    if (!o) addAll(n, context, out);
    else if (isBlock(n)) {
      const inner: FrrCommand[] = [];
      additions(o.children, n.children, [...context, n.line], inner);
      out.push(...inner);
    }
  }
}

/**
 * The commands that turn the running config of one tenant's section `oldText` into `newText`. All removals
 * come before all additions: a static route whose distance changed is `no ip route P IF OLD` then
 * `ip route P IF NEW` (FRR 8.4 drops the route when the `no` comes second, as frr-reload.py sends it).
 */
export function frrCommands(oldText: string, newText: string): FrrCommand[] {
  const a = parseFrr(oldText);
  const b = parseFrr(newText);
  const out: FrrCommand[] = [];
  removals(a, b, [], new Set(), out);
  // Policy before the sessions that use it: a neighbor never runs, even for a moment, without its route-maps.
  const policy = (n: Node) => /^(ip|ipv6) prefix-list |^route-map /.test(n.line);
  additions(a, [...b.filter(policy), ...b.filter((n) => !policy(n))], [], out);
  return out;
}

function exitOf(header: string): string {
  if (header.startsWith('vrf ')) return 'exit-vrf';
  if (header.startsWith('address-family ')) return 'exit-address-family';
  return 'exit';
}

/**
 * A vtyshScript sequence as the body of a `vtysh -f` file: vtysh reads a file in configuration mode already, so the
 * sequence's `configure terminal` and `end` are left out.
 */
export function vtyshFileBody(script: string[]): string {
  return script.filter((c) => c !== 'configure terminal' && c !== 'end').join('\n') + '\n';
}

/** The commands as vtysh's -c sequence: `configure terminal`, each context entered and left as needed, `end`. */
export function vtyshScript(cmds: FrrCommand[]): string[] {
  const out = ['configure terminal'];
  let at: string[] = [];
  for (const c of cmds) {
    let common = 0;
    while (common < at.length && common < c.context.length && at[common] === c.context[common]) common++;
    for (let i = at.length - 1; i >= common; i--) out.push(exitOf(at[i]));
    at = at.slice(0, common);
    for (const h of c.context.slice(common)) {
      out.push(h);
      at.push(h);
    }
    out.push(c.command);
    if (c.opens) at.push(c.command);
  }
  for (let i = at.length - 1; i >= 0; i--) out.push(exitOf(at[i]));
  out.push('end');
  return out;
}

export interface FrrPlan {
  /** The gateway's own lines changed: only a whole-file frr-reload.py is right. */
  headChanged: boolean;
  /** Tenants whose section differs, sorted. */
  tenants: string[];
  /** What reload-frr sends: the changes of the tenants the new file still has, without any `no vrf`. */
  commands: FrrCommand[];
  /**
   * What remove-frr sends, after remove-links deleted the kernel's VRF devices: every line of the removed tenants (whose
   * section is gone), deepest first, then each removed VRF's `no vrf NAME` (also of a tenant that stays but lost its
   * VRF block). FRR 8.4 refuses `no vrf` while the kernel still has the VRF (`% Only inactive VRFs can be deleted`),
   * and a removed tenant's other lines go in the same vtysh run instead of a run of their own in reload-frr.
   */
  removals: FrrCommand[];
  /** The VRFs whose block is gone, in removals' order: their `no vrf NAME` ends removals. */
  vrfRemovals: string[];
  /** Tenants whose section is gone (all their lines are in removals), sorted. */
  removed: string[];
}

/** The `no vrf NAME` of a top-level VRF block, or undefined. */
export const removedVrf = (c: FrrCommand) => (c.context.length === 0 ? /^no vrf (\S+)$/.exec(c.command)?.[1] : undefined);

/**
 * The incremental plan between two frr.conf files for the tenants the change set touched (others are equal by their
 * digests). `inNew`: which tenants the new file has a section for (as nftPlan's).
 */
export function frrPlan(oldText: Text, newText: Text, touched: string[], inNew?: (tenant: string) => boolean): FrrPlan {
  if (headOf(oldText, FRR_MARKER) !== headOf(newText, FRR_MARKER)) return { headChanged: true, tenants: [], commands: [], removals: [], vrfRemovals: [], removed: [] };
  const tenants: string[] = [];
  const commands: FrrCommand[] = [];
  const removals: FrrCommand[] = [];
  const noVrf: FrrCommand[] = [];
  const vrfRemovals: string[] = [];
  const removed: string[] = [];
  for (const t of touched) {
    const a = sectionOf(oldText, FRR_MARKER, t);
    const b = inNew && !inNew(t) ? '' : sectionOf(newText, FRR_MARKER, t);
    if (a === b) continue;
    tenants.push(t);
    // A tenant the new file no longer has: none of its lines has to go before its links do (its sessions and routes
    // end with its kernel VRF, which remove-links deletes), so one vtysh run after them removes all of it.
    const gone = b === '';
    if (gone) removed.push(t);
    for (const c of frrCommands(a, b)) {
      const vrf = removedVrf(c);
      if (vrf) {
        vrfRemovals.push(vrf);
        noVrf.push(c);
      } else (gone ? removals : commands).push(c);
    }
  }
  return { headChanged: false, tenants, commands, removals: [...removals, ...noVrf], vrfRemovals, removed };
}

/** vtysh output lines that are not failures: FRR's notes about routes waiting for their interface, a missing vtysh.conf. */
const BENIGN = [/not installed currently because dependent config not fully available/, /Can't open configuration file .*vtysh\.conf/];

/** The lines of vtysh's output that say a command did not do what was asked (`% Unknown command`, `% Refusing ...`). */
export function vtyshComplaints(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !BENIGN.some((b) => b.test(l)));
}
