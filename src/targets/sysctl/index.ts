// The sysctl target (stub until implemented): render and check.
import type { Target } from '../target';

export const target: Target = {
  name: 'sysctl',
  render() {
    return [];
  },
  async check() {
    return [];
  },
};
