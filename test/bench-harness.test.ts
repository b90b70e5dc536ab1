// The bench harness measures what it says (child processes, counts, bundle bytes) and judges goals right; no timing is asserted.
import * as fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as os from 'node:os';
import * as path from 'node:path';
import { runChild, verdict, formatTable, formatReport } from '../bench/bench';
import { classChanges } from '../bench/classes';
import { loadConfig } from '../src/model/load';
import { LOCK_FILE, readLock } from '../src/model/lock';
import { compile } from '../src/bundle/compile';
import { writeTree } from '../src/bundle/write';
import { parseManifest, summaryPath } from '../src/bundle/manifest';
import { impact } from '../src/plan/impact';
import { rank, CHANGE_CLASSES } from '../src/plan/change-class';
import { analyze, CpuProfile } from '../bench/profile';
import { generateTempRepo } from '../bench/generate';

test('a child measures parse, validate and build of a generated repository and reports its own peak RSS', async () => {
  const g = generateTempRepo({ tenants: 5 });
  const nft = `${g.dir}/out.nft`;
  try {
    const parse = await runChild(['parse', g.dir]);
    const validate = await runChild(['validate', g.dir]);
    const build = await runChild(['build', g.dir, '--nft-out', nft]);
    assert.is(parse.tenants, 5);
    assert.is(validate.tenants, 5);
    assert.is(validate.errors, 0);
    assert.equal(Object.keys(validate.phases), ['load', 'validate']);
    assert.equal(Object.keys(build.phases), ['load', 'validate', 'allocate', 'bundle']);
    for (const m of [parse, validate, build]) {
      assert.ok(m.ms > 0 && m.cpuMs > 0, `${m.op} timed`);
      // A node process cannot run in less than 10 MB: the figure is the child's, in kB.
      assert.ok(m.maxRssKb > 10_000, `${m.op} maxRssKb ${m.maxRssKb}`);
    }
    // manifest.json at least, and the nftables file written out exactly as measured.
    assert.ok((build.bundleFiles ?? 0) >= 1);
    assert.ok((build.bundleBytes ?? 0) > 0);
    assert.is(fs.statSync(nft).size, build.nftBytes);
  } finally {
    fs.rmSync(g.dir, { recursive: true, force: true });
  }
});

test('a child given a bad operation fails loudly', async () => {
  try {
    await runChild(['nonsense', '/nonexistent']);
    assert.unreachable('should have rejected');
  } catch (e) {
    assert.instance(e, Error);
    assert.match((e as Error).message, /exited 2/);
  }
});

test('goals: PASS at or under the limit, MISS over it, n/a when not measured', () => {
  assert.match(verdict({ name: 'r', value: 2, limit: 2, unit: 'x' }), /^PASS /);
  assert.match(verdict({ name: 'r', value: 2.01, limit: 2, unit: 'x' }), /^MISS .*2\.01x \(goal <= 2\.00x\)/);
  assert.match(verdict({ name: 'rss', value: 1500, limit: 1024, unit: 'MB' }), /^MISS .*1,500 MB/);
  assert.match(verdict({ name: 'r', value: undefined, limit: 12, unit: 'x', missing: 'needs a second size' }), /^n\/a .*needs a second size/);
});

test('a report prints its sections after itself', () => {
  const out = formatReport({ title: 'one', notes: ['n1'], sections: [{ title: 'two', table: [['a', 'b'], ['x', '1']] }] });
  assert.match(out, /^== one\n\nnote: n1\n\n== two\na  b\nx  1\n$/);
});

test('the apply bench\'s change classes are what plan calls them, one tenant each', () => {
  const g = generateTempRepo({ tenants: 8 });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-classes-'));
  try {
    const c = compile(loadConfig(g.dir), readLock(g.dir));
    assert.ok(c.ok);
    fs.writeFileSync(path.join(g.dir, LOCK_FILE), c.lockText!);
    const base = path.join(scratch, 'base');
    writeTree(base, c.bundles[0].files);
    const man = (b: string) => parseManifest(fs.readFileSync(path.join(b, 'manifest.json')), (t) => JSON.parse(fs.readFileSync(path.join(b, summaryPath(t)), 'utf8')));
    const ks = classChanges(g.dir, 8, scratch, () => {});
    assert.equal(ks.map((k) => k.cls), ['added', 'removed', 'replace', 'rekey', 'hitless']);
    assert.is(new Set(ks.map((k) => k.tenant)).size, 5);
    let prev = base;
    for (const k of ks) {
      const im = impact(man(prev), man(k.bundle));
      assert.equal(im.tenants.map((t) => t.tenant), [k.tenant], k.label);
      const t = im.tenants[0];
      if (k.cls === 'added' || k.cls === 'removed') assert.is(t.status, k.cls, k.label);
      else assert.is(CHANGE_CLASSES[Math.max(...t.changes.map((x) => rank(x.class)))], k.cls, k.label);
      prev = k.bundle;
    }
  } finally {
    fs.rmSync(g.dir, { recursive: true, force: true });
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});

test('tables align columns and right-align numbers', () => {
  assert.is(formatTable([['name', 'ms'], ['parse', '5'], ['validate', '1,234']]), 'name      ms\nparse         5\nvalidate  1,234');
});

test('profile analysis: self time at the leaf, inclusive time up the stack, recursion counted once', () => {
  const frame = (functionName: string) => ({ functionName, url: 'file:///x/dist/src/a.js', lineNumber: 0 });
  // root -> f -> g -> f (recursive); samples: 2 ms in g, 3 ms in the inner f, 1 ms in root.
  const p: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2] },
      { id: 2, callFrame: frame('f'), children: [3] },
      { id: 3, callFrame: frame('g'), children: [4] },
      { id: 4, callFrame: frame('f') },
    ],
    samples: [3, 4, 1],
    timeDeltas: [2000, 3000, 1000],
  };
  const a = analyze(p);
  const by = new Map(a.functions.map((f) => [f.fn.split(' ')[0], f]));
  assert.is(a.totalMs, 6);
  assert.equal([by.get('f')!.self, by.get('f')!.total], [3, 5]);
  assert.equal([by.get('g')!.self, by.get('g')!.total], [2, 5]);
  assert.equal([by.get('(root)')!.self, by.get('(root)')!.total], [1, 6]);
  assert.match(by.get('f')!.fn, /src\/a\.js:1$/);
});

test.run();
