/**
 * A room's link to the other nodes holding it, over the bus subject
 * `hub.<sid>.m`. Each envelope gets this node's next number for the room;
 * the envelopes queued until the next flush go out together as one bus message
 * (src/core/mesh.ts), so a busy room pays the bus's per-message cost once per
 * flush rather than once per broadcast, and the batches of every room of the
 * node are published in one pass (`LinkFlusher`). Order is kept: batches go out in the
 * order they were made, and envelopes in a batch in the order they were
 * published.
 *
 * Anything published for another subject that must not overtake the room's
 * envelopes (a room command) calls `flush()` first; so does the registry
 * before it stops listening to the room.
 */
import { EnvelopeWriter, type EnvelopeBody } from '../src/core/mesh.js';
import type { Bus } from '../src/ports/bus.js';
import type { RoomLink } from './hub/room.js';

/**
 * Publishes the batches of every room of a node in one pass, so the bus
 * client writes them to its socket together: on the next turn, or after
 * `delayMs()` when that is above 0 (a busy node waits, as its socket writes
 * do, so each publish carries more).
 */
export class LinkFlusher {
  #dirty = new Set<BusRoomLink>();
  #isScheduled = false;

  constructor(private readonly delayMs: () => number = () => 0) {}

  mark(link: BusRoomLink): void {
    this.#dirty.add(link);
    if (this.#isScheduled) return;
    this.#isScheduled = true;
    const delay = this.delayMs();
    if (delay > 0) setTimeout(this.#run, delay).unref();
    else setImmediate(this.#run);
  }

  #run = (): void => {
    this.#isScheduled = false;
    const dirty = this.#dirty;
    this.#dirty = new Set();
    for (const link of dirty) link.flush();
  };
}

export interface BusRoomLinkDeps {
  readonly bus: Bus;
  readonly flusher: LinkFlusher;
  readonly subject: string;
  readonly nodeId: string;
  /** The number of the last envelope this node published in the room (from the state it adopted). */
  readonly lastSeq: number;
  /** Called when a batch could not be published. */
  onError(err: unknown): void;
}

export class BusRoomLink implements RoomLink {
  #seq: number;
  readonly #pending: EnvelopeWriter;

  constructor(private readonly deps: BusRoomLinkDeps) {
    this.#seq = deps.lastSeq;
    this.#pending = new EnvelopeWriter(deps.nodeId);
  }

  /** The number of the last envelope published (or queued to be). */
  get seq(): number {
    return this.#seq;
  }

  publish(body: EnvelopeBody, payloadJson?: string): void {
    this.#seq++;
    if (this.#pending.isEmpty) this.deps.flusher.mark(this);
    this.#pending.add(this.#seq, body, payloadJson);
  }

  /** Publishes what is queued now. */
  flush(): void {
    if (this.#pending.isEmpty) return;
    this.deps.bus.publish(this.deps.subject, this.#pending.take()).catch((err: unknown) => this.deps.onError(err));
  }
}
