/**
 * The server's clock, as Hubs reads it (parity 2.11): from the `Date` header
 * of `HEAD` requests to the page. NAF's ownership times come from it, so two
 * clients whose own clocks disagree still order their claims alike. The
 * header counts whole seconds, so an offset under 1.5 s cannot be told from
 * the header's rounding and is taken as none.
 */
const SAMPLES = 3;
const TRUST_ABOVE_MS = 1500;

/** The offset to add to `Date.now()` to get the server's time; 0 when it cannot be measured. */
export async function measureClockOffset(url: string, fetchImpl: typeof fetch = fetch): Promise<number> {
  const offsets: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    try {
      const sentAt = Date.now();
      const res = await fetchImpl(url, { method: 'HEAD' });
      const receivedAt = Date.now();
      const date = Date.parse(res.headers.get('date') ?? '');
      // The header truncates to the second: its middle is the best guess.
      if (Number.isFinite(date)) offsets.push(date + 500 - (sentAt + receivedAt) / 2);
    } catch {
      // A sample that fails is skipped; none at all gives 0.
    }
  }
  if (offsets.length === 0) return 0;
  offsets.sort((a, b) => a - b);
  const median = offsets[Math.floor(offsets.length / 2)]!;
  return Math.abs(median) > TRUST_ABOVE_MS ? Math.round(median) : 0;
}
