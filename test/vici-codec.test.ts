// VICI encoding and decoding: the README's byte example, round trips, order, and malformed input failing with a clear error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decode, decodePacket, encode, encodePacket, PacketType, SegmentReader, ViciProtocolError, ViciSection } from '../src/vici';

// The encoding example of strongSwan's vici README, byte for byte.
const README_EXAMPLE = Buffer.from([
  3, 4, ...Buffer.from('key1'), 0, 6, ...Buffer.from('value1'),
  1, 8, ...Buffer.from('section1'),
  1, 11, ...Buffer.from('sub-section'),
  3, 4, ...Buffer.from('key2'), 0, 6, ...Buffer.from('value2'),
  2,
  4, 5, ...Buffer.from('list1'),
  5, 0, 5, ...Buffer.from('item1'),
  5, 0, 5, ...Buffer.from('item2'),
  6,
  2,
]);
const README_TREE = { key1: 'value1', section1: { 'sub-section': { key2: 'value2' }, list1: ['item1', 'item2'] } };

function throwsProtocol(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ViciProtocolError);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a ViciProtocolError matching ${pattern}`);
}

test('encodes the README example byte for byte', () => {
  assert.equal(encode(README_TREE), README_EXAMPLE);
});

test('decodes the README example', () => {
  assert.equal(decode(README_EXAMPLE), README_TREE);
});

test('round trip: nested sections, lists, empty list, empty value, UTF-8', () => {
  const tree: ViciSection = {
    a: '',
    'unicode-ä': 'värde ✓',
    s: { t: { u: { deep: 'x' } }, empty: {} },
    l: [],
    l2: ['', 'x', 'y z'],
    after: 'last',
  };
  assert.equal(decode(encode(tree)), tree);
});

test('round trip: values short and long, ASCII and not, in sections and lists, decode as UTF-8 strings', () => {
  const long = 'x'.repeat(64);
  const tree: ViciSection = {
    ascii: 'ike-t10000e3',
    at64: long,
    at65: long + 'y',
    umlaut64: 'ä'.repeat(32),
    mixed: `${'a'.repeat(63)}é`,
    control: '\u0000\u0001\u007f',
    l: ['ike-t1e1', 'ä', long + '✓', '\u007f', ''],
  };
  assert.equal(decode(encode(tree)), tree);
  // Latin-1 bytes that are not UTF-8 decode as UTF-8 does (replacement characters), not as Latin-1.
  const bad = Buffer.from([3, 1, 0x6b, 0, 2, 0xe9, 0x41]);
  assert.equal(decode(bad), { k: Buffer.from([0xe9, 0x41]).toString('utf8') });
});

test('round trip: Buffers survive byte for byte with raw decoding', () => {
  const blob = Buffer.from([0, 255, 10, 13, 0x80, 0xc3]);
  const msg = decode(encode({ data: blob, certs: [blob, Buffer.alloc(0)] }), { raw: true });
  assert.ok(Buffer.isBuffer(msg.data));
  assert.equal(msg.data, blob);
  assert.equal(msg.certs, [blob, Buffer.alloc(0)]);
});

test('numbers and booleans are sent the way charon reads them; undefined keys are left out', () => {
  assert.equal(decode(encode({ timeout: 1500, force: true, noblock: false, skip: undefined })), { timeout: '1500', force: 'yes', noblock: 'no' });
});

test('a Map keeps integer-like keys in the given order (a plain object would move them first)', () => {
  const m = new Map<string, string>([['b', '1'], ['10', '2'], ['2', '3']]);
  const bytes = encode(m);
  // keys in the bytes, in order
  const keys: string[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = bytes[i + 1];
    keys.push(bytes.subarray(i + 2, i + 2 + n).toString());
    i += 2 + n + 2 + bytes.readUInt16BE(i + 2 + n);
  }
  assert.equal(keys, ['b', '10', '2']);
});

test('a key named __proto__ is data, never the prototype', () => {
  const bytes = Buffer.concat([Buffer.from([1, 9]), Buffer.from('__proto__'), Buffer.from([3, 1]), Buffer.from('x'), Buffer.from([0, 1]), Buffer.from('y'), Buffer.from([2])]);
  const m = decode(bytes);
  assert.ok(Object.prototype.hasOwnProperty.call(m, '__proto__'));
  assert.is(Object.getPrototypeOf(m), Object.prototype);
  assert.is(({} as Record<string, unknown>).x, undefined);
});

test('malformed: every truncation of a message fails with a clear error or decodes a valid prefix', () => {
  for (let n = 1; n < README_EXAMPLE.length; n++) {
    const cut = README_EXAMPLE.subarray(0, n);
    let ok = false;
    try {
      decode(cut);
      ok = true;
    } catch (e) {
      assert.instance(e, ViciProtocolError, `prefix ${n}`);
      assert.match((e as Error).message, /truncated|not closed/, `prefix ${n}: ${(e as Error).message}`);
    }
    // only the prefix that ends right after `key1 = value1` is itself a complete message
    assert.is(ok, n === 14, `prefix of ${n} bytes`);
  }
});

test('malformed: unknown element type, unbalanced sections and lists', () => {
  throwsProtocol(() => decode(Buffer.from([9])), /unknown element type 9 at offset 0/);
  throwsProtocol(() => decode(Buffer.from([0])), /unknown element type 0/);
  throwsProtocol(() => decode(Buffer.from([2])), /section end at offset 0 without an open section/);
  throwsProtocol(() => decode(Buffer.from([5, 0, 0])), /list item at offset 0 outside a list/);
  throwsProtocol(() => decode(Buffer.from([6])), /list end .* without an open list/);
  throwsProtocol(() => decode(Buffer.from([4, 1, 0x6c, 3, 1, 0x6b, 0, 0, 6])), /inside list "l"/);
  throwsProtocol(() => decode(Buffer.from([4, 1, 0x6c, 4, 1, 0x6d, 6, 6])), /inside list "l"/);
  throwsProtocol(() => decode(Buffer.from([3, 1, 0x6b, 0xff, 0xff, 0x61])), /truncated message: value needs 65535/);
});

test('malformed: random bytes never hang and fail only with ViciProtocolError', () => {
  let seed = 42;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed);
  for (let i = 0; i < 5000; i++) {
    const b = Buffer.alloc(rnd() % 40);
    for (let j = 0; j < b.length; j++) b[j] = rnd() % 8; // mostly valid element types, to get deep
    try {
      decode(b);
    } catch (e) {
      assert.instance(e, ViciProtocolError);
    }
  }
});

test('encode refuses what the wire cannot carry', () => {
  throwsProtocol(() => encode({ ['k'.repeat(256)]: 'v' }), /exceeds the 8-bit length limit/);
  throwsProtocol(() => encode({ k: 'v'.repeat(65536) }), /exceeds the 16-bit length limit/);
  throwsProtocol(() => encode({ l: [['nested'] as unknown as string] }), /lists hold values only/);
  throwsProtocol(() => encode({ l: [{ a: 'b' } as unknown as string] }), /lists hold values only/);
  throwsProtocol(() => encode({ k: null as unknown as string }), /got null/);
  throwsProtocol(() => encodePacket({ type: PacketType.CMD_REQUEST, name: 'load-conn', message: Buffer.alloc(512 * 1024) }), /segment limit/);
  throwsProtocol(() => encodePacket({ type: PacketType.CMD_REQUEST }), /need a name/);
  throwsProtocol(() => encodePacket({ type: PacketType.CMD_RESPONSE, name: 'x' }), /have no name/);
});

test('packets: every type round-trips through encodePacket, SegmentReader and decodePacket', () => {
  const packets = [
    { type: PacketType.CMD_REQUEST, name: 'load-conn', message: encode(README_TREE) },
    { type: PacketType.CMD_RESPONSE, message: encode({ success: 'yes' }) },
    { type: PacketType.CMD_UNKNOWN },
    { type: PacketType.EVENT_REGISTER, name: 'list-conn' },
    { type: PacketType.EVENT_UNREGISTER, name: 'list-conn' },
    { type: PacketType.EVENT_CONFIRM },
    { type: PacketType.EVENT_UNKNOWN },
    { type: PacketType.EVENT, name: 'list-conn', message: encode({ c: { x: 'y' } }) },
  ];
  const stream = Buffer.concat(packets.map((p) => encodePacket(p)));
  // Feed the stream split at every byte boundary: segments come out whole and in order.
  for (const step of [1, 2, 3, 7, stream.length]) {
    const r = new SegmentReader();
    const got = [];
    for (let i = 0; i < stream.length; i += step) got.push(...r.push(stream.subarray(i, i + step)));
    assert.is(r.pending, 0);
    const decoded = got.map(decodePacket).map((p) => ({ ...p, message: p.message?.length ? p.message : undefined }));
    assert.equal(
      decoded.map((p) => [p.type, p.name, p.message && decode(p.message)]),
      packets.map((p) => [p.type, p.name, p.message && decode(p.message)]),
      `step ${step}`,
    );
  }
});

test('packets: the length prefix is 4 bytes big-endian and counts the data only', () => {
  const b = encodePacket({ type: PacketType.CMD_REQUEST, name: 'version' });
  assert.equal([...b], [0, 0, 0, 9, 0, 7, ...Buffer.from('version')]);
});

test('packets: malformed segments fail with a clear error', () => {
  throwsProtocol(() => decodePacket(Buffer.alloc(0)), /empty packet/);
  throwsProtocol(() => decodePacket(Buffer.from([8])), /unknown packet type 8/);
  throwsProtocol(() => decodePacket(Buffer.from([0])), /truncated CMD_REQUEST packet: no name length/);
  throwsProtocol(() => decodePacket(Buffer.from([7, 5, 0x61])), /truncated EVENT packet: name of 5 bytes, 1 present/);
  throwsProtocol(() => decodePacket(Buffer.from([5, 1])), /EVENT_CONFIRM packet with 1 unexpected trailing byte/);
  const r = new SegmentReader();
  throwsProtocol(() => r.push(Buffer.from([0xff, 0xff, 0xff, 0xff])), /exceeds the 524288-byte limit/);
  // a partial segment is held, not an error
  const r2 = new SegmentReader();
  assert.equal(r2.push(Buffer.from([0, 0, 0, 5, 1])), []);
  assert.is(r2.pending, 5);
});

test.run();
