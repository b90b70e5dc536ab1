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
  if (text === undefined || countOf(text, '\0', LARGE) <= LARGE) return { ...process.env };
  // No prototype: a variable named like an Object method is a variable like any other.
  const env: Record<string, string> = Object.create(null);
  // One pass over the text, no array of 30,000 entries first.
  for (let at = 0; at < text.length; ) {
    let end = text.indexOf('\0', at);
    if (end < 0) end = text.length;
    const eq = text.indexOf('=', at);
    if (eq > at && eq < end) {
      const name = text.slice(at, eq);
      // The first of a repeated name is the one getenv() returns.
      if (env[name] === undefined) env[name] = text.slice(eq + 1, end);
    }
    at = end + 1;
  }
  return (large = env);
}

/** How many times `c` occurs in `text`, counting no further than `limit` + 1. */
function countOf(text: string, c: string, limit: number): number {
  let n = 0;
  for (let i = text.indexOf(c); i >= 0 && n <= limit; i = text.indexOf(c, i + 1)) n++;
  return n;
}

/**
 * What host tools may need: where programs are, the locale, the user, an SSH agent (a `via ssh host` prefix), and
 * which strongswan.conf strongSwan's tools read (STRONGSWAN_CONF: a charon whose VICI socket is not the default one).
 * keepalived, which apply starts, hands its environment to its notify commands: their swanctl finds that charon only
 * through STRONGSWAN_CONF (docs/ha.md; the lab's pair found notify_fault's terminate going to the default socket).
 */
const PASSED = /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|LC_[A-Z]+|TZ|TERM|TMPDIR|SSH_AUTH_SOCK|SSH_AGENT_PID|XDG_RUNTIME_DIR|STRONGSWAN_CONF)$/;

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
