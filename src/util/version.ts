// The compiler version, from package.json: recorded in every bundle's manifest.
// eslint-disable-next-line @typescript-eslint/no-var-requires
export const VERSION: string = require('../../../package.json').version;
