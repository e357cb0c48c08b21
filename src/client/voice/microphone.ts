/**
 * This session's microphone on the SFU: one Opus producer, made the first
 * time it is turned on, then paused and resumed (here, which silences the
 * track at once, and on the SFU with `pauseProducer`/`resumeProducer`, so
 * the others' consumers stop and they see `consumerPaused`). The track stays
 * open while paused, as in Hubs, so turning it on again is instant.
 *
 * A moderator's mute reaches this client as `producerClosed`: the SFU closed
 * the producer. The track is released and the state becomes `muted`; turning
 * the microphone on again makes a new producer.
 *
 * Calls to `set` run one after another, so a quick on-off-on ends where the
 * last call asked. Close: `close()` closes the producer and stops the track;
 * the SFU closes its side when the transport or the socket goes.
 */
import type { Producer, RtpCodecCapability, Transport } from 'mediasoup-client/types';
import type { AudioTrack, BrowserApi } from './browser-api.js';
import type { ProtooPeer } from './protoo-peer.js';
import { LevelMeter, type StatsReport } from './speaking.js';
import { VoiceError, type MicrophoneState } from './types.js';

export interface MicrophoneDeps {
  readonly transport: Transport;
  readonly signaling: ProtooPeer;
  readonly browser: BrowserApi;
  /** The device's Opus; undefined when it cannot send audio. */
  readonly opus: RtpCodecCapability | undefined;
  readonly onState: (state: MicrophoneState) => void;
  readonly reportError: (err: unknown) => void;
}

/** getUserMedia's failures by DOMException name; anything else is `microphone_unavailable`. */
function microphoneError(err: unknown): VoiceError {
  if (err instanceof VoiceError) return err;
  const name = err instanceof Error ? err.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') return new VoiceError('microphone_denied', 'the microphone was not allowed', { cause: err });
  return new VoiceError('microphone_unavailable', `no microphone: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

export class Microphone {
  readonly #deps: MicrophoneDeps;
  #state: MicrophoneState = 'off';
  #producer: Producer | null = null;
  #track: AudioTrack | null = null;
  #meter = new LevelMeter();
  #queue: Promise<void> = Promise.resolve();
  #isClosed = false;

  constructor(deps: MicrophoneDeps) {
    this.#deps = deps;
  }

  get state(): MicrophoneState {
    return this.#state;
  }

  /**
   * Turns the microphone on or off; resolves once the SFU agreed. Turning it
   * on rejects with VoiceError: the SFU's `unauthorized` without the
   * `voice_chat` permission (the track is released at once), `microphone_denied`
   * or `microphone_unavailable` from the browser, `unsupported` when the
   * browser cannot send Opus, `closed` after close.
   */
  set(isOn: boolean): Promise<void> {
    const run = this.#queue.then(() => (isOn ? this.#turnOn() : this.#turnOff()));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** The SFU closed `producerId`: a moderator muted this session. */
  closedByServer(producerId: string): void {
    if (this.#producer?.id !== producerId) return;
    this.#release();
    this.#setState('muted');
  }

  /** The level since the last reading while on; null while off. */
  async level(): Promise<number | null> {
    const producer = this.#producer;
    if (!producer || producer.closed || producer.paused) return null;
    try {
      const report: StatsReport = await producer.getStats();
      // Turned off while the stats were read: it was silenced meanwhile, and a level now would mark it speaking again.
      if (producer !== this.#producer || producer.closed || producer.paused) return null;
      return this.#meter.read(report, 'media-source');
    } catch {
      return null;
    }
  }

  /** Closes the producer and releases the microphone; the state becomes `off`. Idempotent. */
  close(): void {
    this.#isClosed = true;
    this.#release();
    this.#setState('off');
  }

  async #turnOn(): Promise<void> {
    if (this.#isClosed) throw new VoiceError('closed', 'the voice client is closed');
    const producer = this.#producer;
    if (producer && !producer.closed) {
      if (!producer.paused) return;
      producer.resume();
      try {
        await this.#deps.signaling.request('resumeProducer', { producerId: producer.id });
      } catch (err) {
        if (!producer.closed) producer.pause();
        throw err;
      }
      return this.#setState('on');
    }
    await this.#produce();
    this.#setState('on');
  }

  async #produce(): Promise<void> {
    if (!this.#deps.opus) throw new VoiceError('unsupported', 'this browser cannot send Opus');
    const stream = await this.#deps.browser.getUserMedia({ audio: true }).catch((err: unknown) => {
      throw microphoneError(err);
    });
    const [track, ...others] = stream.getAudioTracks();
    for (const other of others) other.stop();
    if (!track) throw new VoiceError('microphone_unavailable', 'the microphone gave no audio track');
    try {
      if (this.#isClosed) throw new VoiceError('closed', 'the voice client is closed');
      // stopTracks false: the track is ours to stop (on close, mute, or a refused produce).
      const producer = await this.#deps.transport.produce({ track, codec: this.#deps.opus, stopTracks: false, appData: { source: 'microphone' } });
      if (this.#isClosed) {
        producer.close();
        throw new VoiceError('closed', 'the voice client is closed');
      }
      this.#producer = producer;
      this.#track = track;
      this.#meter = new LevelMeter();
      producer.on('transportclose', () => this.#ended(producer));
      producer.on('trackended', () => {
        this.#ended(producer);
        this.#deps.reportError(new VoiceError('microphone_unavailable', 'the microphone stopped'));
      });
    } catch (err) {
      track.stop();
      throw err;
    }
  }

  async #turnOff(): Promise<void> {
    const producer = this.#producer;
    if (!producer || producer.closed) {
      if (this.#state === 'muted') this.#setState('off');
      return;
    }
    if (producer.paused) return;
    // Silent here at once; the SFU's pause only stops the packets.
    producer.pause();
    this.#setState('off');
    try {
      await this.#deps.signaling.request('pauseProducer', { producerId: producer.id });
    } catch (err) {
      // A producer the SFU closed meanwhile (a mute) needs no pause.
      if (!producer.closed && this.#producer === producer) this.#deps.reportError(err);
    }
  }

  /** The producer ended on its own (transport closed, track ended): off, and the SFU is told. */
  #ended(producer: Producer): void {
    if (this.#producer !== producer) return;
    this.#release();
    this.#deps.signaling.request('closeProducer', { producerId: producer.id }).catch(() => undefined);
    this.#setState('off');
  }

  #release(): void {
    this.#producer?.close();
    this.#producer = null;
    this.#track?.stop();
    this.#track = null;
  }

  #setState(state: MicrophoneState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#deps.onState(state);
  }
}
