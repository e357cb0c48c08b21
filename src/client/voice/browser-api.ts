/**
 * The browser objects voice uses, typed by what it needs of them. The
 * project's root type check covers the server too and has no DOM library,
 * while the pages check this folder against the real DOM; so DOM types come
 * in only through mediasoup-client's declarations (tracks, stats), which
 * are the real ones in a page, and everything else is reached through
 * `globalThis` here.
 */
import type { Consumer } from 'mediasoup-client/types';
import { VoiceError } from './types.js';

/** A `MediaStreamTrack` in a page. */
export type AudioTrack = Consumer['track'];

/** Close codes below 4000 from the server are the WebSocket ones; 1006 means no close frame came. */
export const CLOSE_ABNORMAL = 1006;

export interface SignalingSocket {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  onclose: ((event: { readonly code: number }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SignalingSocketConstructor = new (url: string, protocols: string) => SignalingSocket;

/** An `HTMLAudioElement`. */
export interface AudioOutput {
  autoplay: boolean;
  srcObject: unknown;
  play(): Promise<void>;
  pause(): void;
}

interface LocalStream {
  getAudioTracks(): AudioTrack[];
  getTracks(): AudioTrack[];
}

export interface BrowserApi {
  readonly WebSocket: SignalingSocketConstructor;
  /** A new, detached audio element: it plays without being in the document. */
  createAudio(): AudioOutput;
  /** A `MediaStream` of `tracks`, for an element's `srcObject`. */
  createStream(tracks: AudioTrack[]): unknown;
  getUserMedia(constraints: { readonly audio: boolean }): Promise<LocalStream>;
}

interface Globals {
  readonly WebSocket?: SignalingSocketConstructor;
  readonly Audio?: new () => AudioOutput;
  readonly MediaStream?: new (tracks: AudioTrack[]) => unknown;
  readonly navigator?: { readonly mediaDevices?: { getUserMedia(constraints: { readonly audio: boolean }): Promise<LocalStream> } };
}

/** The browser's objects; rejects with VoiceError('unsupported') outside a browser that has them. */
export function browserApi(): BrowserApi {
  const g = globalThis as unknown as Globals;
  const { WebSocket, Audio, MediaStream } = g;
  const mediaDevices = g.navigator?.mediaDevices;
  if (!WebSocket || !Audio || !MediaStream) throw new VoiceError('unsupported', 'voice needs a browser with WebSocket, Audio and MediaStream');
  return {
    WebSocket,
    createAudio: () => new Audio(),
    createStream: (tracks) => new MediaStream(tracks),
    getUserMedia: (constraints) => {
      // Absent outside a secure context (http on anything but localhost or 127.0.0.1).
      if (!mediaDevices) return Promise.reject(new VoiceError('microphone_unavailable', 'no media devices here: the page must be served over https or from localhost'));
      return mediaDevices.getUserMedia(constraints);
    },
  };
}
