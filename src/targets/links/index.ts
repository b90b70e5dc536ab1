// The links target (stub until implemented): render and check.
import type { Target } from '../target';

export const target: Target = {
  name: 'links',
  render() {
    return [];
  },
  async check() {
    return [];
  },
};
