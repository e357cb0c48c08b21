/**
 * The error catalogue: one stable code per expected failure, with the HTTP
 * status it maps to and the reason string that goes on the wire. Reasons that
 * Reticulum already sends keep Reticulum's spelling, because the Hubs client
 * matches on them (parity 2.4).
 */
export const ErrorCode = {
  HUB_NOT_FOUND: { http: 404, reason: 'not_found' },
  NOT_FOUND: { http: 404, reason: 'no_such_file' },
  NO_SUCH_BAN: { http: 404, reason: 'no_such_ban' },
  FORBIDDEN: { http: 403, reason: 'forbidden' },
  RANGE_NOT_SATISFIABLE: { http: 416, reason: 'range_not_satisfiable' },
  HUB_CLOSED: { http: 410, reason: 'closed' },
  JOIN_DENIED: { http: 403, reason: 'join_denied' },
  ROOM_FULL: { http: 409, reason: 'room_full' },
  OAUTH_REQUIRED: { http: 401, reason: 'oauth_required' },
  JOIN_CRASHED: { http: 500, reason: 'join crashed' },
  UNMATCHED_TOPIC: { http: 404, reason: 'unmatched topic' },
  TIMEOUT: { http: 504, reason: 'timeout' },
  NO_RESPONDERS: { http: 503, reason: 'no_responders' },
  BAD_REQUEST: { http: 422, reason: 'bad_request' },
  UNKNOWN_EVENT: { http: 400, reason: 'unknown_event' },
  NOT_IMPLEMENTED: { http: 501, reason: 'not_implemented' },
  UNAUTHORIZED: { http: 403, reason: 'unauthorized' },
  RATE_LIMITED: { http: 429, reason: 'rate_limited' },
  PAYLOAD_TOO_LARGE: { http: 413, reason: 'payload_too_large' },
  ENTITY_LIMIT: { http: 429, reason: 'entity_limit' },
  UNSUPPORTED_BINARY: { http: 415, reason: 'binary_not_supported' },
  ENTITY_EXISTS: { http: 409, reason: 'entity_state_already_exists' },
  ENTITY_MISSING: { http: 404, reason: 'entity_state_does_not_exist' },
  BANNED: { http: 403, reason: 'banned' },
  UNAUTHENTICATED: { http: 401, reason: 'unauthenticated' },
  NOT_SIGNED_IN: { http: 401, reason: 'not_logged_in' },
  SIGN_IN_FAILED: { http: 401, reason: 'invalid_token' },
  CONFIG_INVALID: { http: 500, reason: 'config_invalid' },
  PERSIST_FAILED: { http: 503, reason: 'persist_failed' },
  STORE_UNAVAILABLE: { http: 503, reason: 'store_unavailable' },
  CLOSED: { http: 503, reason: 'server_closed' },
  DRAINING: { http: 503, reason: 'draining' },
  INTERNAL: { http: 500, reason: 'internal' },
  UNKNOWN_METHOD: { http: 400, reason: 'unknown_method' },
  NOT_JOINED: { http: 409, reason: 'not_joined' },
  ALREADY_JOINED: { http: 409, reason: 'already_joined' },
  MEDIA_NOT_FOUND: { http: 404, reason: 'media_not_found' },
  TOO_MANY_TRANSPORTS: { http: 429, reason: 'too_many_transports' },
  TOO_MANY_PRODUCERS: { http: 429, reason: 'too_many_producers' },
  TOO_MANY_VIDEO_PRODUCERS: { http: 429, reason: 'too_many_video_producers' },
  SFU_FULL: { http: 503, reason: 'sfu_full' },
  TOO_MANY_CONNECTIONS: { http: 429, reason: 'too_many_connections' },
  TOO_MANY_CHANNELS: { http: 429, reason: 'too_many_channels' },
  REQUEST_TIMEOUT: { http: 408, reason: 'request_timeout' },
  HEADERS_TOO_LARGE: { http: 431, reason: 'header_overflow' },
} as const satisfies Record<string, { http: number; reason: string }>;

export type ErrorCodeName = keyof typeof ErrorCode;

/** An expected failure with a catalogued code. Lower-level causes go in `cause`. */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly details: object | undefined;

  constructor(
    readonly code: ErrorCodeName,
    message: string,
    opts?: ErrorOptions & { details?: object },
  ) {
    super(message, opts);
    this.details = opts?.details;
  }

  get http(): number {
    return ErrorCode[this.code].http;
  }

  get reason(): string {
    return ErrorCode[this.code].reason;
  }

  /** The Reticulum error-reply shape: `{reason, message, ...details}`. */
  toReply(): Record<string, unknown> {
    return { reason: this.reason, message: this.message, ...this.details };
  }
}

/** Maps anything thrown to an AppError; unknown errors become INTERNAL with the original as cause. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('INTERNAL', 'internal error', { cause: err });
}
