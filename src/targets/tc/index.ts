// The tc target (stub until implemented): render and check.
import type { Target } from '../target';

export const target: Target = {
  name: 'tc',
  render() {
    return [];
  },
  async check() {
    return [];
  },
};
