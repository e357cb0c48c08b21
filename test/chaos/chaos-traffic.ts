/**
 * The traffic that flows while the chaos suite breaks things: every client
 * sends poses, clients grab the room's toys from each other, clients leave
 * and come back, and each room's signed-in pinner uploads a file, spawns a
 * media object for it and pins it.
 * Uploads and pins the server acknowledged are recorded: they must survive
 * every fault that comes after.
 */
import { onTestFinished } from 'vitest';
import { pushReply } from '../support/clients.js';
import { uploadFile } from '../support/accounts-persist.js';
import { within } from '../support/wait.js';
import type { ChaosClient } from './chaos-clients.js';
import { seededRandom } from '../../src/core/random.js';

export interface AckedUpload {
  readonly fileId: string;
  readonly accessToken: string;
  readonly body: string;
}

export interface AckedPin {
  readonly sid: string;
  readonly objectId: string;
  readonly upload: AckedUpload;
}

export interface TrafficOptions {
  readonly tickMs: number;
  /** Each client sends one pose this often. */
  readonly poseEveryMs: number;
  /** Grabs per second over the whole swarm while churn is on. */
  readonly grabsPerSec: number;
  /** Clients that leave and come back, per second over the whole swarm, while churn is on. */
  readonly bouncesPerSec: number;
  /** Each room's pinner starts a pin this often (one at a time). */
  readonly pinEveryMs: number;
  readonly toysPerRoom: number;
  /** Seeds the choice of who grabs what, so a failing run can be replayed. */
  readonly seed: number;
}

export const toyId = (room: number, k: number) => `toy-${room}-${k}`;

export class Traffic {
  readonly uploads: AckedUpload[] = [];
  readonly pins: AckedPin[] = [];
  /** Grabs sent; pins and uploads tried and refused (expected while the database is away). */
  readonly counts = { poses: 0, grabs: 0, bounces: 0, pinsRefused: 0, uploadsRefused: 0 };
  /** Grabs and bounces, which change owners and members: off while the checks wait for both to settle. */
  isChurning = true;
  readonly #clients: readonly ChaosClient[];
  readonly #pinners: readonly ChaosClient[];
  readonly #opts: TrafficOptions;
  readonly #random: () => number;
  readonly #inFlight = new Set<Promise<void>>();
  /** Node indexes uploads may go to now. */
  readonly #upNodes: () => readonly { index: number; url: string }[];
  #timer: NodeJS.Timeout | undefined;
  #tick = 0;
  #grabCredit = 0;
  #bounceCredit = 0;
  #serial = 0;

  constructor(clients: readonly ChaosClient[], upNodes: () => readonly { index: number; url: string }[], opts: TrafficOptions) {
    this.#clients = clients;
    this.#pinners = clients.filter((c) => c.spec.authToken !== undefined);
    this.#upNodes = upNodes;
    this.#opts = opts;
    this.#random = seededRandom(opts.seed);
  }

  /** Each pinner spawns its room's toys. */
  spawnToys(): void {
    for (const pinner of this.#pinners) {
      for (let k = 0; k < this.#opts.toysPerRoom; k++) pinner.spawn(toyId(pinner.spec.room, k), '#interactable-media');
    }
  }

  /** Starts the traffic; it stops when the test ends, if `stop` was not called before. */
  start(): void {
    this.#timer = setInterval(() => this.#onTick(), this.#opts.tickMs);
    onTestFinished(() => this.stop());
  }

  /** Stops sending, closes every client, and waits a while for the pins in flight (an upload to a node frozen for good never ends). Idempotent. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    for (const client of this.#clients) client.close();
    await within(Promise.allSettled([...this.#inFlight]), 20_000, 'pins in flight').catch(() => undefined);
  }

  #onTick(): void {
    const tick = this.#tick++;
    const { tickMs, poseEveryMs, grabsPerSec, pinEveryMs } = this.#opts;
    const posePeriod = Math.max(1, Math.round(poseEveryMs / tickMs));
    for (const client of this.#clients) {
      if (client.spec.index % posePeriod !== tick % posePeriod || !client.isJoined) continue;
      client.sendPose(tick);
      this.counts.poses++;
    }
    if (this.isChurning) {
      this.#grabCredit += (grabsPerSec * tickMs) / 1000;
      for (; this.#grabCredit >= 1; this.#grabCredit--) this.#grabOne();
      this.#bounceCredit += (this.#opts.bouncesPerSec * tickMs) / 1000;
      for (; this.#bounceCredit >= 1; this.#bounceCredit--) this.#bounceOne();
    }
    const pinPeriod = Math.max(1, Math.round(pinEveryMs / tickMs));
    for (const pinner of this.#pinners) {
      if ((tick + pinner.spec.room) % pinPeriod !== 0 || this.#inFlight.size >= this.#pinners.length) continue;
      const work: Promise<void> = this.#pinOne(pinner).finally(() => this.#inFlight.delete(work));
      this.#inFlight.add(work);
    }
  }

  #grabOne(): void {
    const client = this.#clients[Math.floor(this.#random() * this.#clients.length)]!;
    const toy = toyId(client.spec.room, Math.floor(this.#random() * this.#opts.toysPerRoom));
    if (client.grab(toy, Date.now())) this.counts.grabs++;
  }

  #bounceOne(): void {
    const client = this.#clients[Math.floor(this.#random() * this.#clients.length)]!;
    // The pinner stays: its pins are the ones being counted.
    if (client.spec.authToken !== undefined || !client.isJoined) return;
    client.bounce();
    this.counts.bounces++;
  }

  /** Uploads to a running node, spawns the media object and pins it; records what was acknowledged. */
  async #pinOne(pinner: ChaosClient): Promise<void> {
    const nodes = this.#upNodes();
    const node = nodes[Math.floor(this.#random() * nodes.length)];
    if (!node || !pinner.isJoined) return;
    const n = this.#serial++;
    const body = `chaos upload ${n} of room ${pinner.spec.room}`;
    const uploaded = await uploadFile(node, Buffer.from(body), { promotion_mode: 'with_token' }).catch(() => undefined);
    if (!uploaded) {
      this.counts.uploadsRefused++;
      return;
    }
    const upload = { fileId: uploaded.file_id, accessToken: uploaded.meta.access_token, body };
    this.uploads.push(upload);
    if (!pinner.isJoined) return;
    const objectId = `media-${n}`;
    pinner.spawn(objectId, '#interactable-media', uploaded.origin);
    const gltfNode = { name: objectId, extensions: { HUBS_components: { media: { src: uploaded.origin, version: 1, id: objectId }, pinnable: { pinned: true } } } };
    const pin = { id: objectId, gltf_node: gltfNode, file_id: upload.fileId, file_access_token: upload.accessToken, promotion_token: uploaded.meta.promotion_token };
    const outcome = await pushReply(pinner.channel, 'pin', pin, 10_000).catch(() => undefined);
    if (outcome?.status === 'ok') this.pins.push({ sid: pinner.spec.sid, objectId, upload });
    else this.counts.pinsRefused++;
  }
}
