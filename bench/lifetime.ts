// Preloaded into the `s2sgw apply` the apply bench runs (node -r): prints how long the process lived, from its start
// (performance.timeOrigin) to its exit, so the bench can tell the command's own time from the harness's spawn of it.
import { performance } from 'node:perf_hooks';

process.on('exit', () => process.stderr.write(`s2sgw-bench-lifetime ${performance.now().toFixed(1)}\n`));
