// Places of a record's keys, packed: what the model's origins keep of their keys' values (see packPlaces).

/** A 1-based place of `length` characters (the model's Span, which this layer does not import). */
export interface Span {
  file: string;
  line: number;
  col: number;
  length: number;
}

/*
 * Keys' places, packed. Every origin of the model keeps the places of its keys' values (about 800,000 spans at 10,000
 * tenants: 43 MB as objects, plus their records, a fifth of the model). Packed, an origin's are one object of two
 * fields and a short string of their numbers; each key is a getter of its class's prototype (one class per list of
 * key names, shared by every origin with those keys) that makes the span when read: `keys[k]`, `k in keys`, for...in
 * and JSON (toJSON) see what the plain record showed, so the places and the cache entries are the same.
 */
const FILE = Symbol('file');
const DATA = Symbol('data');
const keyClasses = new Map<string, new (file: string, data: string) => Record<string, Span>>();
/** Names that a getter of a packed record must not shadow (the schema allows none of them; a record with one stays plain). */
const RESERVED = new Set(['toJSON', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf', 'toString', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString']);

/**
 * The record of `names` to their spans in `file` (`numbers`: line, col and length of each name's, in order), packed: each
 * value is made when read. A name that would shadow what every object has keeps the record plain.
 */
export function packPlaces(file: string, names: string[], numbers: number[]): Record<string, Span> {
  let sig = '';
  for (const n of names) {
    if (RESERVED.has(n)) return Object.fromEntries(names.map((x, i) => [x, { file, line: numbers[3 * i], col: numbers[3 * i + 1], length: numbers[3 * i + 2] }]));
    sig += n + '\0';
  }
  const codes: number[] = [];
  for (const n of numbers) varint(codes, n);
  // One flat string (`+=` would leave a rope of pieces).
  const data = String.fromCharCode.apply(null, codes);
  let K = keyClasses.get(sig);
  if (!K) keyClasses.set(sig, (K = keyClass(names)));
  return new K(file, data);
}

/** n (a non-negative integer) as character codes of 7 bits each onto `codes`, the last one below 128 (a one-byte string). */
function varint(codes: number[], n: number): void {
  while (n >= 128) {
    codes.push(128 | (n & 127));
    n = Math.floor(n / 128);
  }
  codes.push(n);
}

function keyClass(names: string[]): new (file: string, data: string) => Record<string, Span> {
  class Keys {
    [FILE]: string;
    [DATA]: string;
    constructor(file: string, data: string) {
      this[FILE] = file;
      this[DATA] = data;
    }

    toJSON(): Record<string, Span> {
      const out: Record<string, Span> = {};
      for (let i = 0; i < names.length; i++) out[names[i]] = spanOf(this[FILE], this[DATA], i);
      return out;
    }
  }
  Object.defineProperty(Keys.prototype, 'toJSON', { enumerable: false });
  names.forEach((name, i) => {
    Object.defineProperty(Keys.prototype, name, {
      enumerable: true,
      get(this: Keys) {
        return spanOf(this[FILE], this[DATA], i);
      },
    });
  });
  return Keys as unknown as new (file: string, data: string) => Record<string, Span>;
}

/** The i-th span of packed data. */
function spanOf(file: string, data: string, i: number): Span {
  let at = 0;
  const out = [0, 0, 0];
  for (let k = 0; k < i * 3 + 3; k++) {
    let n = 0;
    let scale = 1;
    for (;;) {
      const c = data.charCodeAt(at++);
      n += (c & 127) * scale;
      if (c < 128) break;
      scale *= 128;
    }
    if (k >= i * 3) out[k - i * 3] = n;
  }
  return { file, line: out[0], col: out[1], length: out[2] };
}

/**
 * A plain record of spans in one file (read back from JSON), packed as packPlaces packs them; anything else is given
 * back as it is. The cache's entries then give the same objects as a run that parsed the file (tests compare them).
 */
export function repackPlaces(v: Record<string, unknown>): Record<string, unknown> {
  const names: string[] = [];
  const numbers: number[] = [];
  let file: string | undefined;
  for (const k in v) {
    const x = v[k] as Record<string, unknown> | null;
    if (x === null || typeof x !== 'object' || Array.isArray(x)) return v;
    const ks = Object.keys(x);
    if (ks.length !== 4 || ks[0] !== 'file' || ks[1] !== 'line' || ks[2] !== 'col' || ks[3] !== 'length') return v;
    if (typeof x.file !== 'string' || (file !== undefined && x.file !== file)) return v;
    if (![x.line, x.col, x.length].every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) return v;
    file = x.file;
    names.push(k);
    numbers.push(x.line as number, x.col as number, x.length as number);
  }
  return file === undefined ? v : packPlaces(file, names, numbers);
}

/**
 * One array per distinct YAML path, shared by every origin at it (a tenant has about 23 origins and every tenant the same
 * few paths: at 10,000 tenants the copies were 20 MB of a model, and again of the entities read back from the cache).
 * Never changed after this.
 */
export function sharedPath<P extends ReadonlyArray<string | number>>(path: P): P {
  const key = JSON.stringify(path);
  let p = paths.get(key);
  if (!p) paths.set(key, (p = path));
  return p as P;
}

const paths = new Map<string, ReadonlyArray<string | number>>();
