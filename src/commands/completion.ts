// `s2sgw completion bash`: the bash completion script, generated from the option table.
import { Command, EXIT } from './common';
import { completionBash } from './help';

export const command: Command = {
  name: 'completion',
  summary: 'print the shell completion script (bash), generated from the option table',
  positionals: [{ name: 'SHELL', description: 'the shell', choices: ['bash'] }],
  options: {},
  examples: ['source <(s2sgw completion bash)', 's2sgw completion bash > /etc/bash_completion.d/s2sgw'],
  async run(_args, io) {
    // Loaded here, not at the top: the registry loads every command for the list.
    const { commands } = require('./registry') as typeof import('./registry');
    io.out(completionBash(commands()));
    return EXIT.ok;
  },
};
