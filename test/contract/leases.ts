/**
 * The Leases port's contract (src/ports/leases.ts), run against every adapter.
 * `make(ttlMs)` returns two nodes' handles on the same leases.
 */
import { describe, expect, it } from 'vitest';
import type { Leases } from '../../src/ports/leases.js';

export function leasesContract(name: string, make: (ttlMs: number) => Promise<[Leases, Leases]>): void {
  describe(`Leases contract: ${name}`, () => {
    it('gives a free key to the first claimant and names it to the second', async () => {
      const [a, b] = await make(60_000);
      expect(await a.claim('hub.k1', 'node-a')).toBe('node-a');
      expect(await b.claim('hub.k1', 'node-b')).toBe('node-a');
      expect(await a.claim('hub.k1', 'node-a')).toBe('node-a');
    });

    it('renews only for the holder', async () => {
      const [a, b] = await make(60_000);
      await a.claim('hub.k2', 'node-a');
      expect(await a.renew('hub.k2', 'node-a')).toBe(true);
      expect(await b.renew('hub.k2', 'node-b')).toBe(false);
      expect(await b.renew('hub.nobody', 'node-b')).toBe(false);
    });

    it('frees a key on release by its holder, and ignores a release by anyone else', async () => {
      const [a, b] = await make(60_000);
      await a.claim('hub.k3', 'node-a');
      await b.release('hub.k3', 'node-b');
      expect(await b.claim('hub.k3', 'node-b')).toBe('node-a');
      await a.release('hub.k3', 'node-a');
      await a.release('hub.k3', 'node-a');
      expect(await b.claim('hub.k3', 'node-b')).toBe('node-b');
      expect(await a.renew('hub.k3', 'node-a')).toBe(false);
    });

    it('lets a lease nobody renews run out, so another node can take it', async () => {
      const [a, b] = await make(1000);
      await a.claim('hub.k4', 'node-a');
      const deadline = Date.now() + 10_000;
      let holder = await b.claim('hub.k4', 'node-b');
      while (holder !== 'node-b' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        holder = await b.claim('hub.k4', 'node-b');
      }
      expect(holder).toBe('node-b');
      expect(await a.renew('hub.k4', 'node-a')).toBe(false);
    });

    it('rejects with CLOSED after close, which is idempotent', async () => {
      const [a] = await make(60_000);
      await a.close();
      await a.close();
      await expect(a.claim('hub.k5', 'node-a')).rejects.toMatchObject({ code: 'CLOSED' });
    });
  });
}
