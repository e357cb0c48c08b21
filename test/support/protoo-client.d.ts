/** The part of protoo-client 4 (CommonJS, no types of its own) that the Node tests and the browser test page use. */
declare module 'protoo-client' {
  export interface RetryOptions {
    readonly retries?: number;
    readonly factor?: number;
    readonly minTimeout?: number;
    readonly maxTimeout?: number;
  }

  export class WebSocketTransport {
    constructor(url: string, options?: { readonly retry?: RetryOptions });
    readonly closed: boolean;
    close(): void;
  }

  export interface ProtooRequest {
    readonly id: number;
    readonly method: string;
    readonly data: unknown;
  }

  export interface ProtooNotification {
    readonly method: string;
    readonly data: unknown;
  }

  /** Rejections are Errors with the response's `errorReason` as message and its `errorCode` as `code`. */
  export class Peer {
    constructor(transport: WebSocketTransport);
    readonly closed: boolean;
    readonly connected: boolean;
    request(method: string, data?: unknown): Promise<unknown>;
    notify(method: string, data?: unknown): Promise<void>;
    close(): void;
    on(event: 'open' | 'disconnected' | 'close', listener: () => void): this;
    on(event: 'failed', listener: (currentAttempt: number) => void): this;
    on(event: 'request', listener: (request: ProtooRequest, accept: (data?: unknown) => void, reject: (code: number | Error, reason?: string) => void) => void): this;
    on(event: 'notification', listener: (notification: ProtooNotification) => void): this;
  }
}
