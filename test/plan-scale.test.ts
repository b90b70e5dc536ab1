// Plan among many tenants: a one-tenant change shows only that tenant's impact and only its diff hunks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateTempRepo, tenantName } from '../bench/generate';
import { cli } from './helpers';
import { cutEnd, diffFiles, piecesPatch, searches, trimCommon, trimCommonPieces, wholePatch } from '../src/plan/plan';
import { loadConfig } from '../src/model/load';
import { compile } from '../src/bundle/compile';
import { compileStored } from '../src/plan/side';
import { StoredFile, TextStore, piecesOf } from '../src/plan/store';

/** A copy of `a` with `edits` random edits: a piece inserted, removed or replaced, or two pieces joined (the same text split in other pieces). */
function edited(a: string[], edits: number, rnd: (n: number) => number, piece: () => string): string[] {
  const b = [...a];
  for (let e = 0; e < edits; e++) {
    const at = rnd(b.length + 1);
    const kind = rnd(4);
    if (kind === 0) b.splice(at, 0, piece());
    else if (kind === 1 && at < b.length) b.splice(at, 1);
    else if (kind === 2 && at < b.length) b[at] = piece();
    else if (at < b.length - 1) b.splice(at, 2, b[at] + b[at + 1]);
  }
  return b;
}

test('trimCommonPieces cuts pieces exactly as trimCommon cuts their joined texts', () => {
  // Small alphabets of lines and pieces of 0-3 lines (some without a final newline, some empty): repeated lines,
  // changes at the first piece, at the last, in the middle, and a different split of the same text.
  let seed = 7;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const lines = ['a\n', 'b\n', '\n', 'c', 'x = 1\n'];
  const piece = () => Array.from({ length: rnd(4) }, () => lines[rnd(lines.length)]).join('');
  let changed = 0;
  for (let round = 0; round < 3000; round++) {
    const a = Array.from({ length: 1 + rnd(30) }, piece);
    const b = edited(a, rnd(3), rnd, piece);
    for (const margin of [0, 1, 4]) {
      const whole = trimCommon(a.join(''), b.join(''), margin);
      const pieces = trimCommonPieces(a, b, margin);
      if (a.join('') === b.join('')) assert.is(pieces, undefined, JSON.stringify([a, b]));
      else {
        changed++;
        assert.equal(pieces, whole, JSON.stringify([a, b, margin]));
      }
    }
  }
  assert.ok(changed > 3000, `${changed} changed pairs`);
});

test('piecesPatch and its cut common end give exactly the patch of the whole texts', () => {
  // Lines of a small alphabet (runs of equal lines, periodic ends that make jsdiff's search reach a cut end and fall
  // back to the whole texts) and of a large one (unique lines, where the cut end holds), pieces of 0-4 lines.
  let seed = 11;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const before = { ...searches };
  for (let round = 0; round < 3000; round++) {
    const small = round % 2 === 0;
    const line = () => (small ? ['a\n', 'b\n', '!\n', '\n', 'x = 1\n'][rnd(5)] : `line ${rnd(100000)}\n`);
    const piece = () => Array.from({ length: rnd(5) }, line).join('') + (rnd(20) === 0 ? 'no newline' : '');
    const a = Array.from({ length: 1 + rnd(60) }, piece);
    const b = edited(a, 1 + rnd(3), rnd, piece);
    const whole = wholePatch('gw/f', a.join(''), b.join(''));
    assert.is(piecesPatch('gw/f', a, b), whole, JSON.stringify([a, b]));
  }
  const cut = searches.cut - before.cut;
  const fellBack = searches.whole - before.whole;
  assert.ok(cut > 500 && fellBack > 100, `${cut} cut, ${fellBack} whole`);
});

test('cutEnd keeps whole common lines after the last difference, cut at a line start', () => {
  const common = Array.from({ length: 20 }, (_, i) => `c${i}\n`).join('');
  assert.equal(cutEnd(`x\ny1${common}`, `x\ny22${common}`, 3), { a: 'x\ny1c0\nc1\nc2\nc3\n', b: 'x\ny22c0\nc1\nc2\nc3\n' });
  assert.is(cutEnd(`a\n${common}`, `b\n${common}`, 25), undefined);
});

test('a one-tenant change among 300 tenants: only that tenant in the impact and the hunks', async () => {
  const repo = generateTempRepo({ tenants: 300 });
  try {
    assert.is((await cli(['build', '--config', repo.dir])).code, 0);
    const victim = tenantName(137);
    const f = path.join(repo.dir, 'tenants', `${victim}.yaml`);
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('{ to: 10.2.0.0/16, metric: 100 }', '{ to: 10.2.0.0/16, metric: 90 }'));
    const r = await cli(['plan', '--config', repo.dir, '--against', path.join(repo.dir, 'out'), '--format', 'json']);
    assert.is(r.code, 3, r.err);
    const plan = JSON.parse(r.out);
    const gw = plan.gateways[0];
    assert.equal(gw.impact.tenants.map((t: { tenant: string }) => t.tenant), [victim]);
    assert.is(gw.impact.untouched.length, 299);
    assert.equal(gw.impact.tenants[0].changes.map((c: { kind: string; subject: string; detail: string }) => `${c.kind} ${c.subject}: ${c.detail}`), [`route 10.2.0.0/16 on ${victim}e2: metric 100 -> 90`]);
    // Every changed line in every hunk is the victim's: its route names its interface.
    for (const file of gw.files) {
      const changed = file.patch.split('\n').filter((l: string) => /^[+-](?![+-]{2} )/.test(l));
      assert.ok(changed.length > 0, file.path);
      for (const l of changed) assert.ok(l.includes(`${victim}e2`), `${file.path}: ${l}`);
    }
    assert.equal(gw.files.map((x: { path: string }) => x.path), ['frr/frr.conf']);
    // The patch, cut at both common ends, is the patch of the two whole files.
    const after = path.join(repo.dir, 'out-after');
    assert.is((await cli(['build', '--config', repo.dir, '--out', after])).code, 0);
    const conf = (d: string) => fs.readFileSync(path.join(d, 'gw1', 'frr', 'frr.conf'), 'utf8');
    assert.is(gw.files[0].patch, wholePatch('gw1/frr/frr.conf', conf(path.join(repo.dir, 'out')), conf(after)));
  } finally {
    fs.rmSync(repo.dir, { recursive: true, force: true });
  }
});

test('a text store gives back every text it took, across chunks, a lone surrogate and non-ASCII included', () => {
  const store = new TextStore();
  const texts: string[] = [];
  for (let i = 0; i < 3000; i++) texts.push(`line ${i} ${'x'.repeat(i % 97)}\n${i % 500 === 0 ? 'tunnel é ü 🛰\n' : ''}`);
  texts.push('half \ud800 of a pair\n', '', 'y'.repeat(200_000) + '\n');
  const stored = texts.map((t) => store.add(t));
  // Read out of order, before and after the last chunk is sealed.
  for (const i of [texts.length - 1, 0, 1500, texts.length - 3, 7]) assert.is(stored[i].text, texts[i]);
  store.seal();
  stored.forEach((s, i) => {
    assert.is(s.text, texts[i]);
    assert.is(s.length, texts[i].length);
    assert.is(s.lines, texts[i].split('\n').length - 1);
  });
  assert.ok(store.bytes < texts.join('').length / 4, `${store.bytes} bytes`);
});

test("plan's stored sides: the manifests and texts of compile's lean bundles; the second side holds the first's pieces where they are equal", () => {
  const repo = generateTempRepo({ tenants: 40 });
  try {
    const lean = (dir: string) => compile(loadConfig(dir), undefined, { lean: true, base: true });
    const before = lean(repo.dir);
    const store = new TextStore();
    const a = compileStored(loadConfig(repo.dir), store, { base: true });
    const victim = tenantName(17);
    const f = path.join(repo.dir, 'tenants', `${victim}.yaml`);
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('{ to: 10.2.0.0/16, metric: 100 }', '{ to: 10.2.0.0/16, metric: 90 }'));
    const after = lean(repo.dir);
    const b = compileStored(loadConfig(repo.dir), store, { base: true, like: a.bundles });
    for (const [x, y] of [[before, a], [after, b]] as const) {
      assert.ok(x.ok && y.ok);
      assert.is(y.bundles.length, x.bundles.length);
      x.bundles.forEach((bx, i) => {
        const by = y.bundles[i];
        assert.equal(JSON.parse(JSON.stringify(by.manifest)), JSON.parse(JSON.stringify(bx.manifest)));
        assert.equal(by.files.map((q) => [q.path, q.mode, q.content]), bx.files.map((q) => [q.path, q.mode, q.content]));
      });
    }
    // The changed tenant's pieces are the second side's own; every other piece is the first side's object.
    let own = 0;
    let shared = 0;
    b.bundles[0].files.forEach((file, i) => {
      const pa = piecesOf(a.bundles[0].files[i]);
      const pb = piecesOf(file);
      if (!pa || !pb) return;
      assert.ok(file instanceof StoredFile);
      pb.forEach((p, k) => (p === pa[k] ? shared++ : own++));
    });
    assert.ok(own >= 1 && own <= 4, `${own} pieces stored again`);
    assert.ok(shared > 40 * 5, `${shared} shared`);
    // And the diff of the stored sides is the diff of compile's.
    assert.equal(diffFiles('gw1', a.bundles[0].files, b.bundles[0].files), diffFiles('gw1', before.bundles[0].files, after.bundles[0].files));
  } finally {
    fs.rmSync(repo.dir, { recursive: true, force: true });
  }
});

test.run();
