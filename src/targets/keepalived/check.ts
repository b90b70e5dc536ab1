// Checks keepalived/keepalived.conf with the real `keepalived -t -f` (config test) inside a throwaway network
// namespace that has a stand-in (veth) for each tenant interface the file names, so only real mistakes remain.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Diagnostic, error, Place } from '../../model/diagnostics';
import type { CheckInput, RenderedFile } from '../target';
import { text } from '../target';
import { run, withNetns, withTempDir } from '../../util/exec';
import { KEEPALIVED_CONF } from './view';

const LINE = /^\((.*?): Line (\d+)\) (.*)$/;
/** What a config test says when the stand-in interfaces are missing or it merely reports: not findings. */
const NOISE = /doesn't exist|Non-existent interface|^\s*$/;

/** The section of a file holding a 1-based line, and its origin. */
function sectionAt(file: RenderedFile, line: number): Place | undefined {
  let n = 0;
  for (const s of file.sections) {
    const lines = s.text.split('\n').length - 1;
    if (line <= n + lines) return s.origin;
    n += lines;
  }
  return file.sections[0]?.origin;
}

/** Turns keepalived -t's output into findings at the YAML (the section's origin). Pure. */
export function keepalivedFindings(file: RenderedFile, output: string, fallback: Place): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const l of output.split('\n')) {
    const body = l.replace(/^\w{3} \w{3} +\d+ [\d:]+ \d{4}: /, '');
    if (NOISE.test(body)) continue;
    const m = LINE.exec(body);
    if (m) out.push(error('keepalived/check', sectionAt(file, Number(m[2])) ?? fallback, `${KEEPALIVED_CONF}:${m[2]}: keepalived: ${m[3]}`));
    else if (/error|invalid|unknown|not valid|outside/i.test(body)) out.push(error('keepalived/check', fallback, `${KEEPALIVED_CONF}: keepalived: ${body.trim()}`));
  }
  return out;
}

export async function checkKeepalived(input: CheckInput): Promise<Diagnostic[]> {
  const file = input.files.find((f) => f.path === KEEPALIVED_CONF);
  if (!file) return [];
  const gw: Place = { file: input.gateway.origin.file, line: input.gateway.origin.line, col: input.gateway.origin.col };
  const v = await run('keepalived', ['--version']);
  if (v.missing) return [error('keepalived/tool-missing', gw, `cannot check ${KEEPALIVED_CONF}: keepalived is not installed`, { hint: 'apt-get install keepalived' })];
  const ifaces = [...new Set(input.tenants.filter((t) => t.network.ha).map((t) => t.network.interface))].sort();
  const r = await withTempDir('keepalived', async (dir) => {
    const conf = path.join(dir, 'keepalived.conf');
    fs.writeFileSync(conf, text(file));
    return withNetns(async (ns) => {
      for (const [i, name] of ifaces.entries()) await run('ip', ['link', 'add', 'name', name, 'type', 'veth', 'peer', 'name', `s2sgw-ka${i}`], { netns: ns });
      return run('keepalived', ['-t', '-f', conf, '--log-console', '--log-detail'], { netns: ns });
    });
  });
  return keepalivedFindings(file, `${r.stdout}\n${r.stderr}`, gw);
}
