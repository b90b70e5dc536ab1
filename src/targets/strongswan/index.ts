// The strongswan target (stub until implemented): render and check.
import type { Target } from '../target';

export const target: Target = {
  name: 'strongswan',
  render() {
    return [];
  },
  async check() {
    return [];
  },
};
