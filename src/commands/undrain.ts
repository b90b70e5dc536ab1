// `s2sgw undrain`: the counterpart of drain (src/commands/drain.ts).
import { drainCommand } from './drain';

export const command = drainCommand(false);
