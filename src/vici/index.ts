// The VICI module: a dependency-free client for charon's control socket and the swanctl.conf -> VICI translation apply needs.
export * from './protocol';
export { encode, encodePacket } from './encode';
export { decode, decodePacket, SegmentReader } from './decode';
export * from './client';
export * from './swanctl-conf';
