// The error for how s2sgw was called, in a module of its own: every command needs it, and host commands must not load the YAML parser for it.

/** A problem with how s2sgw was called (exit 2), as opposed to a finding in the files (exit 1). */
export class UsageError extends Error {
  constructor(message: string, public hint?: string) {
    super(message);
  }
}
