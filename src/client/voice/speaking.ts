/**
 * Telling speech from silence, per session, from WebRTC statistics: a
 * remote voice from its receiver's `inbound-rtp`, the microphone from its
 * sender's `media-source`. Stats are read rather than a WebAudio analyser
 * because Chromium does not reliably feed remote WebRTC tracks into
 * WebAudio, and one mechanism for both keeps self and others comparable.
 *
 * The level of an interval is the RMS from the growth of `totalAudioEnergy`
 * over `totalSamplesDuration`, not the instantaneous `audioLevel`: a poll a
 * few times a second would otherwise miss short syllables (or the fake
 * microphone's short beeps) between two readings. Two thresholds and a hold
 * time keep the indicator from flickering between words.
 */
import type { Payload } from '../../protocol/frames.js';
import { isPayload } from '../wire.js';
import type { SpeakingOptions } from './types.js';

export const DEFAULT_SPEAKING_OPTIONS: SpeakingOptions = { intervalMs: 200, startLevel: 0.02, stopLevel: 0.01, holdMs: 800 };

/** An `RTCStatsReport`, as far as a level needs it. */
export interface StatsReport {
  forEach(callback: (stat: unknown) => void): void;
}

/** The audio level of one source, interval by interval. */
export class LevelMeter {
  #energy: number | null = null;
  #duration = 0;

  /**
   * The RMS level (0 to 1) since the previous reading, from the first stat
   * of `type` for audio in `report`. 0 when no audio played meanwhile (a
   * paused source) or the stat is missing; the first reading, having no
   * interval yet, takes the browser's `audioLevel`.
   */
  read(report: StatsReport, type: 'inbound-rtp' | 'media-source'): number {
    let stat: Payload | undefined;
    report.forEach((s) => {
      if (!stat && isPayload(s) && s['type'] === type && s['kind'] === 'audio') stat = s;
    });
    if (!stat) return 0;
    const energy = stat['totalAudioEnergy'];
    const duration = stat['totalSamplesDuration'];
    const audioLevel = typeof stat['audioLevel'] === 'number' ? stat['audioLevel'] : 0;
    if (typeof energy !== 'number' || typeof duration !== 'number') return audioLevel;
    const previous = this.#energy;
    const elapsed = duration - this.#duration;
    this.#energy = energy;
    this.#duration = duration;
    if (previous === null) return audioLevel;
    return elapsed > 0 && energy >= previous ? Math.sqrt((energy - previous) / elapsed) : 0;
  }
}

/** Whether one session speaks, with hysteresis and a hold. */
export class SpeakingDetector {
  readonly #opts: SpeakingOptions;
  #isSpeaking = false;
  #quietSince: number | null = null;

  constructor(opts: SpeakingOptions) {
    this.#opts = opts;
  }

  get isSpeaking(): boolean {
    return this.#isSpeaking;
  }

  /** Takes the level of the interval ending at `nowMs` (milliseconds); true when speaking changed. */
  update(level: number, nowMs: number): boolean {
    const { startLevel, stopLevel, holdMs } = this.#opts;
    if (level >= startLevel || (this.#isSpeaking && level >= stopLevel)) {
      this.#quietSince = null;
      if (this.#isSpeaking) return false;
      this.#isSpeaking = true;
      return true;
    }
    if (!this.#isSpeaking) return false;
    this.#quietSince ??= nowMs;
    if (nowMs - this.#quietSince < holdMs) return false;
    return this.stop();
  }

  /** Silent at once, without the hold (the source paused or went away); true when it was speaking. */
  stop(): boolean {
    this.#quietSince = null;
    if (!this.#isSpeaking) return false;
    this.#isSpeaking = false;
    return true;
  }
}

/** The detectors of every session, reporting each change to `onChange`. */
export class SpeakingBoard {
  readonly #opts: SpeakingOptions;
  readonly #onChange: (sessionId: string, isSpeaking: boolean) => void;
  readonly #detectors = new Map<string, SpeakingDetector>();

  constructor(opts: SpeakingOptions, onChange: (sessionId: string, isSpeaking: boolean) => void) {
    this.#opts = opts;
    this.#onChange = onChange;
  }

  /** The sessions speaking now. */
  speakers(): string[] {
    return [...this.#detectors].filter(([, d]) => d.isSpeaking).map(([id]) => id);
  }

  observe(sessionId: string, level: number, nowMs: number): void {
    let detector = this.#detectors.get(sessionId);
    if (!detector) {
      detector = new SpeakingDetector(this.#opts);
      this.#detectors.set(sessionId, detector);
    }
    if (detector.update(level, nowMs)) this.#onChange(sessionId, detector.isSpeaking);
  }

  /** `sessionId` is silent now (its voice paused or went away). */
  silence(sessionId: string): void {
    if (this.#detectors.get(sessionId)?.stop() === true) this.#onChange(sessionId, false);
  }

  /** Every session is silent now. */
  silenceAll(): void {
    for (const sessionId of this.#detectors.keys()) this.silence(sessionId);
  }
}
