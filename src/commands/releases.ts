// `s2sgw releases`: the releases this gateway host keeps, newest first: which is current, which a rollback goes to, which waits for a confirm.
import { Command, formatOption } from './common';
import { format as formatOpt } from '../util/options';
import { formatReleases, listReleases } from '../apply/releases';
import { HOST_OPTIONS, runnerFrom } from '../apply/options';

export const command: Command = {
  name: 'releases',
  summary: 'list the releases this gateway host keeps (current, previous, unconfirmed, commit)',
  options: { ...formatOpt(['text', 'json']), ...HOST_OPTIONS },
  json: `{ "version": 1, "releases": [{ "release": "3f2a9c1b0d4e", "staged": "2026-...Z", "applied": "2026-...Z", "gateway": "gw1",
  "commit": "0123...", "dirty": false, "current": true, "previous": false, "unconfirmed": false }] }   // newest first`,
  async run({ values }, io) {
    const format = formatOption(values, ['text', 'json']);
    const list = listReleases(runnerFrom(values, io));
    io.out(format === 'json' ? JSON.stringify({ version: 1, releases: list }, null, 2) + '\n' : formatReleases(list));
    return 0;
  },
};
