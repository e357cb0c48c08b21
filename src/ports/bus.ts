/**
 * The bus between relay nodes. Shaped by what rooms need: publish to a
 * subject, subscribe to a pattern, ask one question with a deadline, close.
 *
 * Semantics, which test/contract/bus.ts checks against every adapter:
 * - Subjects are dot-separated tokens. In a pattern, `*` matches exactly one
 *   token and `>` (last token only) one or more.
 * - Local delivery is the caller's business (the Phoenix model): a message
 *   reaches every matching subscription on every *other* node exactly once,
 *   and never the node that published it.
 * - Messages from one node arrive at each subscription in the order that node
 *   published them.
 * - `subscribe` resolves once the subscription is live on the bus: anything
 *   another node publishes after that reaches it.
 * - `request` reaches the subscriptions of other nodes like a publish, with a
 *   `respond` callback on the message; it resolves with the first response,
 *   and rejects with AppError('NO_RESPONDERS') when no other node subscribes
 *   to the subject, or AppError('TIMEOUT') when no response comes within
 *   `timeoutMs`.
 * - A handler that throws does not disturb delivery to anyone else.
 * - `close()` is idempotent; once it resolves no handler runs again, and every
 *   call rejects with AppError('CLOSED'). `unsubscribe()` is idempotent too.
 * - `isConnected` tells whether the node can reach the bus now. While it
 *   cannot, publishes are lost (the caller decides what that means) and
 *   subscriptions stay in place; `onReconnect` handlers run once the node is
 *   back, after subscriptions are live again.
 */
export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Present on requests: answers the requester. Only the first answer counts. */
  readonly respond?: (data: Uint8Array) => void;
}

export type BusHandler = (msg: BusMessage) => void;

export interface BusSubscription {
  unsubscribe(): Promise<void>;
}

export interface Bus {
  /** This node's id on the bus. */
  readonly nodeId: string;
  publish(subject: string, data: Uint8Array): Promise<void>;
  subscribe(pattern: string, handler: BusHandler): Promise<BusSubscription>;
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  readonly isConnected: boolean;
  onReconnect(handler: () => void): void;
  close(): Promise<void>;
}
