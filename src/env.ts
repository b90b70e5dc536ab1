// The process environment as a plain object, and the small environment the host tools are started with.
import * as fs from 'node:fs';

/** Above this many variables the environment is read from /proc (see environment()). */
const LARGE = 1000;

let large: NodeJS.ProcessEnv | undefined;
let largeChild: NodeJS.ProcessEnv | undefined;

/**
 * process.env as a plain object. Node answers every process.env key from the C environment with a linear scan
 * (enumerating it too: V8 asks each key's attributes), so with 30,000 PSK variables (10,000 tenants, three sites
 * each) resolving them one by one took 0.45 s, and each spawn handed process.env took 1 s (it copies every
 * variable). A large environment is read from /proc/self/environ instead, in one go: the environment the process
 * started with (s2sgw sets no variable). A usual one is copied from process.env, which also sees variables set
 * since start (tests do).
 */
export function environment(): NodeJS.ProcessEnv {
  if (large) return large;
  let text: string | undefined;
  try {
    text = fs.readFileSync('/proc/self/environ', 'utf8');
  } catch {
    text = undefined;
  }
  const entries = text?.split('\0') ?? [];
  if (entries.length <= LARGE) return { ...process.env };
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    // The first of a repeated name is the one getenv() returns.
    if (eq > 0 && !Object.prototype.hasOwnProperty.call(env, entry.slice(0, eq))) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return (large = env);
}

/** What host tools may need: where programs are, the locale, the user and an SSH agent (a `via ssh host` prefix). */
const PASSED = /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|LC_[A-Z]+|TZ|TERM|TMPDIR|SSH_AUTH_SOCK|SSH_AGENT_PID|XDG_RUNTIME_DIR)$/;

/**
 * The environment host tools run with: the variables in PASSED only. Never the rest, which holds the secrets
 * apply resolves from env: references (and copying 30,000 of them per spawn is what made it slow).
 */
export function childEnv(): NodeJS.ProcessEnv {
  const env = environment();
  // The large snapshot never changes: filter its 30,000 names once, not on every spawn.
  if (env === large && largeChild) return largeChild;
  const out = Object.fromEntries(Object.keys(env).filter((k) => PASSED.test(k)).map((k) => [k, env[k]]));
  if (env === large) largeChild = out;
  return out;
}
