// changedSections: a plan from the sections around a large file's changed parts equals the plan from the whole files, and any doubt reads them whole.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nftPlan } from '../src/apply/incremental/nft';
import { frrPlan } from '../src/apply/incremental/frr';
import { FRR_MARKER, headOf, Marker, NFT_MARKER, sectionOf } from '../src/apply/incremental/sections';
import { changedSections, PatchedFile } from '../src/apply/incremental/patched';
import { partsOf } from '../src/bundle/manifest';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-patched-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const HEAD = 'table inet s2sgw {\n  map zone { type ifname : verdict; }\n}\n';
const names = (n: number) => Array.from({ length: n }, (_, i) => `t${i + 1}`).sort();
/** s2sgw.nft of tenants `ts` (about 700 KB at 3,000), tenant t's section `v(t)` rules long. */
function nft(ts: string[], v: (t: string) => number = () => 1, head = HEAD): Buffer {
  const sec = (t: string, n: number) =>
    `\n# tenant ${t} (tenants/${t}.yaml): conntrack zone ${n}\nadd element inet s2sgw zone { "${t}" comment "${t}" : jump ${t}_in }\nadd chain inet s2sgw ${t}_in\n${`add rule inet s2sgw ${t}_in ip saddr 10.0.0.${n} accept comment "${t}"\n`.repeat(n)}`;
  return Buffer.from(head + ts.map((t) => sec(t, v(t))).join(''));
}
/** frr.conf likewise (`!` before each marker). */
function frr(ts: string[], d: (t: string) => number = () => 100, head = 'frr defaults traditional\nhostname gw1\n'): Buffer {
  const routes = (t: string) => [1, 2, 3, 4, 5].map((i) => ` ip route 10.${i}.0.0/16 192.0.2.1 ${d(t)}\n`).join('');
  return Buffer.from(head + ts.map((t) => `!\n! tenant ${t}: tenants/${t}.yaml\nvrf ${t}\n ! ${sha(Buffer.from(t)).slice(0, 24)}\n${routes(t)}exit-vrf\n`).join(''));
}

let k = 0;
/** The old file as a release holds it, and the new one as verify takes it part by part (the pieces piecewise makes). */
function patch(old: Buffer, now: Buffer): PatchedFile {
  const f = path.join(dir, `old-${k++}`);
  fs.writeFileSync(f, old);
  const oldParts = partsOf(old);
  const held = new Map<string, number>();
  let at = 0;
  for (const [len, s] of oldParts) {
    if (!held.has(`${len}:${s}`)) held.set(`${len}:${s}`, at);
    at += len;
  }
  const pieces: Array<{ len: number; at?: number; bytes?: Buffer }> = [];
  let pos = 0;
  for (const [len, s] of partsOf(now)) {
    const o = held.get(`${len}:${s}`);
    const last = pieces[pieces.length - 1];
    if (o !== undefined && last?.at !== undefined && last.at + last.len === o) last.len += len;
    else pieces.push(o !== undefined ? { len, at: o } : { len, bytes: now.subarray(pos, pos + len) });
    pos += len;
  }
  return { old: f, oldParts, pieces };
}

/** The plan from changedSections equals the plan from the whole files, and it read a small part of them. */
function same(old: Buffer, now: Buffer, touched: string[], inNew: (t: string) => boolean, m: Marker = NFT_MARKER, most = 0.4): void {
  const cut = changedSections(patch(old, now), m);
  assert.ok(cut, `cut for ${touched.join(', ')}`);
  assert.ok(cut!.old.length < old.length * most && cut!.now.length < now.length * most, `${touched.join(",")}: ${cut!.old.length} and ${cut!.now.length} bytes of ${old.length}`);
  if (m === NFT_MARKER) assert.equal(nftPlan(cut!.old, cut!.now, touched, inNew), nftPlan(old, now, touched, inNew));
  else {
    const p = frrPlan(cut!.old, cut!.now, touched, inNew);
    assert.equal(p, frrPlan(old, now, touched, inNew));
    // check's vtysh -C input: the head and the changed sections, as from the whole file
    const part = (t: Buffer) => headOf(t, FRR_MARKER) + p.tenants.map((x) => sectionOf(t, FRR_MARKER, x)).join('');
    assert.is(part(cut!.now), part(now));
  }
}

const all = names(3000);
const has = (ts: string[]) => (t: string) => ts.includes(t);

test('nft: a changed, an added, a removed tenant and several at once: the same transaction as from the whole file', () => {
  const old = nft(all);
  assert.ok(old.length > 600_000);
  // changed in the middle, at the start, at the end (longer and shorter sections)
  for (const t of [all[1700], all[0], all[2999]]) same(old, nft(all, (x) => (x === t ? 3 : 1)), [t], has(all));
  same(nft(all, (x) => (x === all[500] ? 4 : 1)), old, [all[500]], has(all));
  // added: in the middle, before the first, after the last
  for (const t of ['t2200a', 't0', 'zz']) {
    const plus = [...all, t].sort();
    same(old, nft(plus), [t], has(plus));
  }
  // removed: in the middle, the first, the last
  for (const t of [all[2000], all[0], all[2999]]) {
    const less = all.filter((x) => x !== t);
    same(old, nft(less), [t], has(less));
  }
  // several far apart (one removed, one added, two changed), and touched tenants whose lines here did not change
  const now = [...all.filter((x) => x !== all[300]), 't2500b'].sort();
  same(old, nft(now, (x) => (x === all[1000] || x === all[2800] ? 2 : 1)), [all[300], all[1000], all[2800], 't2500b', all[1500], all[40]].sort(), has(now), NFT_MARKER, 0.9);
  // two changes in neighbouring sections, in one cut
  same(old, nft(all, (x) => (x === all[1200] || x === all[1201] ? 2 : 1)), [all[1200], all[1201]], has(all));
});

test('frr.conf: the same vtysh plan and the same check input as from the whole file', () => {
  const old = frr(all);
  same(old, frr(all, (x) => (x === all[1234] ? 150 : 100)), [all[1234]], has(all), FRR_MARKER);
  same(old, frr(all, (x) => (x === all[2999] ? 5 : 100)), [all[2999]], has(all), FRR_MARKER);
  same(old, frr(all, (x) => (x === all[0] ? 5 : 100)), [all[0]], has(all), FRR_MARKER);
  const plus = [...all, 'zz'].sort();
  same(old, frr(plus), ['zz'], has(plus), FRR_MARKER);
  for (const t of [all[0], all[777], all[2999]]) {
    const less = all.filter((x) => x !== t);
    same(old, frr(less), [t], has(less), FRR_MARKER, 0.5);
  }
});

test('the gateway\'s own lines changed (the head), alone or with a tenant\'s: the cut holds both heads, and the plans say so', () => {
  const old = nft(all);
  for (const now of [nft(all, () => 1, HEAD.replace('zone', 'enoz')), nft(all, (x) => (x === all[1500] ? 2 : 1), HEAD + '# more\n')]) {
    const cut = changedSections(patch(old, now), NFT_MARKER);
    assert.ok(cut);
    assert.is(headOf(cut!.old, NFT_MARKER), headOf(old, NFT_MARKER));
    assert.is(headOf(cut!.now, NFT_MARKER), headOf(now, NFT_MARKER));
    assert.ok(nftPlan(cut!.old, cut!.now, [all[1500]]).headChanged);
  }
  const f = frr(all);
  const g = frr(all, (x) => (x === all[2500] ? 7 : 100), 'frr defaults datacenter\nhostname gw1\n');
  const cut = changedSections(patch(f, g), FRR_MARKER);
  assert.ok(cut && frrPlan(cut.old, cut.now, [all[2500]]).headChanged);
});

test('any doubt gives undefined (the caller reads the whole files): nothing changed, no head, a damaged or missing copy, runs out of order', () => {
  const old = nft(all);
  const now = nft(all, (x) => (x === all[1500] ? 2 : 1));
  // sanity: the honest pair is cut
  assert.ok(changedSections(patch(old, now), NFT_MARKER));
  // the same file: nothing to cut
  assert.is(changedSections(patch(old, old), NFT_MARKER), undefined);
  // a file without a head (its first section on the first line), or without markers
  const bare = nft(all, () => 1, '').subarray(1);
  assert.is(changedSections(patch(bare, nft(all, (x) => (x === all[0] ? 2 : 1), '').subarray(1)), NFT_MARKER), undefined);
  // the release's copy damaged where the cut reads it (the part before the change), truncated, grown, or gone
  const p = patch(old, now);
  const bytes = fs.readFileSync(p.old);
  const at = p.pieces[0].len - 10;
  bytes[at] ^= 1;
  fs.writeFileSync(p.old, bytes);
  assert.is(changedSections(p, NFT_MARKER), undefined);
  const q = patch(old, now);
  fs.truncateSync(q.old, old.length - 1);
  assert.is(changedSections(q, NFT_MARKER), undefined);
  const g = patch(old, now);
  fs.appendFileSync(g.old, 'x');
  assert.is(changedSections(g, NFT_MARKER), undefined);
  const gone = patch(old, now);
  fs.rmSync(gone.old);
  assert.is(changedSections(gone, NFT_MARKER), undefined);
  // a run taken from before the last one (a part found again elsewhere): not a plain patch
  const r = patch(old, now);
  const runs = r.pieces.filter((x) => x.at !== undefined);
  assert.ok(runs.length >= 2);
  const swapped = { ...r, pieces: [...r.pieces].reverse() };
  assert.is(changedSections(swapped, NFT_MARKER), undefined);
  // the parts the manifest lists for the copy are not its bytes
  const w = patch(old, now);
  assert.is(changedSections({ ...w, oldParts: w.oldParts.map(([len], i) => [len, i === 0 ? sha(Buffer.from('x')) : w.oldParts[i][1]]) }, NFT_MARKER), undefined);
});

test.run();
