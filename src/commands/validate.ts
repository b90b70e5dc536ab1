// `s2sgw validate`: schema and every rule over the config repository; exit 0 clean, 1 findings.
import { loadConfig } from '../compiler/load';
import { Format } from '../compiler/format';
import { validate } from '../validate';
import { openCache } from '../compiler/cache';
import { allocateLocked } from '../compiler/compile';
import { sortDiagnostics } from '../compiler/diagnostics';
import { CACHE_HELP, Command, EXIT, configDir, formatOption, printDiagnostics } from './common';

export const command: Command = {
  name: 'validate',
  summary: 'check the config repository: schema, cross-tenant conflicts, secrets',
  usage: 's2sgw validate [--config DIR] [--locked] [--cache-dir DIR] [--format text|json|github]',
  details: `--locked: also refuse a change the lock file does not already hold, exactly as \`build --locked\` on main does (same check, same message).
${CACHE_HELP}`,
  options: { config: { type: 'string', short: 'c' }, format: { type: 'string', short: 'f' }, 'cache-dir': { type: 'string' }, locked: { type: 'boolean' } },
  async run({ values }, io) {
    const format = formatOption(values, ['text', 'json', 'github']) as Format;
    const loaded = loadConfig(configDir(values, io));
    let result = validate(loaded, openCache(values, io.env, io.cwd, io.err));
    if (values.locked && result.ok) {
      // The same function build and plan call after validation, so the same finding in the same order.
      const locked = allocateLocked(result.model, result.lock, true);
      if (!locked.ok) result = { ...result, ok: false, diagnostics: sortDiagnostics([...result.diagnostics, locked.diagnostic]) };
    }
    printDiagnostics(result.diagnostics, format, loaded.files, io, loaded.lock);
    if (format === 'text' && result.ok) {
      io.err(`${result.model.tenants.length} tenant${result.model.tenants.length === 1 ? '' : 's'} on ${result.model.gateways.length} gateway${result.model.gateways.length === 1 ? '' : 's'}: valid\n`);
    }
    return result.ok ? EXIT.ok : EXIT.findings;
  },
};
