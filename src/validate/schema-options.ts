// The options src/validate/schema.ts's validators are compiled with (scripts/schema-code.js compiles them ahead).
/**
 * validateSchema: false: our two schemas are checked against ajv's meta-schema by test/validate.test.ts, not on every
 * run. verbose: errors carry the schema and data (src/validate/schema.ts's messages quote them).
 */
export const SCHEMA_OPTIONS = { allErrors: true, verbose: true, strict: true, strictTuples: false, validateSchema: false } as const;
