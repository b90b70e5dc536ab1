// The validate pipeline: load -> schema -> model -> rules, every finding collected.
import { Diagnostic, hasErrors, sortDiagnostics } from '../compiler/diagnostics';
import { Loaded, parse } from '../compiler/load';
import { addFile, emptyModel, Model } from '../compiler/model';
import { release } from '../compiler/source';
import { validateSchema } from './schema';
import { runRules } from './rules';
import { scanRaw } from './rules/inline-secret';
import { Allocations } from '../compiler/lock';
import { checkLock } from '../compiler/lock-check';

export interface Validated {
  model: Model;
  diagnostics: Diagnostic[];
  ok: boolean;
  /** allocations.lock.yaml as read and checked (an empty lock when there is none, or when it is refused). */
  lock: Allocations;
}

/**
 * Validates loaded files. Files with YAML or schema errors are left out of the model (their own
 * findings stand); the rules then run over every file that is well-formed. Pure.
 *
 * Parse, schema and model run file by file, and each YAML document is let go as soon as its
 * entity is in the model: at 10,000 tenants the documents would otherwise be most of the memory.
 * The model keeps every place the rules and targets need; a late diagnostic that needs another
 * place re-parses its one file (source.ts documentOf()).
 */
export function validate(loaded: Loaded): Validated {
  const model = emptyModel();
  const found: Diagnostic[] = [...loaded.diagnostics];
  for (const f of loaded.files) {
    const yaml = parse(f);
    const schema = f.data === undefined ? [] : validateSchema([f]);
    found.push(...yaml, ...schema);
    const valid = f.data !== undefined && !yaml.some(isError) && !schema.some(isError);
    addFile(model, f, valid);
    // Its entity holds what the rules and targets need: the document and the parsed data go.
    if (valid) {
      release(f);
      delete f.data;
    }
    // Secrets are looked for in every parsed file, schema-valid or not: they must never be committed.
    else if (f.data !== undefined) found.push(...scanRaw(f));
  }
  const lock = checkLock(loaded.lock, model, new Set(loaded.files.filter((f) => f.kind === 'tenant').map((f) => f.stem)));
  const diagnostics = sortDiagnostics([...found, ...runRules(model), ...lock.diagnostics]);
  return { model, diagnostics, ok: !hasErrors(diagnostics), lock: lock.lock };
}

const isError = (d: Diagnostic) => d.severity === 'error';
