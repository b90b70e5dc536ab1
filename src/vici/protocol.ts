// VICI wire constants and the message tree type shared by the encoder, decoder and client (strongSwan's vici README).

/** Packet types: the first byte of every transport segment. */
export const PacketType = {
  CMD_REQUEST: 0,
  CMD_RESPONSE: 1,
  CMD_UNKNOWN: 2,
  EVENT_REGISTER: 3,
  EVENT_UNREGISTER: 4,
  EVENT_CONFIRM: 5,
  EVENT_UNKNOWN: 6,
  EVENT: 7,
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

/** Packet types followed by a name (1-byte length + ASCII). */
export const NAMED_PACKETS: ReadonlySet<number> = new Set([PacketType.CMD_REQUEST, PacketType.EVENT_REGISTER, PacketType.EVENT_UNREGISTER, PacketType.EVENT]);
/** Packet types that carry a message after the type (and name). */
export const MESSAGE_PACKETS: ReadonlySet<number> = new Set([PacketType.CMD_REQUEST, PacketType.CMD_RESPONSE, PacketType.EVENT]);

export const PACKET_NAMES: Record<number, string> = Object.fromEntries(Object.entries(PacketType).map(([k, v]) => [v, k]));

/** Message element types. */
export const Element = {
  SECTION_START: 1,
  SECTION_END: 2,
  KEY_VALUE: 3,
  LIST_START: 4,
  LIST_ITEM: 5,
  LIST_END: 6,
} as const;

/** charon refuses segments above 512 KiB; the length field counts the data only. */
export const MAX_SEGMENT = 512 * 1024;
export const MAX_NAME = 255;
export const MAX_VALUE = 65535;

/** A value: any blob. Strings are sent as UTF-8. */
export type ViciValue = string | Buffer;
/** A section: key-values, lists (arrays of values) and sub-sections, in insertion order. */
export interface ViciSection {
  [key: string]: ViciValue | ViciValue[] | ViciSection;
}
/**
 * What the encoder accepts for a section: a plain object or, where order matters and a key looks
 * like an integer (JavaScript moves such keys to the front of an object), a Map.
 */
export type ViciInput = { [key: string]: ViciInputElement | undefined } | Map<string, ViciInputElement | undefined>;
/** Numbers are sent in decimal, booleans as yes/no, undefined keys are left out. */
export type ViciInputElement = ViciValue | number | boolean | ReadonlyArray<ViciValue | number> | ViciInput;

export interface Packet {
  type: PacketType;
  /** For named packets (CMD_REQUEST, EVENT_REGISTER, EVENT_UNREGISTER, EVENT). */
  name?: string;
  /** For CMD_REQUEST, CMD_RESPONSE and EVENT; raw bytes, decode() makes a tree of them. */
  message?: Buffer;
}

/** A malformed message or packet: the bytes cannot be what charon (or a client) sent. */
export class ViciProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ViciProtocolError';
  }
}
