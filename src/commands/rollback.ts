// `s2sgw rollback`: return this gateway host to the release before the current one, with the same ordered reload as apply.
import { Command } from './common';
import { rollback } from '../apply/engine';
import { HOST_OPTIONS, HOST_USAGE, finish, lockWaitMs, runnerFrom } from '../apply/options';
import { auditCommand, AUDIT_OPTIONS, AUDIT_USAGE, whoRuns } from '../apply/audit';

export const command: Command = {
  name: 'rollback',
  summary: 'switch this gateway host back to the previous release',
  usage: `s2sgw rollback ${AUDIT_USAGE} ${HOST_USAGE}`,
  options: { ...AUDIT_OPTIONS, ...HOST_OPTIONS },
  async run({ values }, io) {
    const runner = runnerFrom(values, io);
    const out = await auditCommand('rollback', runner, whoRuns(io.env, values.actor as string | undefined), () => rollback(runner, { say: (s) => io.err(s + '\n'), lockWaitMs: lockWaitMs(values) }), (s) => io.err(`s2sgw rollback: ${s}\n`));
    return finish(out, io, 'rollback');
  },
};
