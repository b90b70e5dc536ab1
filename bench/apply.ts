// Bench `apply` (slot): a one-tenant change applied incrementally next to a full reload (issue 8); registered so the name is taken.
import { Bench } from './bench';

export const bench: Bench = {
  name: 'apply',
  summary: 'slot: a one-tenant change applied incrementally next to a full reload (not written yet)',
  byDefault: false,
  async run() {
    return { title: 'apply: not written yet', notes: ['slot for issue 8'] };
  },
};
