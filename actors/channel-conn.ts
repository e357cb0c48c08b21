/**
 * What a room actor needs of a client socket. The websocket layer implements
 * it; actors never see sockets, codecs or close codes.
 */
import type { OutFrame } from '../src/protocol/codec.js';

export interface ChannelConn {
  /** Unique per socket on this node. */
  readonly connId: string;
  readonly sessionId: string;
  /** The signed token that lets this session reconnect as itself. */
  readonly sessionToken: string;
  /** False once the socket has closed; frames sent after that are discarded. */
  readonly isOpen: boolean;
  /**
   * Queues a frame. It is written with everything else queued in the same
   * event-loop turn. A droppable frame is skipped while the socket is behind.
   */
  send(frame: OutFrame): void;
  /** True while the socket's channel on `topic` is the one joined as `joinRef`. */
  isJoined(topic: string, joinRef: string | null): boolean;
  /**
   * The channel on `topic` (joined as `joinRef`) ended on the server side:
   * `refused` after a join error reply, `closed` pushes phx_close, `errored`
   * pushes phx_error (the client rejoins). The socket stops routing the topic.
   * Does nothing if the socket has since re-joined the topic under another ref.
   */
  endChannel(topic: string, joinRef: string | null, how: 'refused' | 'closed' | 'errored'): void;
}
