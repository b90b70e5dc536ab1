// The journal: a step mark is synced and renamed beside the step, never over a later phase; the finish leaves nothing behind.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JournalWriter, readJournal } from '../src/apply/journal';
import { layout } from '../src/apply/layout';
import { Syncs, writeDurable, copyDurable } from '../src/apply/fsx';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-journal-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

const l = layout({ host: (p: string) => path.join(dir, p) });
const stray = () => fs.readdirSync(l.state).filter((n) => n.endsWith('.tmp'));
/** Until the marks' syncs on libuv's threads are done. */
const settle = async () => {
  for (let i = 0; i < 200 && stray().length; i++) await new Promise((r) => setTimeout(r, 5));
};

test('a mark lands once synced; a phase written while marks still sync is not undone by them; finish leaves no file', async () => {
  const w = JournalWriter.start(l, { op: 'apply', from: null, to: 'r1', phase: 'forward' });
  w.mark('switch', 'begin');
  await settle();
  assert.equal(readJournal(l)?.steps.map((s) => s.step), ['switch'], 'the mark is in the file once its sync is done');
  w.mark('switch', 'done');
  w.mark('reload-nftables', 'begin');
  w.mark('reload-strongswan', 'begin');
  // Written at once and durably, before the marks' syncs come back.
  w.phase('committed');
  assert.equal(readJournal(l)?.phase, 'committed');
  await settle();
  const j = readJournal(l)!;
  assert.equal(j.phase, 'committed', 'a mark begun before the phase does not replace it');
  assert.equal(j.steps.map((s) => s.step), ['switch', 'switch', 'reload-nftables', 'reload-strongswan']);
  assert.equal(stray(), [], 'no temporary file left');
  w.mark('health', 'begin');
  w.finish();
  await settle();
  assert.not.ok(fs.existsSync(l.journal), 'a mark still syncing at the finish does not bring the journal back');
  assert.equal(stray(), []);
});

test('Syncs: writes renamed into place at once, synced by flush (a file removed since is skipped)', async () => {
  const s = new Syncs();
  const a = path.join(dir, 'live', 'a.conf');
  const b = path.join(dir, 'live', 'b.conf');
  writeDurable(a, 'one\n', 0o640, s);
  fs.writeFileSync(path.join(dir, 'src.conf'), 'two\n');
  copyDurable(path.join(dir, 'src.conf'), b, 0o600, s);
  assert.equal(fs.readFileSync(a, 'utf8'), 'one\n');
  assert.equal(fs.statSync(a).mode & 0o777, 0o640);
  assert.equal(fs.readFileSync(b, 'utf8'), 'two\n');
  assert.equal(fs.statSync(b).mode & 0o777, 0o600);
  assert.equal(s.size, 3, 'two files and their folder');
  fs.rmSync(a);
  await s.flush();
  assert.equal(s.size, 0);
  assert.equal(fs.readdirSync(path.dirname(a)).filter((n) => n.endsWith('.tmp')), []);
});

test('Syncs.copy: the file lands whole with its mode, is stamped through `placed`, and flush fails with a failed copy', async () => {
  const s = new Syncs();
  const from = path.join(dir, 'big.conf');
  fs.writeFileSync(from, 'x'.repeat(1 << 20), { mode: 0o644 });
  const live = path.join(dir, 'etc', 'frr.conf');
  fs.mkdirSync(path.dirname(live), { recursive: true });
  fs.writeFileSync(live, 'old\n');
  let placed = 0;
  s.copy(from, live, 0o640, () => placed++);
  s.copy(path.join(dir, 'no-such-file'), path.join(dir, 'etc', 'other.conf'), 0o644);
  await s.copied();
  assert.equal(fs.readFileSync(live, 'utf8').length, 1 << 20);
  assert.equal(fs.statSync(live).mode & 0o777, 0o640);
  assert.equal(placed, 1);
  assert.not.ok(fs.existsSync(path.join(dir, 'etc', 'other.conf')));
  assert.equal(fs.readdirSync(path.dirname(live)).filter((n) => n.endsWith('.tmp')), [], 'no temporary file left, also of the failed copy');
  let failed: unknown;
  await s.flush().catch((e) => (failed = e));
  assert.match(String((failed as Error)?.message), /ENOENT/);
});

test.run();
