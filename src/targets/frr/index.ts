// The frr target (stub until implemented): render and check.
import type { Target } from '../target';

export const target: Target = {
  name: 'frr',
  render() {
    return [];
  },
  async check() {
    return [];
  },
};
