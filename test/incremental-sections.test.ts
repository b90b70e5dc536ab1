// oldSections: the old release's file read only where a plan looks, or undefined (read it whole) when what it reads does not line up.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nftPlan } from '../src/apply/incremental/nft';
import { FRR_MARKER, NFT_MARKER, oldSections, sectionSpan } from '../src/apply/incremental/sections';
import { frrPlan } from '../src/apply/incremental/frr';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-sections-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

const HEAD = 'table inet s2sgw {\n  map zone { type ifname : verdict; }\n}\n';
/** A tenant's section as the nftables target renders it (a blank line, the marker, its elements and chains). */
function section(t: string, v = 1): string {
  return `\n# tenant ${t} (tenants/${t}.yaml): conntrack zone ${v}\nadd element inet s2sgw zone { "${t}" comment "${t}" : jump ${t}_in }\nadd chain inet s2sgw ${t}_in\n${'add rule inet s2sgw ' + t + '_in ip saddr 10.0.0.' + v + ' accept\n'.repeat(v)}`;
}
const names = (n: number) => Array.from({ length: n }, (_, i) => `t${i + 1}`).sort();
function file(ts: string[], v: (t: string) => number = () => 1, head = HEAD): string {
  return head + ts.map((t) => section(t, v(t))).join('');
}
let k = 0;
function write(text: string): string {
  const f = path.join(dir, `old-${k++}.nft`);
  fs.writeFileSync(f, text);
  return f;
}

/** The plan from the part oldSections read equals the plan from the whole old file, and less than the whole was read. */
function same(oldText: string, newText: string, touched: string[], newNames: string[], oldNames: string[], most = 0.5): void {
  const f = write(oldText);
  const part = oldSections(f, Buffer.from(newText), NFT_MARKER, touched, (t) => oldNames.includes(t), () => newNames);
  assert.ok(part, `read in part for ${touched.join(', ')}`);
  assert.ok(part!.length < oldText.length * most, `read less than ${most} of the old file`);
  assert.equal(nftPlan(part!, newText, touched), nftPlan(oldText, newText, touched));
  // Told which tenants the new file has (as apply tells it from the new manifest): the same part, the same plan.
  const inNew = (t: string) => newNames.includes(t);
  assert.equal(oldSections(f, Buffer.from(newText), NFT_MARKER, touched, (t) => oldNames.includes(t), () => newNames, inNew), part);
  assert.equal(nftPlan(part!, newText, touched, inNew), nftPlan(oldText, newText, touched));
}

test('a changed, an added, a removed tenant and several at once: the same transaction as from the whole file', () => {
  const all = names(40);
  const old = file(all);
  // changed in the middle, at the start, at the end (a longer and a shorter section)
  for (const t of [all[17], all[0], all[39]]) same(old, file(all, (x) => (x === t ? 3 : 1)), [t], all, all);
  same(file(all, (x) => (x === all[5] ? 4 : 1)), old, [all[5]], all, all);
  // added: in the middle (t1x sorts between), and after the last
  for (const t of ['t22a', 'zz']) {
    const plus = [...all, t].sort();
    same(old, file(plus), [t], plus, all);
  }
  // removed: in the middle, the first, the last
  for (const t of [all[20], all[0], all[39]]) {
    const less = all.filter((x) => x !== t);
    same(old, file(less), [t], less, all);
  }
  // several: one removed, one added, two changed, far apart
  const now = [...all.filter((x) => x !== all[3]), 't35b'].sort();
  same(old, file(now, (x) => (x === all[10] || x === all[30] ? 2 : 1)), [all[3], all[10], all[30], 't35b'].sort(), now, all, 0.9);
});

test('an old file that does not line up with the new one is read whole (undefined), never planned from the wrong bytes', () => {
  const all = names(30);
  const t = all[15];
  const now = Buffer.from(file(all, (x) => (x === t ? 2 : 1)));
  const check = (oldText: string, touched = [t], inOld = (x: string) => all.includes(x)) => oldSections(write(oldText), now, NFT_MARKER, touched, inOld, () => all);
  // sanity: the honest old file is read in part
  assert.ok(check(file(all)));
  // an untouched tenant's section longer than the new file's (the manifest's digests would say it is the same)
  assert.is(check(file(all, (x) => (x === all[3] ? 2 : 1))), undefined);
  // ... or shorter, after the touched one
  assert.is(check(file(all, (x) => (x === all[20] ? 0 : 1))), undefined);
  // a head of another length, and one of the same length with other bytes
  assert.is(check(file(all, () => 1, HEAD + '# more\n')), undefined);
  assert.is(check(file(all, () => 1, HEAD.replace('zone', 'enoz'))), undefined);
  // the sections in another order
  assert.is(check(file([...all].reverse())), undefined);
  // the touched tenant missing from the old file although the old release has it; present although it does not
  assert.is(check(file(all.filter((x) => x !== t))), undefined);
  assert.is(check(file(all), [t], (x) => x !== t && all.includes(x)), undefined);
  // truncated, empty, missing
  assert.is(check(file(all).slice(0, 200)), undefined);
  assert.is(check(''), undefined);
  assert.is(oldSections(path.join(dir, 'none.nft'), now, NFT_MARKER, [t], () => true, () => all), undefined);
  // between two touched tenants, an untouched one under another name of the same length (inside what is read)
  const two = [all[5], all[25]];
  const now2 = Buffer.from(file(all, (x) => (two.includes(x) ? 2 : 1)));
  const swapped = file(all).replace(`# tenant ${all[14]} (tenants/${all[14]}.yaml)`, `# tenant ${all[14].replace('t', 'u')} (tenants/${all[14]}.yaml)`);
  assert.ok(oldSections(write(file(all)), now2, NFT_MARKER, two, () => true, () => all));
  assert.is(oldSections(write(swapped), now2, NFT_MARKER, two, () => true, () => all), undefined);
});

test('frr.conf: its sections (`!` line before each marker) read in part give the same vtysh plan', () => {
  const sec = (t: string, d = 100) => `!\n! tenant ${t}: tenants/${t}.yaml\nvrf ${t}\n ip route 10.1.0.0/16 192.0.2.1 ${d}\nexit-vrf\n`;
  const conf = (ts: string[], d: (t: string) => number = () => 100) => 'frr defaults traditional\nhostname gw1\n' + ts.map((t) => sec(t, d(t))).join('');
  const all = names(30);
  const old = conf(all);
  const cases: Array<[string, string[], string[]]> = [
    [conf(all, (x) => (x === all[12] ? 150 : 100)), [all[12]], all],
    [conf([...all, 'zz'].sort()), ['zz'], [...all, 'zz'].sort()],
    [conf(all.filter((x) => x !== all[29])), [all[29]], all.filter((x) => x !== all[29])],
    [conf(all.filter((x) => x !== all[7])), [all[7]], all.filter((x) => x !== all[7])],
  ];
  for (const [now, touched, newNames] of cases) {
    const part = oldSections(write(old), Buffer.from(now), FRR_MARKER, touched, (t) => all.includes(t), () => newNames);
    assert.ok(part && part.length < old.length / 2, `read in part for ${touched}`);
    assert.equal(frrPlan(part!, now, touched), frrPlan(old, now, touched));
  }
});


test('sectionSpan in a file over 1 MiB (a binary search over sorted sections) answers as the byte search does, in any order', () => {
  const all = names(8000);
  const plain = (text: Buffer, t: string): [number, number] | undefined => {
    const key = `\n# tenant ${t} (`;
    const i = text.indexOf(key);
    if (i < 0) return undefined;
    const e = text.indexOf('\n# tenant ', i + key.length);
    return [i + 1, e < 0 ? text.length : e + 1];
  };
  // Sorted as the targets render them; then shuffled (the search may miss and fall back, never answer wrong); then with
  // a marker line broken (no ` (` after the name).
  const shuffled = [...all].sort((a, b) => (a.length % 3) - (b.length % 3) || (a < b ? 1 : -1));
  const big = (t: string) => (t.endsWith('7') ? 3 : 1);
  const broken = file(all, big).replace('# tenant t2000 (', '# tenant t2000\n');
  const some = [...all.filter((_, i) => i % 31 === 0 || i < 3 || i > all.length - 4), 't', 't0', 't1000a', 't99999', 'zz', 'a', 't2000'];
  for (const text of [file(all, big), file(shuffled, big), broken].map((x) => Buffer.from(x))) {
    assert.ok(text.length > 1 << 20, `${text.length} bytes: over 1 MiB`);
    for (const t of some) assert.equal(sectionSpan(text, NFT_MARKER, t), plain(text, t), t);
  }
});

test.run();
