/** The sandbox provider behind a switch: while `down`, every send and lookup fails as a network error would (an outage). */
import type { Pool } from 'pg';
import { createSandboxProvider } from '../../activities/providers/sandbox';
import type { SmsProvider } from '../../activities/providers/provider';

export function switchableProvider() {
  const state = { down: false, calls: 0 };
  const provider = (pool: Pool): SmsProvider => {
    const inner = createSandboxProvider(pool);
    const check = () => {
      state.calls += 1;
      if (state.down) throw new Error('provider unreachable (test outage)');
    };
    return {
      name: inner.name,
      send: async (message) => (check(), inner.send(message)),
      findSent: async (message, since) => (check(), inner.findSent(message, since)),
    };
  };
  return { state, provider };
}
