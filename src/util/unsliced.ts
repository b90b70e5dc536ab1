// V8 makes a substring of 13 characters or more as a slice of its parent and keeps the whole parent alive for it.

/**
 * A copy of `s` that holds on to no longer string: for a piece of a YAML file's text, or of a cache entry, that
 * outlives the text it was cut from (a memo's key, an entity's value, a cached tenant's section).
 */
export function unsliced(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}
