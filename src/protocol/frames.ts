/**
 * Phoenix Channels frame types, wire event names and close codes
 * (parity 1.2-1.3). Everything here is data; the codec is in codec.ts.
 */

/** 1 = V1 JSON objects, 2 = V2 JSON arrays; chosen per socket from `vsn`. */
export type WireVersion = 1 | 2;

/** A JSON object payload, as the Phoenix serializer requires. */
export type Payload = Record<string, unknown>;

/** A decoded client frame. Fields are exactly the V2 array positions. */
export interface InFrame {
  readonly joinRef: string | null;
  readonly ref: string | null;
  readonly topic: string;
  readonly event: string;
  readonly payload: Payload;
  /** The frame's text as received, for a V2 frame (see `payloadText`). */
  readonly text?: string;
}

/** Events of the Phoenix lifecycle, spelled as on the wire. */
export const PhxEvent = {
  JOIN: 'phx_join',
  LEAVE: 'phx_leave',
  REPLY: 'phx_reply',
  CLOSE: 'phx_close',
  ERROR: 'phx_error',
  HEARTBEAT: 'heartbeat',
} as const;

/** The topic of socket-level messages (heartbeats). */
export const PHOENIX_TOPIC = 'phoenix';

/**
 * Websocket close codes this server sends. Phoenix JS reconnects after any
 * close that is not 1000, and Hubs leaves the room on 1000 (parity 1.4), so
 * 1000 is kept for "do not come back" (kick, idle timeout as cowboy does).
 */
export const CloseCode = {
  /** Kicked, or idle past the timeout. The client does not reconnect. */
  NORMAL: 1000,
  /** The node is shutting down or draining; the client reconnects elsewhere. */
  SERVER_SHUTDOWN: 1001,
  /** A binary frame that is not even a Phoenix binary push. */
  UNSUPPORTED_DATA: 1003,
  /** A frame that is not a Phoenix message at all (bad JSON, wrong shape, no ref to reply to), or nested past MAX_JSON_DEPTH. */
  MALFORMED_FRAME: 1007,
  /** Sustained flooding past the rate limit. */
  RATE_LIMITED: 1008,
  /** A frame larger than HUBMESH_MAX_FRAME_BYTES (sent by ws itself). */
  FRAME_TOO_LARGE: 1009,
  /** The socket fell too far behind on reliable traffic. */
  SLOW_CONSUMER: 1013,
} as const;

export type CloseCodeName = keyof typeof CloseCode;
