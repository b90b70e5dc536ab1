// Preloaded into a whole s2sgw process (`node --require exit-stats.js ...`): at exit it writes the process's CPU time and peak RSS to $S2SGW_BENCH_STATS.
import * as fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const file = process.env.S2SGW_BENCH_STATS;
// Once, from the main thread: a worker (build's file writer) loads this module too, and exits first.
if (file && isMainThread) {
  process.on('exit', () => {
    const cpu = process.cpuUsage();
    fs.writeFileSync(file, JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, maxRssKb: process.resourceUsage().maxRSS }));
  });
}
