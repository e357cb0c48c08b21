/**
 * Voice for one session in one room, on the room's SFU (dialog's signaling,
 * parity 7), doing what the Hubs client's dialog adapter does for audio:
 * open the signaling socket as peer `<session id>` of room `<hub sid>`,
 * load a mediasoup-client Device with the router's capabilities, make a
 * send and a receive transport, and `join` with the relay's perms token.
 * The SFU then offers every other session's microphone (`newConsumer`),
 * which plays at once; this session's microphone is `setMicrophone`.
 *
 * Who is speaking, this session included, comes as `speaking` events keyed
 * by session id (see speaking.ts), read a few times a second while connected.
 *
 * Lifecycle: `connect()` once; the client ends for good with `close()`, the
 * SFU closing the socket (kick, mute is not one, room closed, a newer
 * connection of the same session) or the network (the `state` event says
 * which). Closing stops the timer, the microphone, every voice, the
 * transports and the socket, in that order; `close()` is idempotent and
 * `await using` calls it.
 */
import { Device, version as mediasoupVersion } from 'mediasoup-client';
import type { RtpCapabilities, Transport, TransportOptions } from 'mediasoup-client/types';
import type { Payload } from '../../protocol/frames.js';
import { errorReporter, TypedEmitter, type Listener } from '../emitter.js';
import type { HubView } from '../types.js';
import { browserApi, CLOSE_ABNORMAL, type BrowserApi } from './browser-api.js';
import { Microphone } from './microphone.js';
import { ProtooPeer } from './protoo-peer.js';
import { RemoteVoices } from './remote-voices.js';
import { DEFAULT_SPEAKING_OPTIONS, SpeakingBoard } from './speaking.js';
import { VoiceError, type MicrophoneState, type VoiceConnectOptions, type VoiceEvents, type VoiceState } from './types.js';

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The SFU base URL for a room, from the join reply's `host`/`port`
 * (`HubView`): `wss://` under an https page, `ws://` otherwise. A room with
 * no SFU known yet (host null) gets the page's own origin, where a node
 * running relay and SFU together answers.
 */
export function sfuUrlFor(hub: Pick<HubView, 'host' | 'port'>, pageUrl: string): string {
  const page = new URL(pageUrl);
  const scheme = page.protocol === 'https:' ? 'wss:' : 'ws:';
  if (hub.host === null) return `${scheme}//${page.host}`;
  const host = hub.host.includes(':') && !hub.host.startsWith('[') ? `[${hub.host}]` : hub.host;
  return `${scheme}//${host}${hub.port === null ? '' : `:${hub.port}`}`;
}

/** What connect() builds; all of it exists once connected. */
interface Session {
  readonly signaling: ProtooPeer;
  readonly microphone: Microphone;
  readonly voices: RemoteVoices;
}

export class VoiceClient {
  readonly #events = new TypedEmitter<VoiceEvents>((err) => this.#reportError(err));
  /** Errors nobody awaits (listeners that threw, refused consumers, failed playback) go to `error` listeners. */
  readonly #reportError = errorReporter((err) => this.#events.emit('error', err));
  readonly #board: SpeakingBoard;
  #state: VoiceState = { kind: 'idle' };
  #sessionId = '';
  #session: Session | null = null;
  #signaling: ProtooPeer | null = null;
  /** Every transport made, kept apart from the session so one made while closing is still closed. */
  readonly #transports: Transport[] = [];
  #timer: ReturnType<typeof setInterval> | null = null;
  #isMeasuring = false;

  constructor() {
    this.#board = new SpeakingBoard(DEFAULT_SPEAKING_OPTIONS, (sessionId, isSpeaking) => this.#events.emit('speaking', sessionId, isSpeaking));
  }

  get state(): VoiceState {
    return this.#state;
  }

  get microphone(): MicrophoneState {
    return this.#session?.microphone.state ?? 'off';
  }

  /** The sessions speaking now, this one included. */
  get speakers(): readonly string[] {
    return this.#board.speakers();
  }

  /** The other sessions whose voice plays now (not paused). */
  get listening(): readonly string[] {
    return this.#session?.voices.sessions() ?? [];
  }

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof VoiceEvents>(event: K, listener: Listener<VoiceEvents[K]>): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * Connects and joins; resolves once joined. Rejects with VoiceError: the
   * SFU's `invalid_token` or `join_denied` for a perms token it does not take,
   * `connect_failed`, `timeout`, `unsupported`, or `closed` when close()
   * came first. A failed connect leaves the client closed.
   */
  async connect(opts: VoiceConnectOptions): Promise<void> {
    if (this.#state.kind !== 'idle') throw new Error('VoiceClient.connect: one connection per client');
    this.#setState({ kind: 'connecting' });
    this.#sessionId = opts.sessionId;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const speaking = { ...DEFAULT_SPEAKING_OPTIONS, ...opts.speaking };
    try {
      const browser = browserApi();
      const url = new URL(opts.url);
      url.searchParams.set('roomId', opts.hubSid);
      url.searchParams.set('peerId', opts.sessionId);
      const signaling = await ProtooPeer.open(browser.WebSocket, url.toString(), timeoutMs, (err) => this.#reportError(err));
      this.#signaling = signaling;
      this.#assertOpen();
      signaling.on('close', (code, isLocal) => {
        if (!isLocal) this.#shutdown(code === CLOSE_ABNORMAL ? 'network' : 'server', code);
      });
      const session = await this.#prepare(signaling, browser);
      await signaling.request('join', {
        displayName: opts.displayName ?? opts.sessionId,
        device: { flag: 'hubmesh', name: session.device.handlerName, version: mediasoupVersion },
        rtpCapabilities: session.device.rtpCapabilities,
        // No sctpCapabilities: voice uses no data channels.
        token: opts.permsToken,
      });
      this.#assertOpen();
      this.#timer = setInterval(() => this.#measure(), speaking.intervalMs);
      this.#setState({ kind: 'connected' });
    } catch (err) {
      this.#shutdown('client', null);
      if (err instanceof VoiceError) throw err;
      throw new VoiceError('connect_failed', `voice could not start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /**
   * Turns this session's microphone on or off (see Microphone.set for the
   * refusals). Offer the toggle only when `HubClient.can('voice_chat')`: the
   * SFU refuses audio without it, but only after the browser opened the
   * microphone.
   */
  setMicrophone(isOn: boolean): Promise<void> {
    const session = this.#session;
    if (!session || this.#state.kind !== 'connected') return Promise.reject(new VoiceError('closed', 'setMicrophone: not connected'));
    return session.microphone.set(isOn);
  }

  /** Starts the voices again after `autoplay_blocked`; call it from a click or key press. */
  async resumeAudio(): Promise<void> {
    await this.#session?.voices.resumeAudio();
  }

  /** Leaves the SFU and releases everything. Idempotent. */
  async close(): Promise<void> {
    this.#shutdown('client', null);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Loads the device and makes both transports, the microphone and the voices: everything join needs. */
  async #prepare(signaling: ProtooPeer, browser: BrowserApi): Promise<Session & { readonly device: Device }> {
    const routerRtpCapabilities = (await signaling.request('getRouterRtpCapabilities')) as RtpCapabilities;
    let device: Device;
    try {
      device = await Device.factory();
      await device.load({ routerRtpCapabilities });
    } catch (err) {
      // No WebRTC handler for this browser, or no codec in common with the router.
      throw new VoiceError('unsupported', `this browser cannot use the SFU: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    this.#assertOpen();
    const [send, recv] = await Promise.all([this.#createTransport(signaling, device, 'send'), this.#createTransport(signaling, device, 'recv')]);
    this.#assertOpen();
    const reportError = (err: unknown) => this.#reportError(err);
    const opus = device.canProduce('audio') ? device.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === 'audio/opus') : undefined;
    const microphone = new Microphone({ transport: send, signaling, browser, opus, reportError, onState: (state) => this.#onMicrophone(state) });
    const voices = new RemoteVoices({ transport: recv, browser, board: this.#board, reportError });
    const session = { signaling, microphone, voices };
    this.#session = session;
    signaling.handleRequests((method, data) => (method === 'newConsumer' ? this.#accept(voices, data) : Promise.reject(new VoiceError('unknown_method', `${method} is not handled here`))));
    signaling.on('notification', (method, data) => this.#onNotification(session, method, data));
    return { ...session, device };
  }

  async #createTransport(signaling: ProtooPeer, device: Device, direction: 'send' | 'recv'): Promise<Transport> {
    const info = await signaling.request('createWebRtcTransport', { producing: direction === 'send', consuming: direction === 'recv' });
    if (typeof info['id'] !== 'string') throw new VoiceError('bad_response', 'createWebRtcTransport: no transport id');
    // mediasoup-client checks the ICE and DTLS parameters itself; no ICE servers: the SFU offers its own address.
    const options = { ...info, iceServers: [] } as unknown as TransportOptions;
    const transport = direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);
    this.#transports.push(transport);
    if (this.#state.kind === 'closed') transport.close();
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      signaling.request('connectWebRtcTransport', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
    });
    transport.on('connectionstatechange', (state) => {
      if (state !== 'failed' || this.#state.kind === 'closed') return;
      this.#reportError(new VoiceError('transport_failed', `the ${direction} transport lost its connection`));
      this.#shutdown('network', null);
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
        signaling.request('produce', { transportId: transport.id, kind, rtpParameters, appData }).then(({ id }) => callback({ id: String(id) }), errback);
      });
    }
    return transport;
  }

  /** Takes a voice the SFU offers; one that cannot be set up is refused to the SFU and reported (someone would go unheard). */
  async #accept(voices: RemoteVoices, data: Payload): Promise<void> {
    if (data['kind'] !== 'audio') throw new VoiceError('unsupported', 'newConsumer: this client takes audio only');
    try {
      await voices.accept(data);
    } catch (err) {
      if (this.#state.kind !== 'closed') this.#reportError(err);
      throw err;
    }
  }

  /** The SFU's notifications (parity 7.3) that concern voice; the rest (newPeer, scores, bandwidth) are not needed here. */
  #onNotification(session: Session, method: string, data: Payload): void {
    const id = (key: string) => (typeof data[key] === 'string' ? data[key] : '');
    switch (method) {
      case 'consumerClosed':
        return session.voices.closeConsumer(id('consumerId'));
      case 'consumerPaused':
      case 'consumerResumed':
        return session.voices.setPaused(id('consumerId'), method === 'consumerPaused');
      case 'peerClosed':
        return session.voices.closeSession(id('peerId'));
      case 'producerClosed':
        return session.microphone.closedByServer(id('producerId'));
      case 'consumerRefused':
        return this.#reportError(new VoiceError(id('reason') || 'refused', `the SFU cannot send the voice of ${id('peerId')} (${id('reason')})`));
      default:
        return;
    }
  }

  #onMicrophone(state: MicrophoneState): void {
    if (state !== 'on') this.#board.silence(this.#sessionId);
    this.#events.emit('microphone', state);
  }

  /** One reading of every level; skipped while the previous one is still out (slow stats). */
  #measure(): void {
    const session = this.#session;
    if (!session || this.#isMeasuring) return;
    this.#isMeasuring = true;
    const now = Date.now();
    const self = session.microphone.level().then((level) => {
      if (level !== null && this.#state.kind === 'connected') this.#board.observe(this.#sessionId, level, now);
    });
    Promise.all([self, session.voices.measure(now)])
      .catch((err: unknown) => this.#reportError(err))
      .finally(() => {
        this.#isMeasuring = false;
      });
  }

  #assertOpen(): void {
    if (this.#state.kind === 'closed') throw new VoiceError('closed', 'the voice client closed while connecting');
  }

  /** Releases whatever exists (again, when a connect under way made more since), and ends the state once; it says who ended it. */
  #shutdown(by: 'client' | 'server' | 'network', code: number | null): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#session?.microphone.close();
    this.#session?.voices.close();
    for (const t of this.#transports) if (!t.closed) t.close();
    this.#signaling?.close();
    if (this.#state.kind === 'closed') return;
    this.#board.silenceAll();
    this.#setState({ kind: 'closed', by, code });
  }

  #setState(state: VoiceState): void {
    this.#state = state;
    this.#events.emit('state', state);
  }
}
