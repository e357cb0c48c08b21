/**
 * The HTTP API as the pages call it: JSON in and out, errors as the API
 * sends them (`{code, message}`), an account token as the bearer when given.
 */

/** A failed API call, with the API's error code when it sent one (`network` when the server was not reached). */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ApiInit {
  readonly method?: string;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** An account token, sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
}

/** Calls the API; resolves with the JSON body of a 2xx answer (`{}` when it has none), rejects with an ApiError otherwise. */
export async function callApi(path: string, init: ApiInit = {}): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.token !== undefined) headers['authorization'] = `Bearer ${init.token}`;
  let res: Response;
  try {
    res = await fetch(path, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
  } catch (err) {
    throw new ApiError(0, 'network', 'Could not reach the server. Check your connection and try again.', { cause: err });
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (res.ok) return isRecord(body) ? body : {};
  const code = isRecord(body) && typeof body['code'] === 'string' ? body['code'] : 'unexpected';
  const message = isRecord(body) && typeof body['message'] === 'string' ? body['message'] : `The server answered ${res.status}.`;
  throw new ApiError(res.status, code, message);
}
