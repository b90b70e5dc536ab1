// Bench `diagnostics`: printing many findings of one file (duplicate filters) as text with code frames vs JSON; issue 15 asks for linear cost.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Bench, Goal, fmtInt, fmtMs, fmtRatio } from './bench';
import { loadConfig } from '../src/model/load';
import { validate } from '../src/validate';
import { formatJson, formatText } from '../src/model/format';

const ROOT = path.resolve(__dirname, '..', '..');
const SIZES = [3000, 12000];

/** The bundled example with contoso's filters replaced by `n` copies of one filter: n - 1 duplicate-filter findings in one file. */
function repoWith(n: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-bench-diag-'));
  for (const name of ['gateways', 'tenants']) fs.cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true });
  const file = path.join(dir, 'tenants', 'contoso.yaml');
  const rule = '  - interface: IfCi1\n    direction: outbound\n    permit:\n      - { protocol: icmp }\n';
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').split('filters:')[0] + 'filters:\n' + rule.repeat(n));
  return dir;
}

export const bench: Bench = {
  name: 'diagnostics',
  summary: 'formatText (code frames) vs formatJson of 3,000 and 12,000 findings in one file; goal: linear',
  byDefault: true,
  async run() {
    const table = [['findings', 'text ms', 'json ms', 'text/json']];
    const text: number[] = [];
    for (const n of SIZES) {
      const dir = repoWith(n);
      const loaded = loadConfig(dir);
      const diags = validate(loaded).diagnostics;
      const sources = new Map(loaded.files.map((f) => [f.path, f.text]));
      let t0 = performance.now();
      formatText(diags, { color: false, sources });
      const t = performance.now() - t0;
      t0 = performance.now();
      formatJson(diags);
      const j = performance.now() - t0;
      fs.rmSync(dir, { recursive: true, force: true });
      text.push(t);
      table.push([fmtInt(diags.length), fmtMs(t), fmtMs(j), fmtRatio(t / j)]);
    }
    const goals: Goal[] = [{ name: `text ${fmtInt(SIZES[1])} / ${fmtInt(SIZES[0])} findings (linear: 4x)`, value: text[1] / text[0], limit: 6, unit: 'x' }];
    return { title: 'diagnostics: printing findings, one run each, in-process', table, goals, notes: ['before issue 15 the text format masked the whole file once per finding: 12,000 findings took about 54 s'] };
  },
};
