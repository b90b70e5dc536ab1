// The nftables target (stub until implemented): render and check.
import type { Target } from '../target';

export const target: Target = {
  name: 'nftables',
  render() {
    return [];
  },
  async check() {
    return [];
  },
};
