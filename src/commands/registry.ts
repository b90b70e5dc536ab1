// The command table: each command's module by name, loaded when it runs. Here, below cli.ts, so a command
// that lists the others (completion) needs nothing above its own layer.
import type { Command } from './common';

/**
 * Each command's module, loaded when it runs: `s2sgw apply` on a gateway host does not load the YAML parser, the
 * schema or the templates (0.15 s of module loading for every apply).
 */
export const LOADERS: Record<string, () => Command> = {
  validate: () => require('./validate').command,
  build: () => require('./build').command,
  plan: () => require('./plan').command,
  sign: () => require('./sign').command,
  apply: () => require('./apply').command,
  confirm: () => require('./confirm').command,
  rollback: () => require('./rollback').command,
  status: () => require('./status').command,
  releases: () => require('./releases').command,
  recover: () => require('./recover').command,
  metrics: () => require('./metrics').command,
  'peer-config': () => require('./peer-config').command,
  rules: () => require('./rules').command,
  explain: () => require('./explain').command,
  init: () => require('./init').command,
  tenant: () => require('./tenant').command,
  completion: () => require('./completion').command,
  drain: () => require('./drain').command,
  undrain: () => require('./undrain').command,
  secret: () => require('./secret').command,
};

/** A command by name, or undefined. */
export function commandNamed(name: string): Command | undefined {
  return Object.prototype.hasOwnProperty.call(LOADERS, name) ? LOADERS[name]() : undefined;
}

/** Every command, in help order (loads them all). */
export function commands(): Command[] {
  return Object.values(LOADERS).map((load) => load());
}

