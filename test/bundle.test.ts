// Bundle properties: determinism, one tenant's change touches only its own lines, no secrets, nothing written on failure, stable ids.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, changedLines, cli, compileDir, readFiles, tempCopy } from './helpers';
import { Bundle, formatManifest, parseManifest, sameEntryText, summaryPath } from '../src/bundle/bundle';
import { deriveManifest, Manifest, sameSummary } from '../src/bundle/manifest';

function byPath(b: Bundle): Map<string, string> {
  return new Map(b.files.map((f) => [f.path, f.content]));
}

/** Lines of each file that belong to `tenant` (from the rendered sections). */
function tenantLines(b: Bundle, tenant: string | null): Set<string> {
  const s = new Set<string>();
  for (const f of b.rendered!) for (const sec of f.sections) if ((sec.tenant ?? null) === tenant) for (const l of sec.text.split('\n')) s.add(`${f.path}\0${l}`);
  return s;
}

/** Asserts every line that differs between two bundles belongs to `tenant` (manifest aside: it digests every file). */
function onlyTenantChanged(before: Bundle, after: Bundle, tenant: string): void {
  const a = byPath(before);
  const b = byPath(after);
  const mineBefore = tenantLines(before, tenant);
  const mineAfter = tenantLines(after, tenant);
  for (const p of new Set([...a.keys(), ...b.keys()])) {
    if (p === 'manifest.json') continue;
    // A tenant's summary file is all its own; no other tenant's may change.
    if (p.startsWith('summaries/')) {
      assert.ok(p === `summaries/${tenant}.json` || a.get(p) === b.get(p), `${p} changed`);
      continue;
    }
    const { added, removed } = changedLines(a.get(p) ?? '', b.get(p) ?? '');
    for (const l of added) assert.ok(l === '' || mineAfter.has(`${p}\0${l}`), `${p}: added line is not ${tenant}'s: ${JSON.stringify(l)}`);
    for (const l of removed) assert.ok(l === '' || mineBefore.has(`${p}\0${l}`), `${p}: removed line is not ${tenant}'s: ${JSON.stringify(l)}`);
  }
  for (const [name, t] of Object.entries(after.manifest.tenants)) if (name !== tenant && before.manifest.tenants[name]) assert.is(t.digest, before.manifest.tenants[name].digest, `${name}'s digest changed`);
}

test('two builds give the same bytes', () => {
  const a = compileDir(ROOT);
  const b = compileDir(ROOT);
  assert.equal(a.bundles.map(byPath), b.bundles.map(byPath));
  assert.is(a.lockText, b.lockText);
});

test('changing one tenant changes no line of another tenant', () => {
  const dir = tempCopy(ROOT);
  const before = compileDir(dir);
  const f = path.join(dir, 'tenants', 'contoso.yaml');
  fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('metric: 100', 'metric: 50').replace('txKbps: 1024', 'txKbps: 2048'));
  const after = compileDir(dir);
  assert.ok(after.ok);
  onlyTenantChanged(before.bundles[0], after.bundles[0], 'contoso');
  assert.is.not(after.bundles[0].manifest.tenants.contoso.digest, before.bundles[0].manifest.tenants.contoso.digest);
});

test('adding and removing a tenant changes only its own lines, and ids of others stay', () => {
  const dir = tempCopy(ROOT);
  const before = compileDir(dir);
  fs.writeFileSync(path.join(dir, 'allocations.lock.yaml'), before.lockText!);
  // "adatum" sorts before both existing tenants: their ids must not move.
  const text = fs
    .readFileSync(path.join(dir, 'tenants', 'contoso.yaml'), 'utf8')
    .replace('tenant: contoso', 'tenant: adatum')
    .replace('123456780001', '123456780003')
    .replace('vlan: 4000', 'vlan: 4002')
    .replace('IfCi1', 'IfAi1')
    .replace(/IfCi1/g, 'IfAi1')
    .replace(/IfCe1/g, 'IfAe1')
    .replace('131.107.0.10', '131.107.3.10')
    .replace('CONTOSO_NY_PSK', 'ADATUM_NY_PSK');
  fs.writeFileSync(path.join(dir, 'tenants', 'adatum.yaml'), text.replace(/IfCi1/g, 'IfAi1'));
  const added = compileDir(dir);
  assert.is(added.diagnostics.length, 0, JSON.stringify(added.diagnostics));
  onlyTenantChanged(before.bundles[0], added.bundles[0], 'adatum');
  assert.equal(added.alloc!.tenants.contoso, before.alloc!.tenants.contoso);
  assert.equal(added.alloc!.tenants.woodgrove, before.alloc!.tenants.woodgrove);
  assert.is(added.alloc!.tenants.adatum.table, 1003);
  // Removing it again: the others' lines are as before, and its ids stay retired.
  fs.writeFileSync(path.join(dir, 'allocations.lock.yaml'), added.lockText!);
  fs.rmSync(path.join(dir, 'tenants', 'adatum.yaml'));
  const removed = compileDir(dir);
  onlyTenantChanged(added.bundles[0], removed.bundles[0], 'adatum');
  assert.is(removed.alloc!.next.table, 1004, 'a retired table id is never handed out again');
  assert.is(removed.alloc!.tenants.adatum, undefined);
});

test('a secret set in the environment never appears in the bundle', () => {
  const secret = 'Sup3r-S3cret-PSK-value-0123456789';
  process.env.CONTOSO_NY_PSK = secret;
  process.env.WOODGROVE_NY_PSK = secret;
  try {
    const r = compileDir(ROOT);
    for (const b of r.bundles) for (const f of b.files) assert.not.ok(f.content.includes(secret), `${f.path} holds the secret`);
    assert.not.ok(r.lockText!.includes(secret));
  } finally {
    delete process.env.CONTOSO_NY_PSK;
    delete process.env.WOODGROVE_NY_PSK;
  }
});

test('build writes the bundle and the lock; an invalid repository writes nothing and leaves out/ as it was', async () => {
  const dir = tempCopy(ROOT);
  const ok = await cli(['build', '--config', dir]);
  assert.is(ok.code, 0, ok.err);
  const out = readFiles(path.join(dir, 'out'));
  assert.ok(out.has('gw1/manifest.json'));
  const lock = fs.readFileSync(path.join(dir, 'allocations.lock.yaml'), 'utf8');
  const f = path.join(dir, 'tenants', 'woodgrove.yaml');
  fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('vlan: 4001', 'vlan: 4000'));
  fs.writeFileSync(path.join(dir, 'tenants', 'new.yaml'), 'tenant: new\nroutingDomain: "{12345678-1000-2000-3000-123456789999}"\ngateways: [gw1]\nnetwork: { interface: IfNi1, vlan: 4005, addresses: [192.168.9.1/29] }\n');
  const bad = await cli(['build', '--config', dir]);
  assert.is(bad.code, 1);
  assert.match(bad.err, /duplicate-vlan/);
  assert.match(bad.err, /nothing written/);
  assert.equal(readFiles(path.join(dir, 'out')), out);
  assert.is(fs.readFileSync(path.join(dir, 'allocations.lock.yaml'), 'utf8'), lock);
});

test('build --locked refuses to change the lock and says what would change', async () => {
  const dir = tempCopy(ROOT);
  assert.is((await cli(['build', '--config', dir])).code, 0);
  const f = path.join(dir, 'tenants', 'contoso.yaml');
  fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('  - interface: IfCe1', '  - interface: IfCe2\n    destination: 131.107.0.11\n    auth: { psk: env:CONTOSO_LA_PSK }\n  - interface: IfCe1'));
  const r = await cli(['build', '--config', dir, '--locked']);
  assert.is(r.code, 1);
  assert.match(r.err, /lock\/would-change/);
  assert.match(r.err, /connection contoso\/IfCe2: if_id 4/);
  assert.is((await cli(['build', '--config', dir])).code, 0);
  assert.is((await cli(['build', '--config', dir, '--locked'])).code, 0);
});

test('deriveManifest makes a manifest from another and the lines they differ in: the same as parsing it, its own summaries', () => {
  const c = compileDir(ROOT);
  assert.ok(c.ok);
  const m = c.bundles[0].manifest;
  const names = Object.keys(m.tenants);
  const entry = (n: string, digest: string, summary = 'a') => ({ ...m.tenants[names[0]], digest, connections: [`${n}c1`, `${n}c2`], summary: { s: summary } as never });
  const base = { ...m, tenants: Object.fromEntries([...names.map((n) => [n, m.tenants[n]]), ...['t1', 't3', 't5', 't7'].map((n) => [n, entry(n, `d-${n}`)])].sort(([x], [y]) => (x < y ? -1 : 1))), files: { ...m.files } };
  for (const n of ['t1', 't3', 't5', 't7']) base.files[summaryPath(n)] = { sha256: `s-${n}`, mode: '0644' };
  // Sorted as build writes them; an undefined entry is left out (removed).
  const sorted = <T>(o: Record<string, T>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined).sort(([x], [y]) => (x < y ? -1 : 1)));
  const variants: Array<[string, typeof base]> = [
    ['the same', base],
    ['a tenant added first and last', { ...base, tenants: sorted({ ...base.tenants, a0: entry('a0', 'x'), zz: entry('zz', 'y') }), files: sorted({ ...base.files, [summaryPath('a0')]: { sha256: 'q', mode: '0644' }, 'zz.conf': { sha256: 'r', mode: '0600' } }) }],
    ['a tenant removed, a digest changed', { ...base, tenants: sorted({ ...base.tenants, t3: undefined as never, t5: entry('t5', 'changed') }), files: sorted({ ...base.files, [summaryPath('t3')]: undefined as never }) }],
    ['only a summary changed', { ...base, files: sorted({ ...base.files, [summaryPath('t7')]: { sha256: 'other', mode: '0644' } }) }],
    ['the head and a mode changed', { ...base, gatewayDigest: 'g2', source: { commit: 'c'.repeat(40), dirty: false }, files: sorted({ ...base.files, [summaryPath('t1')]: { sha256: 's-t1', mode: '0600' } }) }],
    ['no tenant left', { ...base, tenants: {}, files: {} }],
  ];
  const plain = (x: typeof base) => JSON.parse(JSON.stringify({ ...x, tenants: Object.fromEntries(Object.entries(x.tenants).map(([k, t]: [string, (typeof base)['tenants'][string]]) => [k, { d: t.digest, f: t.file, c: t.connections }])) }));
  for (const [what, v] of variants) {
    for (const [from, to] of [[base, v], [v, base]]) {
      const bytes = Buffer.from(formatManifest(from));
      const likeBytes = Buffer.from(formatManifest(to));
      const like = parseManifest(likeBytes, () => ({ from: 'like' }) as never);
      const got = deriveManifest(bytes, likeBytes, like, () => ({ from: 'own' }) as never);
      if (what === 'no tenant left') {
        // Empty blocks are written as {} on one line: no layout to line up, so the caller parses.
        assert.is(got, undefined, what);
        continue;
      }
      assert.ok(got, what);
      const want = parseManifest(bytes);
      assert.equal(plain(got!), plain(want), what);
      // An entry is one object in both only where its line is the same (verify and the change set take it as unchanged
      // by that alone); where the lines line up (the same bytes: every one) it is.
      for (const p of Object.keys(want.files)) {
        const same = !!like.files[p] && JSON.stringify(like.files[p]) === JSON.stringify(want.files[p]);
        if (got!.files[p] === like.files[p] || from === to) assert.is(got!.files[p] === like.files[p] && same, true, `${what}: ${p} shared only if its line is the same`);
      }
      for (const n of Object.keys(want.tenants)) {
        const same = !!like.tenants[n] && sameEntryText(like.tenants[n], want.tenants[n]) && JSON.stringify(like.files[summaryPath(n)]) === JSON.stringify(want.files[summaryPath(n)]);
        if (got!.tenants[n] === like.tenants[n] || from === to) assert.is(got!.tenants[n] === like.tenants[n] && same, true, `${what}: ${n} shared only if its lines are the same`);
        if (same && got!.tenants[n] === like.tenants[n]) assert.ok(sameSummary(got!, like, n) && sameEntryText(got!.tenants[n], like.tenants[n]), `${what}: ${n} the same by identity`);
        assert.is(sameSummary(got!, want, n), !!want.files[summaryPath(n)], `${what}: ${n}'s summary sha256`);
        // A tenant whose line or summary differs reads its summary from this release; the others' are the same bytes.
        if (!sameSummary(like, want, n) || !sameEntryText(like.tenants[n] ?? {}, want.tenants[n])) assert.equal(got!.tenants[n].summary, { from: 'own' }, `${what}: ${n}`);
      }
    }
  }
  // In JSON.stringify's indented layout (the blocks open the same way, an entry takes several lines) a changed
  // file's sha256 is a line inside its entry: never taken from the other manifest.
  for (const [what, v] of variants) {
    const pretty = (x: typeof base) => Buffer.from(JSON.stringify(JSON.parse(formatManifest(x)), null, 2));
    const got = deriveManifest(pretty(v), pretty(base), parseManifest(pretty(base)));
    if (got) assert.equal(plain(got), plain(parseManifest(pretty(v))), `${what}, indented`);
    else assert.is.not(what, 'the same', 'equal bytes derive in any layout');
  }
  const moved = { ...base, files: { ...base.files, [summaryPath('t5')]: { sha256: 'moved', mode: '0644' } } };
  const pretty = (x: typeof base) => Buffer.from(JSON.stringify(JSON.parse(formatManifest(x)), null, 2));
  assert.is(deriveManifest(pretty(moved), pretty(base), parseManifest(pretty(base))), undefined, 'a sha256 line inside an entry');
  // A manifest in another layout is not derived.
  assert.is(deriveManifest(Buffer.from(JSON.stringify(base)), Buffer.from(formatManifest(base)), parseManifest(formatManifest(base))), undefined);
});

test('deriveManifest leaves a manifest that lists __proto__ to the caller\'s parse (assigning that key sets the prototype)', () => {
  const c = compileDir(ROOT);
  assert.ok(c.ok);
  const m = c.bundles[0].manifest;
  // JSON.parse makes `__proto__` an own property like any other key; so does defineProperty.
  const own = <T>(o: Record<string, T>, v: T) => Object.defineProperty({ ...o }, '__proto__', { value: v, enumerable: true, writable: true, configurable: true });
  const file = (sha: string) => ({ ...m, files: own(m.files, { sha256: sha, mode: '0644' }) });
  const tenant = (digest: string) => ({ ...m, tenants: own(m.tenants, { ...m.tenants[Object.keys(m.tenants)[0]], digest }) });
  const cases: Array<[string, Manifest, Manifest]> = [
    ['a file, the same line in both', file('x'), file('x')],
    ['a file, its line changed', file('x'), file('y')],
    ['a file, only in the other', m, file('y')],
    ['a file, only in this one', file('x'), m],
    ['a tenant, the same line in both', tenant('d'), tenant('d')],
    ['a tenant, only in this one', tenant('d'), m],
  ];
  for (const [what, from, to] of cases) {
    const bytes = Buffer.from(formatManifest(from));
    const likeBytes = Buffer.from(formatManifest(to));
    assert.match(`${bytes}${likeBytes}`, /^ {4}"__proto__": /m, what);
    assert.is(deriveManifest(bytes, likeBytes, parseManifest(likeBytes)), undefined, what);
    // What the caller falls back to keeps it an own entry.
    const parsed = parseManifest(bytes);
    assert.ok(Object.getPrototypeOf(parsed.files) === Object.prototype && Object.getPrototypeOf(parsed.tenants) === Object.prototype, what);
  }
});

test.run();

test('parseManifest reads what formatManifest writes, summaries from their files on first read; older and other JSON layouts too; broken JSON refused', () => {
  const c = compileDir(ROOT);
  assert.ok(c.ok);
  const b = c.bundles[0];
  const m = b.manifest;
  const text = formatManifest(m);
  // Summaries are files of their own, listed like any other; the entries carry none.
  assert.not.match(text, /"summary"/);
  const names = Object.keys(m.tenants);
  assert.ok(names.length >= 2);
  for (const n of names) assert.ok(m.files[summaryPath(n)], n);
  const files = new Map(b.files.map((f) => [f.path, f.content]));
  const reads: string[] = [];
  const read = parseManifest(text, (t) => {
    reads.push(t);
    return JSON.parse(files.get(summaryPath(t))!);
  });
  assert.equal(reads, [], 'no summary is read before it is asked for');
  // Equal as JSON (toJSON reads each summary through the reader).
  assert.equal(JSON.parse(JSON.stringify(read)), JSON.parse(JSON.stringify(m)));
  assert.equal(reads, names);
  const again = parseManifest(text);
  for (const n of names) assert.ok(sameEntryText(read.tenants[n], again.tenants[n]), n);
  assert.not.ok(sameEntryText(read.tenants[names[0]], again.tenants[names[1]]));
  // A manifest written before summaries had files: the summary is in the entry, read from there.
  const inline = text
    .replace(/^( {4}"([^"]+)": \{"digest".*\])\}/gm, (_, head, n) => `${head},"summary":${JSON.stringify(m.tenants[n].summary)}}`)
    .replace(/^ {4}"summaries\/.*\n/gm, '');
  assert.match(inline, /"summary"/);
  const old = parseManifest(inline);
  for (const n of names) assert.equal(old.tenants[n].summary, m.tenants[n].summary);
  // Entries say the same when digest, file and connections do, in whatever layout; summaries are compared by sha256.
  assert.ok(sameEntryText(old.tenants[names[0]], read.tenants[names[0]]));
  assert.ok(sameSummary(read, again, names[0]));
  assert.not.ok(sameSummary(old, read, names[0]), 'no sha256 to tell by: the summaries themselves are compared');
  // Any JSON layout reads the same.
  const pretty = parseManifest(JSON.stringify(m, null, 2));
  assert.equal(JSON.parse(JSON.stringify(pretty)), JSON.parse(JSON.stringify(m)));
  assert.ok(sameEntryText(pretty.tenants[names[0]], read.tenants[names[0]]));
  assert.not.ok(sameEntryText(m.tenants[names[0]], read.tenants[names[0]]), 'an entry built in memory was not read');
  // Empty blocks.
  assert.equal(parseManifest(formatManifest({ ...m, tenants: {}, files: {} })), { compiler: m.compiler, gateway: m.gateway, source: null, gatewayDigest: m.gatewayDigest, tenants: {}, files: {} });
  // The source commit, when recorded, is read back as written.
  assert.equal(parseManifest(formatManifest({ ...m, source: { commit: 'c'.repeat(40), dirty: true } })).source, { commit: 'c'.repeat(40), dirty: true });
  assert.throws(() => parseManifest(text.replace('"files": {', '"files": {{')), SyntaxError);
  assert.throws(() => parseManifest(text.slice(0, -3)), SyntaxError);
});
