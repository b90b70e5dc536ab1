// The validate pipeline: load -> schema -> model -> rules, every finding collected.
import { Diagnostic, hasErrors, sortDiagnostics } from '../compiler/diagnostics';
import { Loaded } from '../compiler/load';
import { buildModel, Model } from '../compiler/model';
import { release } from '../compiler/source';
import { validateSchema } from './schema';
import { runRules } from './rules';
import { scanRaw } from './rules/inline-secret';

export interface Validated {
  model: Model;
  diagnostics: Diagnostic[];
  ok: boolean;
}

/**
 * Validates loaded files. Files with YAML or schema errors are left out of the model (their own
 * findings stand); the rules then run over every file that is well-formed. Pure.
 */
export function validate(loaded: Loaded): Validated {
  const schemaDiags = validateSchema(loaded.files);
  const bad = new Set([...loaded.diagnostics, ...schemaDiags].filter((d) => d.severity === 'error').map((d) => d.file));
  const valid = new Set(loaded.files.filter((f) => f.data !== undefined && !bad.has(f.path)).map((f) => f.path));
  const { model, diagnostics: modelDiags } = buildModel(loaded.files, valid);
  // Secrets are looked for in every parsed file, schema-valid or not: they must never be committed.
  const rawSecrets = loaded.files.filter((f) => f.data !== undefined && !valid.has(f.path)).flatMap(scanRaw);
  // The model holds every place the rules and targets need; the rest comes back by re-parsing one file.
  for (const f of loaded.files) if (valid.has(f.path)) release(f);
  const diagnostics = sortDiagnostics([...loaded.diagnostics, ...schemaDiags, ...modelDiags, ...rawSecrets, ...runRules(model)]);
  return { model, diagnostics, ok: !hasErrors(diagnostics) };
}
