// One measurement in its own process, so its peak RSS is its own: `node child.js OP DIR [--nft-out FILE]`, prints one JSON line.
import { measure, measureCommand, OPS, Op } from './measure';
import { RESULT_PREFIX } from './bench';
import { boundHeapGrowth } from '../src/util/heap';

async function main(argv: string[]): Promise<number> {
  const [op, dir, ...rest] = argv;
  if (!OPS.includes(op as Op) || !dir) {
    process.stderr.write(`usage: node child.js ${OPS.join('|')} DIR [--nft-out FILE]\n`);
    return 2;
  }
  const i = rest.indexOf('--nft-out');
  const nftOut = i >= 0 ? rest[i + 1] : undefined;
  // The same GC policy as the s2sgw command (src/util/heap.ts), so the figures are the command's.
  boundHeapGrowth();
  const m = op === 'command' ? await measureCommand(dir) : measure(op as Op, dir, { nftOut });
  process.stdout.write(RESULT_PREFIX + JSON.stringify(m) + '\n');
  return 0;
}

if (require.main === module) main(process.argv.slice(2)).then((code) => (process.exitCode = code));
