/**
 * The voices of the other sessions: one consumer per audio producer the SFU
 * offers (`newConsumer`), each playing through its own audio element, and
 * their levels for the speaking board. Consumers of video are refused: this
 * is a voice client, and a refused offer costs the SFU nothing (dialog and
 * hubmesh close the consumer without telling anyone).
 *
 * Close: a voice ends when the SFU says so (`consumerClosed`, `peerClosed`),
 * when its transport or track ends, or with `close()`, which ends them all;
 * ending one stops its element and silences its session once it has no
 * other voice.
 */
import type { Consumer, RtpParameters, Transport } from 'mediasoup-client/types';
import type { Payload } from '../../protocol/frames.js';
import type { AudioOutput, BrowserApi } from './browser-api.js';
import { LevelMeter, type SpeakingBoard, type StatsReport } from './speaking.js';
import { VoiceError } from './types.js';

interface Voice {
  readonly consumer: Consumer;
  readonly sessionId: string;
  readonly audio: AudioOutput;
  readonly meter: LevelMeter;
}

export interface RemoteVoicesDeps {
  readonly transport: Transport;
  readonly browser: BrowserApi;
  readonly board: SpeakingBoard;
  readonly reportError: (err: unknown) => void;
}

const text = (data: Payload, key: string): string => {
  const value = data[key];
  if (typeof value !== 'string' || value === '') throw new VoiceError('bad_request', `newConsumer: ${key} is missing`);
  return value;
};

export class RemoteVoices {
  readonly #deps: RemoteVoicesDeps;
  /** By consumer id. */
  readonly #voices = new Map<string, Voice>();
  /** The next `mid` for an offer without one; unique on the receive transport for its whole life. */
  #nextMid = 0;
  #isClosed = false;

  constructor(deps: RemoteVoicesDeps) {
    this.#deps = deps;
  }

  /** The sessions heard now (a live, unpaused voice). */
  sessions(): string[] {
    return [...new Set([...this.#voices.values()].filter((v) => !v.consumer.paused).map((v) => v.sessionId))];
  }

  /**
   * Answers `newConsumer` (parity 7.3): resolves once the consumer exists
   * here, which tells the SFU to start sending; rejects (a refusal to the
   * SFU) for video, malformed offers, or after close.
   */
  async accept(data: Payload): Promise<void> {
    if (data['kind'] !== 'audio') throw new VoiceError('unsupported', 'newConsumer: this client takes audio only');
    if (typeof data['rtpParameters'] !== 'object' || data['rtpParameters'] === null) throw new VoiceError('bad_request', 'newConsumer: rtpParameters is missing');
    const sessionId = text(data, 'peerId');
    const offered = data['rtpParameters'] as RtpParameters;
    // mediasoup gives every consumer of a transport its own mid. Without one, mediasoup-client numbers the m-section by
    // how many it has now, which repeats a closed voice's mid once one ended, and Chromium refuses the duplicate.
    const mid = `v${this.#nextMid++}`;
    const consumer = await this.#deps.transport.consume({
      id: text(data, 'id'),
      producerId: text(data, 'producerId'),
      kind: 'audio',
      rtpParameters: offered.mid === undefined ? { ...offered, mid } : offered,
      appData: { peerId: sessionId },
    });
    if (this.#isClosed) {
      consumer.close();
      throw new VoiceError('closed', 'newConsumer: the voice client closed');
    }
    // The SFU starts the consumer with its producer paused when the microphone is off; consumerResumed follows.
    if (data['producerPaused'] === true) consumer.pause();
    const voice: Voice = { consumer, sessionId, audio: this.#play(consumer), meter: new LevelMeter() };
    this.#voices.set(consumer.id, voice);
    consumer.on('transportclose', () => this.#end(voice));
    consumer.on('trackended', () => this.#end(voice));
  }

  closeConsumer(consumerId: string): void {
    const voice = this.#voices.get(consumerId);
    if (voice) this.#end(voice);
  }

  closeSession(sessionId: string): void {
    for (const voice of [...this.#voices.values()]) if (voice.sessionId === sessionId) this.#end(voice);
  }

  /** The producer of `consumerId` paused (its microphone went off) or resumed. */
  setPaused(consumerId: string, isPaused: boolean): void {
    const voice = this.#voices.get(consumerId);
    if (!voice || voice.consumer.closed) return;
    if (isPaused) {
      voice.consumer.pause();
      this.#deps.board.silence(voice.sessionId);
    } else {
      voice.consumer.resume();
    }
  }

  /** Reads the level of every live voice and hands the loudest of each session to the board. */
  async measure(nowMs: number): Promise<void> {
    const live = [...this.#voices.values()].filter((v) => !v.consumer.paused && !v.consumer.closed);
    const readings = await Promise.all(
      live.map(async (v) => {
        try {
          const report: StatsReport = await v.consumer.getStats();
          // Paused or ended while the stats were read: its voice was silenced meanwhile, and a level now would
          // mark it speaking again with nothing left to read that stops it.
          if (v.consumer.paused || v.consumer.closed || this.#voices.get(v.consumer.id) !== v) return null;
          return { sessionId: v.sessionId, level: v.meter.read(report, 'inbound-rtp') };
        } catch {
          // Closed while the stats were read: it has no level any more.
          return null;
        }
      }),
    );
    const loudest = new Map<string, number>();
    for (const r of readings) if (r) loudest.set(r.sessionId, Math.max(r.level, loudest.get(r.sessionId) ?? 0));
    if (this.#isClosed) return;
    for (const [sessionId, level] of loudest) this.#deps.board.observe(sessionId, level, nowMs);
  }

  /** Starts every element again; call it from a user gesture after `autoplay_blocked`. */
  async resumeAudio(): Promise<void> {
    await Promise.all([...this.#voices.values()].map((v) => v.audio.play()));
  }

  /** Ends every voice. Idempotent. */
  close(): void {
    this.#isClosed = true;
    for (const voice of [...this.#voices.values()]) this.#end(voice);
  }

  #play(consumer: Consumer): AudioOutput {
    const audio = this.#deps.browser.createAudio();
    audio.autoplay = true;
    audio.srcObject = this.#deps.browser.createStream([consumer.track]);
    audio.play().catch((err: unknown) => {
      // AbortError: the voice ended before it started playing.
      if (err instanceof Error && err.name === 'AbortError') return;
      const reason = err instanceof Error && err.name === 'NotAllowedError' ? 'autoplay_blocked' : 'playback_failed';
      this.#deps.reportError(new VoiceError(reason, `cannot play the voice of ${String(consumer.appData['peerId'])}`, { cause: err }));
    });
    return audio;
  }

  #end(voice: Voice): void {
    if (this.#voices.get(voice.consumer.id) !== voice) return;
    this.#voices.delete(voice.consumer.id);
    if (!voice.consumer.closed) voice.consumer.close();
    voice.audio.pause();
    voice.audio.srcObject = null;
    if (![...this.#voices.values()].some((v) => v.sessionId === voice.sessionId)) this.#deps.board.silence(voice.sessionId);
  }
}
