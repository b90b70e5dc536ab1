// The process environment as a plain object, and the small environment the host tools are started with.
import * as fs from 'node:fs';

/** Above this many variables the environment is read from /proc (see environment()). */
const LARGE = 1000;

let large: NodeJS.ProcessEnv | undefined;
let largeChild: NodeJS.ProcessEnv | undefined;

/**
 * process.env as an object. Node answers every process.env key from the C environment with a linear scan
 * (enumerating it too: V8 asks each key's attributes), so with 30,000 PSK variables (10,000 tenants, three sites
 * each) resolving them one by one took 0.45 s, and each spawn handed process.env took 1 s (it copies every
 * variable). A large environment is read from /proc/self/environ instead, in one go: the environment the process
 * started with (s2sgw sets no variable). A usual one is copied from process.env, which also sees variables set
 * since start (tests do).
 *
 * The large one is looked up in that text, name by name, for the first few dozen names (an apply of a one-tenant
 * change looks up a handful: making an object of 30,000 variables was 0.1-0.2 s of every such apply), and made
 * into a plain object on the next lookup, on enumeration or on a write.
 */
export function environment(): NodeJS.ProcessEnv {
  if (large) return large;
  const text = environText();
  if (text === undefined || countOf(text, '\0', LARGE) <= LARGE) return { ...process.env };
  return (large = lazyEnvironment(text));
}

/** /proc/self/environ's text, read once (1.4 MB at 30,000 variables; environment() and childEnv() both need it). */
let environ: { text: string | undefined } | undefined;

function environText(): string | undefined {
  if (!environ) {
    try {
      environ = { text: fs.readFileSync('/proc/self/environ', 'utf8') };
    } catch {
      environ = { text: undefined };
    }
  }
  return environ.text;
}

/** Lookups answered from the text before the whole environment is made into an object. */
const LOOKUPS = 64;

/** An environment over /proc/self/environ's text: see environment(). */
export function lazyEnvironment(text: string): NodeJS.ProcessEnv {
  let all: Record<string, string> | undefined;
  let lookups = 0;
  const whole = () => (all ??= parseEnviron(text));
  const find = (name: string | symbol): string | undefined => {
    if (typeof name !== 'string') return undefined;
    if (all || ++lookups > LOOKUPS) return Object.hasOwn(whole(), name) ? all![name] : undefined;
    // The first of a repeated name is the one getenv() returns (the leftmost match); a value holds no NUL, a name no '='.
    if (!name || name.includes('=') || name.includes('\0')) return undefined;
    // A regular expression, not indexOf('\0NAME='): V8's indexOf stops at every NUL (one per variable) to compare,
    // 1-3 ms per name absent from 1.4 MB (apply looks up about ten: SUDO_USER, S2SGW_ACTOR, ...); the regex, 0.1 ms.
    return new RegExp(`(?:^|\0)${name.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}=([^\0]*)`).exec(text)?.[1];
  };
  return new Proxy(Object.create(null) as NodeJS.ProcessEnv, {
    get: (_, k) => find(k),
    has: (_, k) => find(k) !== undefined,
    getOwnPropertyDescriptor: (_, k) => {
      const value = find(k);
      return value === undefined ? undefined : { value, writable: true, enumerable: true, configurable: true };
    },
    ownKeys: () => Object.keys(whole()),
    set: (_, k, v) => {
      if (typeof k !== 'string') return false;
      whole()[k] = String(v);
      return true;
    },
    deleteProperty: (_, k) => typeof k !== 'string' || delete whole()[k],
    defineProperty: () => false,
  });
}

/** NAME=VALUE\0... as an object without a prototype (a variable named like an Object method is a variable like any other). */
function parseEnviron(text: string): Record<string, string> {
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
  return env;
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
  if (env !== large) return pick(env, Object.keys(env));
  // The large environment: only PASSED's names are looked for in its text (never all 30,000 made into an object).
  if (!largeChild) {
    const text = environText() ?? '';
    const names = new Set<string>();
    for (const m of text.matchAll(PASSED_IN_TEXT)) names.add(m[1]);
    largeChild = pick(env, [...names]);
  }
  return largeChild;
}

const pick = (env: NodeJS.ProcessEnv, names: string[]) => Object.fromEntries(names.filter((k) => PASSED.test(k) && env[k] !== undefined).map((k) => [k, env[k]]));

/** PASSED's names where they start an entry of /proc/self/environ's text. */
const PASSED_IN_TEXT = new RegExp(`(?:^|\\0)(${PASSED.source.slice(2, -2)})=`, 'g');
