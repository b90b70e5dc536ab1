// The netplan target (stub until implemented): render and check.
import type { Target } from '../target';

export const target: Target = {
  name: 'netplan',
  render() {
    return [];
  },
  async check() {
    return [];
  },
};
