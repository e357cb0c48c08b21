/**
 * The Phoenix wire fixtures (test/fixtures/phoenix-frames.json), typed, and a
 * helper that unwraps a successful decode.
 */
import type { DecodeResult } from '../../src/protocol/codec.js';
import type { InFrame } from '../../src/protocol/frames.js';
import fixtures from '../fixtures/phoenix-frames.json' with { type: 'json' };

export type WireV2 = [joinRef: string | null, ref: string | null, topic: string, event: string, payload: Record<string, unknown>];

export const frames = {
  v2: fixtures.v2 as unknown as Record<keyof typeof fixtures.v2, WireV2>,
  v1: fixtures.v1,
};

export function expectOk(result: DecodeResult): InFrame {
  if (!result.ok) throw new Error(`expected ok, got ${result.reason}`);
  return result.frame;
}
