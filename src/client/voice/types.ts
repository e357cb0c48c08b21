/**
 * What the voice client hands its user: its options, states and events, and
 * the one error type its promises reject with. Reasons are the SFU's wire
 * reasons (`errorReason` up to the colon, see sfu/protoo.ts) where the
 * server refused, and the client's own for what failed in the page.
 */

export interface VoiceConnectOptions {
  /**
   * Where the room's SFU answers: `ws(s)://host:port`, from the join reply's
   * `host` and `port` (see `sfuUrlFor`). A path, if any, is kept; the
   * client adds `?roomId=<hubSid>&peerId=<sessionId>`.
   */
  readonly url: string;
  readonly hubSid: string;
  /** The relay's session id: the SFU's peer id, and the key of `speaking` events. */
  readonly sessionId: string;
  /** The perms token of the relay's join reply; the SFU reads it once, at `join`. */
  readonly permsToken: string;
  /** Shown to other SFU peers; Hubs sends the session id. */
  readonly displayName?: string;
  /** How long each signaling request, and opening the socket, may take, in milliseconds. */
  readonly timeoutMs?: number;
  readonly speaking?: Partial<SpeakingOptions>;
}

/**
 * How speech is told from silence. Levels are linear (0 to 1, full scale),
 * measured as the RMS of the audio over each poll interval.
 */
export interface SpeakingOptions {
  /** How often levels are read, in milliseconds. */
  readonly intervalMs: number;
  /** A level at or above this starts speaking. */
  readonly startLevel: number;
  /** Speaking stops once the level stayed below this for `holdMs`. */
  readonly stopLevel: number;
  /** Longer than the gaps between words, so the indicator does not flicker. */
  readonly holdMs: number;
}

/**
 * - `idle`: not connected yet;
 * - `connecting`: opening the signaling socket, transports and joining;
 * - `connected`: joined; remote voices play, the microphone may be turned on;
 * - `closed`: for good. `by` says who ended it: `client` (close(), or a
 *   failed connect), `server` (a close frame: kicked, replaced by another
 *   connection of the same session, the room closed, the SFU going away) or
 *   `network` (the socket or a media transport dropped). The client does not
 *   reconnect: make a new one, after `get_host` if the SFU may have moved.
 */
export type VoiceState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'connecting' }
  | { readonly kind: 'connected' }
  | { readonly kind: 'closed'; readonly by: 'client' | 'server' | 'network'; readonly code: number | null };

/**
 * - `off`: not sending (never turned on, or turned off);
 * - `on`: sending;
 * - `muted`: a moderator muted this session: the SFU closed the microphone's
 *   producer, and the microphone is released. Turning it on again is allowed
 *   (a mute is a request, as in Reticulum).
 */
export type MicrophoneState = 'off' | 'on' | 'muted';

export type VoiceEvents = {
  state: [VoiceState];
  microphone: [MicrophoneState];
  /** A session (this one included) started or stopped speaking; keyed by session id. */
  speaking: [sessionId: string, isSpeaking: boolean];
  /** Something went wrong that no promise reports (a refused consumer, a failed playback, a listener that threw). */
  error: [unknown];
};

/**
 * The client's own reasons, beside the SFU's (`unauthorized`,
 * `invalid_token`, `join_denied`, `too_many_producers`, `sfu_full`, ...):
 * - `connect_failed`: the signaling socket did not open;
 * - `timeout`: no answer in time;
 * - `refused`: the server refused without a reason this client can read;
 * - `closed`: the client or its socket closed first;
 * - `microphone_denied`, `microphone_unavailable`: getUserMedia failed;
 * - `unsupported`: this browser cannot send or receive Opus;
 * - `autoplay_blocked`: a voice cannot play until the page gets a user
 *   gesture (call `resumeAudio()` from one);
 * - `playback_failed`: a voice could not play for another reason;
 * - `transport_failed`: a media transport lost its connection.
 */
export const VOICE_CLIENT_REASONS = ['connect_failed', 'timeout', 'refused', 'closed', 'microphone_denied', 'microphone_unavailable', 'unsupported', 'autoplay_blocked', 'playback_failed', 'transport_failed'] as const;
export type VoiceClientReason = (typeof VOICE_CLIENT_REASONS)[number];

/** A failure of the voice client: `reason` is one of VOICE_CLIENT_REASONS or the SFU's reason. */
export class VoiceError extends Error {
  override readonly name = 'VoiceError';

  constructor(
    readonly reason: VoiceClientReason | (string & {}),
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
