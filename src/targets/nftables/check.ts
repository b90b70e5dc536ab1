// Checks nftables/s2sgw.nft with the real nft (`nft -c -f`) in a throwaway network namespace and maps its complaints to the YAML.
import * as path from 'node:path';
import { Diagnostic, error } from '../../model/diagnostics';
import type { CheckInput, RenderedFile } from '../target';
import { run, withNetns } from '../../util/exec';
import { bundlePlace, lineAt, originOfLine } from './places';

export const FILE = 'nftables/s2sgw.nft';

export interface NftError {
  line: number;
  col: number;
  message: string;
}

/** nft's `FILE:LINE:COL[-END]: Error: MESSAGE` lines (1-based). Messages without a place come back at line 0. */
export function parseNftErrors(stderr: string): NftError[] {
  const out: NftError[] = [];
  for (const l of stderr.split('\n')) {
    const m = /^(.*?):(\d+):(\d+)(?:-\d+)?: Error: (.*)$/.exec(l);
    if (m) out.push({ line: Number(m[2]), col: Number(m[3]), message: m[4].trim() });
    else if (/^Error: /.test(l)) out.push({ line: 0, col: 0, message: l.slice('Error: '.length).trim() });
  }
  return out;
}

/** Turns nft's errors on a rendered file into diagnostics at the YAML place, with the bundle line as related. Pure. */
export function mapNftErrors(errors: NftError[], file: RenderedFile, input: Pick<CheckInput, 'gateway' | 'tenants'>): Diagnostic[] {
  return errors.map((e) => {
    const bundle = bundlePlace(input.gateway.name, file.path, Math.max(1, e.line), Math.max(1, e.col));
    if (e.line === 0) return error('nftables/check', bundle, `nft rejected ${file.path}: ${e.message}`);
    const origin = originOfLine(file, e.line, input.tenants);
    const text = lineAt(file, e.line).text.trim();
    const message = `nft rejected ${file.path} line ${e.line}: ${e.message}`;
    if (!origin) return error('nftables/check', bundle, `${message}: ${text}`);
    return error('nftables/check', origin, message, { related: [{ ...bundle, message: `the rejected line: ${text}` }] });
  });
}

/** Runs `nft -c -f` on the rendered file inside a fresh network namespace (an empty ruleset, no effect on the host). */
export async function checkNftables(input: CheckInput): Promise<Diagnostic[]> {
  const file = input.files.find((f) => f.path === FILE);
  if (!file) return [];
  const abs = path.join(input.dir, FILE);
  try {
    return await withNetns(async (ns) => {
      const r = await run('nft', ['-c', '-f', abs], { netns: ns, timeoutMs: 120_000 });
      if (r.missing) {
        return [error('nftables/tool-missing', bundlePlace(input.gateway.name, FILE, 1), 'nft is not installed, so the nftables ruleset was not checked', { hint: 'install the Debian package nftables' })];
      }
      if (r.code === 0) return [];
      const errors = parseNftErrors(r.stderr);
      if (!errors.length) errors.push({ line: 0, col: 0, message: (r.stderr.trim() || `exit code ${r.code}`).split('\n')[0] });
      return mapNftErrors(errors, file, input);
    });
  } catch (e) {
    return [error('nftables/check', bundlePlace(input.gateway.name, FILE, 1), `cannot check the nftables ruleset: ${(e as Error).message}`, { hint: 'the check needs root and network namespaces (`ip netns add`)' })];
  }
}
