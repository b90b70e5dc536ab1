// VICI decoding: elements into a message tree, transport segments into packets. Pure; malformed input throws, never loops.
import { Element, MAX_SEGMENT, MESSAGE_PACKETS, NAMED_PACKETS, PACKET_NAMES, Packet, PacketType, ViciProtocolError, ViciSection, ViciValue } from './protocol';

export interface DecodeOptions {
  /** Keep values as Buffers (certificates, binary data); the default is UTF-8 strings. */
  raw?: boolean;
}

/** Sets an own property even for keys like "__proto__", so no message can reach an object's prototype. */
function put(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The message tree of an element sequence. Sections become objects, lists arrays, values strings
 * (or Buffers with `raw`). A repeated key replaces the earlier one (the README says keys are unique).
 * Throws ViciProtocolError on truncation, an unknown element type, or unbalanced sections and lists.
 */
export function decode(buf: Buffer, opts: DecodeOptions = {}): ViciSection {
  const val = (b: Buffer): ViciValue => (opts.raw ? Buffer.from(b) : b.toString('utf8'));
  // A value as a string without a Buffer object for it: a short ASCII one (names, ids, states: nearly all charon sends)
  // as a latin1 slice, the same string for bytes below 0x80 (get-shared's 30,000 ids took 35-87 ms in a one-shot apply).
  const text = (): string => {
    need(2, 'value length');
    const n = buf.readUInt16BE(pos);
    pos += 2;
    need(n, 'value');
    const start = pos;
    pos += n;
    if (n <= 64) {
      let i = start;
      while (i < pos && buf[i] < 0x80) i++;
      if (i === pos) return buf.toString('latin1', start, pos);
    }
    return buf.toString('utf8', start, pos);
  };
  const root: ViciSection = {};
  const stack: ViciSection[] = [root];
  let list: ViciValue[] | undefined;
  let listName = '';
  let pos = 0;

  const need = (n: number, what: string): void => {
    if (pos + n > buf.length) throw new ViciProtocolError(`truncated message: ${what} needs ${n} byte(s) at offset ${pos}, only ${buf.length - pos} left`);
  };
  const name = (): string => {
    need(1, 'name length');
    const n = buf[pos++];
    need(n, 'name');
    const s = buf.subarray(pos, pos + n).toString('utf8');
    pos += n;
    return s;
  };
  const value = (): Buffer => {
    need(2, 'value length');
    const n = buf.readUInt16BE(pos);
    pos += 2;
    need(n, 'value');
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };

  while (pos < buf.length) {
    const at = pos;
    const type = buf[pos++];
    if (list && type !== Element.LIST_ITEM && type !== Element.LIST_END) {
      throw new ViciProtocolError(`element type ${type} at offset ${at} inside list ${JSON.stringify(listName)}: only list items and the list end may appear there`);
    }
    const current = stack[stack.length - 1];
    switch (type) {
      case Element.SECTION_START: {
        const n = name();
        const s: ViciSection = {};
        put(current, n, s);
        stack.push(s);
        if (stack.length > 256) throw new ViciProtocolError(`sections nested deeper than 255 levels at offset ${at}`);
        break;
      }
      case Element.SECTION_END:
        if (stack.length === 1) throw new ViciProtocolError(`section end at offset ${at} without an open section`);
        stack.pop();
        break;
      case Element.KEY_VALUE: {
        const n = name();
        put(current, n, opts.raw ? val(value()) : text());
        break;
      }
      case Element.LIST_START:
        listName = name();
        list = [];
        put(current, listName, list);
        break;
      case Element.LIST_ITEM:
        if (!list) throw new ViciProtocolError(`list item at offset ${at} outside a list`);
        list.push(opts.raw ? val(value()) : text());
        break;
      case Element.LIST_END:
        if (!list) throw new ViciProtocolError(`list end at offset ${at} without an open list`);
        list = undefined;
        break;
      default:
        throw new ViciProtocolError(`unknown element type ${type} at offset ${at}`);
    }
  }
  if (list) throw new ViciProtocolError(`truncated message: list ${JSON.stringify(listName)} is not closed`);
  if (stack.length > 1) throw new ViciProtocolError(`truncated message: ${stack.length - 1} section(s) not closed`);
  return root;
}

/** A packet from one transport segment (without its 4-byte length). */
export function decodePacket(segment: Buffer): Packet {
  if (segment.length < 1) throw new ViciProtocolError('empty packet');
  const type = segment[0];
  if (PACKET_NAMES[type] === undefined) throw new ViciProtocolError(`unknown packet type ${type}`);
  let pos = 1;
  const p: Packet = { type: type as PacketType };
  if (NAMED_PACKETS.has(type)) {
    if (segment.length < 2) throw new ViciProtocolError(`truncated ${PACKET_NAMES[type]} packet: no name length`);
    const n = segment[1];
    if (segment.length < 2 + n) throw new ViciProtocolError(`truncated ${PACKET_NAMES[type]} packet: name of ${n} bytes, ${segment.length - 2} present`);
    p.name = segment.subarray(2, 2 + n).toString('ascii');
    pos = 2 + n;
  }
  if (MESSAGE_PACKETS.has(type)) p.message = segment.subarray(pos);
  else if (pos < segment.length) throw new ViciProtocolError(`${PACKET_NAMES[type]} packet with ${segment.length - pos} unexpected trailing byte(s)`);
  return p;
}

/** Splits a byte stream into transport segments; keeps partial data between pushes. */
export class SegmentReader {
  private chunks: Buffer[] = [];
  private size = 0;

  /** Adds received bytes and returns every segment now complete. Throws on a length charon would never send. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.size < 4) break;
      let buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      const len = buf.readUInt32BE(0);
      if (len > MAX_SEGMENT) throw new ViciProtocolError(`segment length ${len} exceeds the ${MAX_SEGMENT}-byte limit: not a VICI stream`);
      if (this.size < 4 + len) {
        this.chunks = [buf];
        break;
      }
      out.push(Buffer.from(buf.subarray(4, 4 + len)));
      buf = buf.subarray(4 + len);
      this.chunks = buf.length ? [buf] : [];
      this.size = buf.length;
    }
    return out;
  }

  /** Bytes of an incomplete segment still held. */
  get pending(): number {
    return this.size;
  }
}
