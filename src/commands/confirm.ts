// `s2sgw confirm`: keep the release `apply --confirm SECONDS` put on probation (like `netplan try`).
import { Command } from './common';
import { confirm } from '../apply/engine';
import { HOST_OPTIONS, finish, lockWaitMs, runnerFrom } from '../apply/options';
import { auditCommand, AUDIT_OPTIONS, whoRuns } from '../apply/audit';

export const command: Command = {
  name: 'confirm',
  summary: 'keep the release applied with --confirm before its timer rolls it back',
  options: { ...AUDIT_OPTIONS, ...HOST_OPTIONS },
  async run({ values }, io) {
    const runner = runnerFrom(values, io);
    const out = await auditCommand('confirm', runner, whoRuns(io.env, values.actor as string | undefined), () => confirm(runner, { say: (s) => io.err(s + '\n'), lockWaitMs: lockWaitMs(values) }), (s) => io.err(`s2sgw confirm: ${s}\n`));
    return finish(out, io, 'confirm');
  },
};
