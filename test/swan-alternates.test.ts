// applySwanPlan asks charon for the alternate names (NAME~2) of the connections it touches, except those new to the host.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applySwanPlan, Call, SwanPlan } from '../src/apply/incremental/swan';
import type { ViciClient } from '../src/vici';

function stub() {
  const asked: string[][] = [];
  const loaded: string[] = [];
  const client = {
    listConnsEach: async (names: string[]) => {
      asked.push(names);
      return new Map(names.map((n) => [n, n === 'old2~2' ? [{ name: n, section: {} }] : []]));
    },
    loadConn: async (name: string) => void loaded.push(name),
    unloadConn: async () => undefined,
    terminate: async () => ({ events: [] }),
  } as unknown as ViciClient;
  return { client, asked, loaded };
}

const call: Call = async (_argv, fn) => fn();
const plan = (load: string[]): SwanPlan => ({ load: load.map((name) => ({ name, section: new Map() })), unload: [], loadShared: [], unloadShared: [], files: [] });

test('an added connection\'s alternate is not asked for; a known one\'s is, and it is loaded under the name charon holds', async () => {
  const s = stub();
  await applySwanPlan(s.client, plan(['new1', 'old2']), [], call, { fresh: (n) => n === 'new1' });
  assert.equal(s.asked, [['old2~2'], ['old2']], 'one exchange for the known connection\'s alternate, one for its own name');
  assert.equal(s.loaded, ['new1', 'old2~2']);
  const t = stub();
  await applySwanPlan(t.client, plan(['new1']), [], call, { fresh: () => true });
  assert.equal(t.asked, [], 'nothing asked when every touched connection is new');
  const u = stub();
  await applySwanPlan(u.client, plan(['new1']), [], call);
  assert.equal(u.asked, [['new1~2']], 'without `fresh` every alternate is asked for (and no name whose alternate charon does not hold)');
});

test.run();
