// Positional reads of an open file until a range is whole: one readSync may return fewer bytes than asked.
import * as fs from 'node:fs';

/** Reads `len` bytes at `pos` of `fd` into `buf` at `off`; the number read (less than `len` only at the file's end). */
export function readAt(fd: number, buf: Buffer, off: number, len: number, pos: number): number {
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, buf, off + got, len - got, pos + got);
    if (n <= 0) break;
    got += n;
  }
  return got;
}
