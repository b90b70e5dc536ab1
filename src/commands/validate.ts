// `s2sgw validate`: schema and every rule over the config repository; exit 0 clean, 1 findings.
import { loadConfig } from '../model/load';
import { Format } from '../model/format';
import { validate } from '../validate';
import { openCache } from '../util/cache';
import { allocateLocked } from '../bundle/locked';
import { sortDiagnostics } from '../model/diagnostics';
import { Command, EXIT, configDir, formatOption, note, printDiagnostics } from './common';
import { CACHE_DIR, CACHE_HELP, CONFIG, format as formatOpt } from '../util/options';

export const command: Command = {
  name: 'validate',
  summary: 'check the config repository: schema, cross-tenant conflicts, secrets',
  details: CACHE_HELP,
  options: { ...CONFIG, locked: { type: 'boolean', description: 'also refuse a change the lock file does not already hold, exactly as `build --locked` on main does (same check, same message)' }, ...CACHE_DIR, ...formatOpt(['text', 'json', 'github'], 'text: findings with code frames on stderr; json: {"diagnostics":[...]} on stdout; github: ::error annotations') },
  json: `{"diagnostics": [{"code": "duplicate-vlan", "severity": "error", "message": "...", "file": "tenants/beta.yaml",
  "line": 6, "col": 9, "hint": "...", "related": [{"file": "...", "line": 6, "col": 9, "message": "..."}]}]}
// the contract's diagnostics shape (no "version": it is fixed by the contract)`,
  examples: ['s2sgw validate', 's2sgw validate --config netconfig --format github'],
  async run({ values }, io) {
    const format = formatOption(values, ['text', 'json', 'github']) as Format;
    const cache = openCache(values, io.env, io.cwd, io.err);
    // With a cache, the files Git holds unchanged are keyed by their object ids and not read (LoadOptions.git).
    const loaded = loadConfig(configDir(values, io), { git: !!cache });
    // Only counts and findings are printed: unchanged tenants come from their summaries (ValidateOptions).
    // Without --locked (which allocates over the whole model), through the rule-ready index (ValidateOptions.index).
    let result = validate(loaded, cache, { summaries: true, index: !values.locked });
    if (values.locked && result.ok) {
      // The same function build and plan call after validation, so the same finding in the same order.
      const locked = allocateLocked(result.model, result.lock, true);
      if (!locked.ok) result = { ...result, ok: false, diagnostics: sortDiagnostics([...result.diagnostics, locked.diagnostic]) };
    }
    printDiagnostics(result.diagnostics, format, loaded.files, io, loaded.lock);
    if (format === 'text' && result.ok) {
      const { tenants, gateways } = result.counts ?? { tenants: result.model.tenants.length, gateways: result.model.gateways.length };
      note(io, `${tenants} tenant${tenants === 1 ? '' : 's'} on ${gateways} gateway${gateways === 1 ? '' : 's'}: valid\n`);
    }
    return result.ok ? EXIT.ok : EXIT.findings;
  },
};
