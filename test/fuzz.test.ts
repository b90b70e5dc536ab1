// Property-based fuzzing of validate + build (fast-check): random, often hostile gateway and tenant files from the
// schemas. For each: no exception, every outcome is diagnostics or bundles, the same input gives the same bytes;
// a sample of the bundles is handed to the real tools (nft -c, vtysh -C, charon). A fixed seed and a bounded count
// here; `npm run fuzz` runs many more (S2SGW_FUZZ_RUNS, S2SGW_FUZZ_CHECKS, S2SGW_FUZZ_SEED).
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkBundle } from '../src/bundle/check';
import { Case, configArb, diagnosticProblems, runCase, Wildness } from './fuzz';

const RUNS = Number(process.env.S2SGW_FUZZ_RUNS ?? 60);
const CHECKS = Number(process.env.S2SGW_FUZZ_CHECKS ?? 2);
const SEED = Number(process.env.S2SGW_FUZZ_SEED ?? 20261206);

/** Four mixes: mostly valid (to reach build and the real tools), some hostile leaves, and very hostile. */
const MIXES: Array<[string, Wildness]> = [
  ['mostly valid', { hostile: 0.003, wrongType: 0.001, strayKey: 0.005, mutate: 0.01 }],
  ['hostile leaves', { hostile: 0.05, wrongType: 0.02, strayKey: 0.05, mutate: 0.1 }],
  ['one hostile string in a good file', { hostile: 0, wrongType: 0, strayKey: 0, mutate: 0, oneLeaf: 0.3 }],
  ['very hostile', { hostile: 0.3, wrongType: 0.1, strayKey: 0.2, mutate: 0.5 }],
];

const built: Array<{ name: string; c: Case }> = [];
const tally = { cases: 0, refused: 0, bundles: 0 };

function show(c: Case): string {
  return c.files.map((f) => `--- ${f.path}\n${typeof f.text === 'string' ? f.text.slice(0, 3000) : `(bytes) ${Buffer.from(f.text).toString('base64').slice(0, 3000)}`}`).join('\n');
}

for (const [name, w] of MIXES) {
  test(`fuzz (${name}): no crash, diagnostics or a bundle, the same bytes twice`, () => {
    fc.assert(
      fc.property(configArb(w), (c) => {
        let first;
        try {
          first = runCase(c);
        } catch (e) {
          throw new Error(`validate/build threw ${(e as Error).stack}\n${show(c)}`);
        }
        const again = runCase(c);
        if (again.bytes !== first.bytes) throw new Error(`two runs gave different output\n${show(c)}`);
        const r = first.compiled;
        const problems = diagnosticProblems(r.diagnostics, c);
        if (problems.length) throw new Error(`${problems.join('\n')}\n${show(c)}`);
        const errors = r.diagnostics.some((d) => d.severity === 'error');
        tally.cases++;
        if (errors) {
          tally.refused++;
          if (r.ok || r.bundles.length) throw new Error(`refused with errors yet ok or with bundles\n${show(c)}`);
        } else {
          if (!r.ok) throw new Error(`no error diagnostic yet not ok\n${show(c)}`);
          tally.bundles++;
          if (r.bundles.some((b) => Object.keys(b.manifest.tenants).length) && built.length < Math.max(1, CHECKS * 4)) built.push({ name, c });
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  });
}

// The slow part: real tools on a few bundles, from different mixes and as different from each other as the sample allows.
test('fuzz: a sample of the accepted configs yields bundles nft, vtysh and charon accept', async () => {
  assert.ok(tally.bundles > 0 && built.length > 0, `no generated case got through build (${JSON.stringify(tally)}): the generator is too wild to prove anything`);
  const sample = built.filter((_, i) => i % Math.max(1, Math.floor(built.length / CHECKS)) === 0).slice(0, CHECKS);
  for (const { name, c } of sample) {
    const r = runCase(c).compiled;
    for (const b of r.bundles) {
      const d = await checkBundle(b, r.model, ['nftables', 'frr', 'strongswan']);
      const bad = d.filter((x) => x.severity === 'error' || !/^[a-z]+\/kernel-unsupported$/.test(x.code));
      assert.equal(bad.map((x) => `${x.severity} ${x.code} ${x.file}:${x.line}: ${x.message}`), [], `${name}, gateway ${b.gateway}:\n${show(c)}`);
    }
  }
  console.log(`\n  fuzz: ${tally.cases} cases, ${tally.refused} refused with diagnostics, ${tally.bundles} built; ${sample.length} checked with the real tools`);
});

test.run();
