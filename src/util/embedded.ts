// What the single-executable build (scripts/bundle.js) puts in place of files that a plain install reads beside
// the code: the handlebars templates, the files init copies, the rule modules (found by listing their folder) and how to start the
// confirm timer. Empty when s2sgw runs from dist/ (a checkout or the npm package).

export interface Embedded {
  /** Template text by its path under src/ ("targets/frr/head.hbs"). */
  templates?: Record<string, string>;
  /** Other files read at run time, by their path in the repository ("examples/github/s2sgw.yml", which init writes). */
  files?: Record<string, string>;
  /** Each rule module by its file name without .js, loaded on first use. */
  rules?: Record<string, () => unknown>;
  /** The arguments, after process.execPath, that run the confirm timer (root is appended). */
  timerArgs?: string[];
  /** The arguments, after process.execPath, that run keepalived's notify listener (src/apply/ha-listen.ts). */
  listenerArgs?: string[];
}

export const embedded: Embedded = {};
