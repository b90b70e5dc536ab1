// VICI encoding: a message tree into elements, a packet into a length-prefixed transport segment. Pure.
import { Element, MAX_NAME, MAX_SEGMENT, MAX_VALUE, MESSAGE_PACKETS, NAMED_PACKETS, PACKET_NAMES, Packet, ViciInput, ViciInputElement, ViciProtocolError } from './protocol';

function valueBytes(v: unknown, where: string): Buffer {
  let b: Buffer;
  if (Buffer.isBuffer(v)) b = v;
  else if (typeof v === 'string') b = Buffer.from(v, 'utf8');
  else if (typeof v === 'number' && Number.isFinite(v)) b = Buffer.from(String(v), 'ascii');
  else if (typeof v === 'boolean') b = Buffer.from(v ? 'yes' : 'no', 'ascii'); // vici's own spelling of booleans
  else throw new ViciProtocolError(`${where}: a value must be a string, Buffer, finite number or boolean, got ${v === null ? 'null' : typeof v}`);
  if (b.length > MAX_VALUE) throw new ViciProtocolError(`${where}: value of ${b.length} bytes exceeds the 16-bit length limit (${MAX_VALUE})`);
  return b;
}

function nameBytes(name: string, where: string): Buffer {
  const b = Buffer.from(name, 'utf8');
  if (b.length > MAX_NAME) throw new ViciProtocolError(`${where}: name of ${b.length} bytes exceeds the 8-bit length limit (${MAX_NAME})`);
  return b;
}

const isSection = (v: unknown): v is ViciInput => v instanceof Map || (typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v));

function entries(s: ViciInput): Array<[string, ViciInputElement | undefined]> {
  return s instanceof Map ? [...s.entries()] : Object.entries(s);
}

function encodeSection(s: ViciInput, out: Buffer[], path: string, depth: number): void {
  if (depth > 64) throw new ViciProtocolError(`${path}: sections nested deeper than 64 levels`);
  for (const [key, v] of entries(s)) {
    const where = path ? `${path}.${key}` : key;
    const name = nameBytes(key, where);
    if (v === undefined) continue; // an absent optional key
    if (Array.isArray(v)) {
      out.push(Buffer.from([Element.LIST_START, name.length]), name);
      v.forEach((item, i) => {
        if (Array.isArray(item) || isSection(item)) throw new ViciProtocolError(`${where}[${i}]: lists hold values only, not lists or sections`);
        const b = valueBytes(item, `${where}[${i}]`);
        const head = Buffer.alloc(3);
        head[0] = Element.LIST_ITEM;
        head.writeUInt16BE(b.length, 1);
        out.push(head, b);
      });
      out.push(Buffer.from([Element.LIST_END]));
    } else if (isSection(v)) {
      out.push(Buffer.from([Element.SECTION_START, name.length]), name);
      encodeSection(v, out, where, depth + 1);
      out.push(Buffer.from([Element.SECTION_END]));
    } else {
      const b = valueBytes(v, where);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(b.length, 0);
      out.push(Buffer.from([Element.KEY_VALUE, name.length]), name, len, b);
    }
  }
}

/** The element encoding of a message (the root section's contents). Throws ViciProtocolError on what cannot be encoded. */
export function encode(message: ViciInput = {}): Buffer {
  const out: Buffer[] = [];
  encodeSection(message, out, '', 0);
  return Buffer.concat(out);
}

/** A transport segment: 4-byte big-endian length, packet type, name for named types, then the message. */
export function encodePacket(p: Packet): Buffer {
  const parts: Buffer[] = [Buffer.from([p.type])];
  if (NAMED_PACKETS.has(p.type)) {
    if (p.name === undefined) throw new ViciProtocolError(`${PACKET_NAMES[p.type]} packets need a name`);
    const n = Buffer.from(p.name, 'ascii');
    if (n.length > MAX_NAME) throw new ViciProtocolError(`packet name ${JSON.stringify(p.name)} is longer than ${MAX_NAME} bytes`);
    parts.push(Buffer.from([n.length]), n);
  } else if (p.name !== undefined) {
    throw new ViciProtocolError(`${PACKET_NAMES[p.type] ?? p.type} packets have no name`);
  }
  if (p.message?.length) {
    if (!MESSAGE_PACKETS.has(p.type)) throw new ViciProtocolError(`${PACKET_NAMES[p.type] ?? p.type} packets carry no message`);
    parts.push(p.message);
  }
  const body = Buffer.concat(parts);
  if (body.length > MAX_SEGMENT) throw new ViciProtocolError(`packet of ${body.length} bytes exceeds charon's ${MAX_SEGMENT}-byte segment limit`);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length, 0);
  return Buffer.concat([len, body]);
}
