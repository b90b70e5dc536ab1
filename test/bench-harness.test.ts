// The bench harness measures what it says (child processes, counts, bundle bytes) and judges goals right; no timing is asserted.
import * as fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runChild, verdict, formatTable } from '../bench/bench';
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
