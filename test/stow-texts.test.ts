// The sources' texts kept compressed once the findings are settled (stowTexts(), src/model/source.ts): code frames
// read the same texts and a late place below an entity, re-parsed from the stowed text, is the same place.
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../src/model/load';
import { at, Model } from '../src/model/model';
import { stowTexts } from '../src/model/source';
import { TextStore } from '../src/util/text-store';
import { validate } from '../src/validate';

const ROOT = path.resolve(__dirname, '..', '..');

test('a stowed source reads the same text, lets go of its line table and gives the same late places', () => {
  // Places no entity keeps (below a connection's own keys): each re-parses its file (which then keeps its document).
  const late = (m: Model) => m.tenants.flatMap((t) => t.connections.flatMap((c) => c.routes.map((_, i) => at(m, c.origin, 'routes', i, 'to'))));
  const before = late(validate(loadConfig(ROOT)).model);
  assert.ok(before.length > 1, 'the seed has routes');
  const v = validate(loadConfig(ROOT));
  assert.ok(v.ok, 'the seed repository validates');
  const files = [...v.model.sources.values()];
  const texts = files.map((f) => f.text);
  const store = new TextStore();
  let stowed = 0;
  stowTexts(files, (t) => (stowed++, store.add(t)));
  assert.is(stowed, files.length, 'every file was parsed and released');
  for (const [i, f] of files.entries()) {
    assert.is((f.lineCounter as unknown as { lineStarts: number[] }).lineStarts.length, 0, `${f.path}: its line table went`);
    assert.is(f.text, texts[i], f.path);
  }
  assert.equal(late(v.model), before);
  // A text set later is that text (as a re-read file's).
  files[0].text = 'gateway: x\n';
  assert.is(files[0].text, 'gateway: x\n');
});

test.run();
