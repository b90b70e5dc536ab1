// Build's file writer thread (src/bundle/write-thread.ts) and a StagedTree written through it: the same files, bytes
// and modes as written in line, whole before the swap, a write's failure thrown with its code, nothing left staged.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, compileDir, readFiles } from './helpers';
import { StagedTree } from '../src/bundle/write';
import { WriteThread } from '../src/bundle/write-thread';

const temps: string[] = [];
const tempDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-write-thread-'));
  temps.push(d);
  return d;
};

const modes = (dir: string) => {
  const out = new Map<string, number>();
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.set(r, fs.statSync(path.join(dir, r)).mode & 0o7777);
    }
  };
  walk('');
  return out;
};

test('a bundle staged through the thread (every file on it, small batches) is the bundle, byte for byte and mode for mode', () => {
  const r = compileDir(path.join(FIXTURES, 'build', 'fleet'));
  assert.ok(r.ok);
  const root = tempDir();
  for (const b of r.bundles) {
    // inline 0: every file goes to the worker; 4 KiB batches and 16 KiB in flight: it waits for the worker, often.
    const w = new WriteThread(0, 16 << 10, 4 << 10);
    const t = new StagedTree(path.join(root, 'thread', b.gateway), undefined, w);
    const plain = new StagedTree(path.join(root, 'plain', b.gateway));
    try {
      for (const f of b.files) {
        // Large files come with their bytes (made to be hashed): written in line.
        t.put(f, undefined, f.content.length > 1000 ? Buffer.from(f.content) : undefined);
        plain.put(f);
      }
      t.commit();
      plain.commit();
    } finally {
      t.abort();
      plain.abort();
      w.close();
    }
    const got = readFiles(path.join(root, 'thread', b.gateway));
    assert.equal([...got.keys()].sort(), b.files.map((f) => f.path).sort());
    for (const f of b.files) assert.ok(got.get(f.path) === f.content, `${b.gateway}: ${f.path}`);
    assert.equal(modes(path.join(root, 'thread', b.gateway)), modes(path.join(root, 'plain', b.gateway)));
  }
  assert.equal(fs.readdirSync(path.join(root, 'thread')).filter((n) => n.startsWith('.')), [], 'nothing staged left');
});

test('read() of a file put waits for its write; a key file keeps its mode whatever the umask', () => {
  const root = tempDir();
  const w = new WriteThread(0);
  const t = new StagedTree(path.join(root, 'gw1'), undefined, w);
  const old = process.umask(0o077);
  try {
    for (let i = 0; i < 300; i++) t.put({ path: `d${i % 3}/f${i}.conf`, content: `file ${i}\n`.repeat(i + 1), mode: i % 2 ? 0o644 : 0o600 });
    assert.is(t.read('d2/f299.conf'), 'file 299\n'.repeat(300));
    t.commit();
  } finally {
    process.umask(old);
    t.abort();
    w.close();
  }
  assert.is(fs.statSync(path.join(root, 'gw1', 'd1', 'f1.conf')).mode & 0o777, 0o644);
  assert.is(fs.statSync(path.join(root, 'gw1', 'd0', 'f0.conf')).mode & 0o777, 0o600);
  assert.is(readFiles(path.join(root, 'gw1')).size, 300);
});

test("a write that fails on the thread is thrown by commit() with the file system's code; the target is untouched and nothing is left staged", () => {
  const root = tempDir();
  const target = path.join(root, 'gw1');
  fs.mkdirSync(target);
  fs.writeFileSync(path.join(target, 'old.conf'), 'old\n');
  const w = new WriteThread(0);
  const t = new StagedTree(target, undefined, w);
  try {
    t.put({ path: 'a.conf', content: 'a\n', mode: 0o644 });
    // A folder where the file should go: the worker's open fails (EISDIR).
    fs.mkdirSync(path.join(t.staged, 'b.conf'));
    t.put({ path: 'b.conf', content: 'b\n', mode: 0o644 });
    t.put({ path: 'c.conf', content: 'c\n', mode: 0o644 });
    assert.throws(() => t.commit(), (e: NodeJS.ErrnoException) => e.code === 'EISDIR' && /b\.conf/.test(e.message));
    // Again on every later call: nothing after the failure was written.
    assert.throws(() => w.drain(), (e: NodeJS.ErrnoException) => e.code === 'EISDIR');
    assert.not.ok(fs.existsSync(path.join(t.staged, 'c.conf')), 'nothing written after the failure');
  } finally {
    t.abort();
    w.close();
  }
  assert.equal(fs.readdirSync(root), ['gw1'], 'nothing staged left');
  assert.equal(readFiles(target), new Map([['old.conf', 'old\n']]), 'the target as it was');
});

test('a writer whose first files are written in line starts its thread only past them, and writes in line again once closed', () => {
  const root = tempDir();
  const w = new WriteThread(5);
  for (let i = 0; i < 5; i++) w.write(path.join(root, `in${i}`), `${i}`, 0o644);
  // Written already: no thread, nothing to wait for.
  assert.is(fs.readFileSync(path.join(root, 'in4'), 'utf8'), '4');
  for (let i = 0; i < 50; i++) w.write(path.join(root, `t${i}`), `${i}`, 0o644);
  w.drain();
  assert.is(fs.readFileSync(path.join(root, 't49'), 'utf8'), '49');
  w.close();
  w.write(path.join(root, 'after'), 'x', 0o644);
  assert.is(fs.readFileSync(path.join(root, 'after'), 'utf8'), 'x', 'in line once closed');
});

test('files larger than what may be in flight go alone and whole; large ones and bytes are written in line; the writer goes on after them', () => {
  const root = tempDir();
  // 64 KiB in flight at most; texts of 100 KiB (each sent alone), buffers of their own, 1 MiB texts, small texts between.
  const w = new WriteThread(0, 64 << 10, 16 << 10);
  const want = new Map<string, Buffer>();
  try {
    for (let i = 0; i < 12; i++) {
      const text = `${i}`.repeat(100_000 + i);
      w.write(path.join(root, `text${i}`), text, 0o644);
      want.set(`text${i}`, Buffer.from(text));
      const big = Buffer.from(`b${i}`.repeat(50_000));
      want.set(`bytes${i}`, Buffer.from(big));
      w.write(path.join(root, `bytes${i}`), big, 0o644);
      if (i % 4 === 0) {
        const large = `L${i}`.repeat(1 << 19);
        w.write(path.join(root, `large${i}`), large, 0o644);
        want.set(`large${i}`, Buffer.from(large));
      }
      w.write(path.join(root, `small${i}`), `small ${i}\n`, 0o644);
      want.set(`small${i}`, Buffer.from(`small ${i}\n`));
    }
    w.drain();
  } finally {
    w.close();
  }
  assert.equal(fs.readdirSync(root).sort(), [...want.keys()].sort());
  for (const [name, bytes] of want) assert.ok(fs.readFileSync(path.join(root, name)).equals(bytes), name);
});

test.after(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

test.run();
