// Packed keys' places (src/util/places.ts): every way the model reads an origin's keys gives what the plain record gave.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { packPlaces as packNumbers, repackPlaces, sharedPath, Span } from '../src/util/places';
import { restoreFile } from '../src/util/cache';

const FILE = 'tenants/a.yaml';
const span = (line: number, col: number, length: number): Span => ({ file: FILE, line, col, length });
const packPlaces = (file: string, names: string[], spans: Span[]) => packNumbers(file, names, spans.flatMap((x) => [x.line, x.col, x.length]));

function plain(names: string[], spans: Span[]): Record<string, Span> {
  return Object.fromEntries(names.map((n, i) => [n, spans[i]]));
}

test('a packed record reads, enumerates and serializes as the plain one, numbers of any size', () => {
  const names = ['tenant', 'routingDomain', 'gateways', '0'];
  const spans = [span(1, 9, 7), span(127, 128, 129), span(16384, 2 ** 21 + 5, 1), span(2 ** 31 + 3, 0, 1 << 20)];
  const packed = packPlaces(FILE, names, spans);
  const want = plain(names, spans);
  for (const n of names) assert.equal(packed[n], want[n], n);
  assert.is(packed.missing, undefined);
  assert.ok('routingDomain' in packed);
  assert.not.ok('missing' in packed);
  const seen: string[] = [];
  for (const k in packed) seen.push(k);
  assert.equal(seen, Object.keys(want));
  assert.is(JSON.stringify(packed), JSON.stringify(want));
  assert.is(JSON.stringify({ keys: packed }, (k, v) => (k === 'file' && v === FILE ? 0 : v)), JSON.stringify({ keys: want }, (k, v) => (k === 'file' && v === FILE ? 0 : v)));
});

test('records of the same names share a class; other names or values are other records', () => {
  const a = packPlaces(FILE, ['x', 'y'], [span(1, 1, 1), span(2, 2, 2)]);
  const b = packPlaces(FILE, ['x', 'y'], [span(1, 1, 1), span(2, 2, 3)]);
  assert.is(Object.getPrototypeOf(a), Object.getPrototypeOf(b));
  assert.not.equal(a, b);
  assert.equal(a, packPlaces(FILE, ['x', 'y'], [span(1, 1, 1), span(2, 2, 2)]));
  assert.is.not(Object.getPrototypeOf(a), Object.getPrototypeOf(packPlaces(FILE, ['y', 'x'], [span(1, 1, 1), span(2, 2, 2)])));
});

test('a name every object has keeps the record plain', () => {
  const r = packPlaces(FILE, ['toJSON', 'constructor'], [span(1, 1, 1), span(2, 2, 2)]);
  assert.is(Object.getPrototypeOf(r), Object.prototype);
  assert.equal(r.toJSON, span(1, 1, 1));
});

test("a cache entry's origin comes back packed and with the shared path, equal to the model's; anything else stays as it was", () => {
  const names = ['interface', 'destination'];
  const spans = [span(3, 5, 4), span(4, 18, 9)];
  const origin = { file: FILE, line: 2, col: 3, length: 10, path: sharedPath(['connections', 0]), keys: packPlaces(FILE, names, spans) };
  const back = JSON.parse(JSON.stringify(origin, (k, v) => (k === 'file' && v === FILE ? 0 : v)));
  restoreFile(back, FILE);
  assert.equal(back, origin);
  assert.is(Object.getPrototypeOf(back.keys), Object.getPrototypeOf(origin.keys));
  assert.is(back.path, origin.path, 'the path is the one array of that path');
  const odd = { a: { file: FILE, line: 1, col: 1, length: 1, extra: 1 } };
  assert.is(repackPlaces(odd), odd);
  const two = { a: span(1, 1, 1), b: { ...span(1, 1, 1), file: 'other.yaml' } };
  assert.is(repackPlaces(two), two);
});

test.run();
