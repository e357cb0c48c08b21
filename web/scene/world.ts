/**
 * The room in 3D: a floor, everyone's avatar with a name tag, and the cubes
 * anyone can spawn, grab and carry. Each person's avatar and cubes are NAF
 * entities (src/client/entities.ts): we move ours and send their poses at
 * 15 Hz; the others' are drawn 100 ms behind, interpolated (pose-buffer.ts).
 *
 * Grabbing a cube someone else owns takes ownership of it; the cube turns the
 * grabber's colour and its tag names them, on every screen, which is how the
 * transfer shows. While we carry it, it stays in front of us.
 *
 * Moving: W/S or the up and down arrows walk, A/D step sideways, the left and
 * right arrows (or Q/E) turn, G grabs or drops the cube in front, C spawns a
 * cube; dragging on the view looks around, and clicking a cube grabs it.
 *
 * Without WebGL the view says so and everything else (people, chat, voice,
 * the objects list) keeps working; poses are still sent and received.
 *
 * Lifecycle: `close()` stops the frame loop, the listeners and the renderer.
 */
import { AmbientLight, Color, DirectionalLight, HemisphereLight, PerspectiveCamera, Raycaster, Scene, Vector2, WebGLRenderer } from 'three';
import type { NafEntities, NetworkedEntity } from '../../src/client/entities.js';
import type { HubClient } from '../../src/client/hub-client.js';
import { AvatarMesh, CubeMesh, makeFloor } from './meshes.js';
import { PoseBuffer } from './pose-buffer.js';
import { AVATAR_TEMPLATE, clampToFloor, CUBE_SIZE, CUBE_TEMPLATE, poseComponents, readHeld, readPose, spawnPose, type Pose, type SceneSnapshot } from './schema.js';

export type { SceneSnapshot };

const EYE_HEIGHT = 1.6;
const WALK_SPEED = 3;
const TURN_SPEED = 2;
const LOOK_PER_PIXEL = 0.005;
const MAX_PITCH = 1.2;
/** How far in front a carried cube floats, and how near one must be to grab it by key. */
const CARRY_DISTANCE = 1.4;
const GRAB_REACH = 3.5;
const MAX_CUBES_PER_PERSON = 5;
/** A pointer that moves less than this between down and up is a click, not a look. */
const CLICK_SLOP_PX = 4;

type Intent = 'forward' | 'back' | 'left' | 'right' | 'turnLeft' | 'turnRight';

const KEYS: Record<string, Intent> = {
  KeyW: 'forward',
  ArrowUp: 'forward',
  KeyS: 'back',
  ArrowDown: 'back',
  KeyA: 'left',
  KeyD: 'right',
  ArrowLeft: 'turnLeft',
  KeyQ: 'turnLeft',
  ArrowRight: 'turnRight',
  KeyE: 'turnRight',
};

interface Remote {
  readonly buffer: PoseBuffer;
}

interface AvatarView extends Remote {
  readonly entity: NetworkedEntity;
  readonly mesh: AvatarMesh;
}

interface CubeView extends Remote {
  readonly entity: NetworkedEntity;
  readonly mesh: CubeMesh;
}

export interface WorldOptions {
  readonly client: HubClient;
  readonly entities: NafEntities;
  readonly canvas: HTMLCanvasElement;
  /** The list of cubes with a grab/drop button each: the keyboard's way to every cube. */
  readonly objectsList: HTMLUListElement;
  /** Where the scene says what happened (a polite live region). */
  readonly status: HTMLElement;
  readonly nameOf: (sessionId: string) => string;
}

export class World {
  readonly #client: HubClient;
  readonly #entities: NafEntities;
  readonly #canvas: HTMLCanvasElement;
  readonly #objectsList: HTMLUListElement;
  readonly #status: HTMLElement;
  readonly #nameOf: (sessionId: string) => string;
  readonly #scene = new Scene();
  readonly #camera = new PerspectiveCamera(70, 16 / 9, 0.05, 100);
  readonly #renderer: WebGLRenderer | null;
  readonly #avatars = new Map<string, AvatarView>();
  readonly #cubes = new Map<string, CubeView>();
  readonly #speaking = new Set<string>();
  readonly #held = new Set<Intent>();
  readonly #cleanup: (() => void)[] = [];
  #self: Pose;
  #avatarId: string | null = null;
  /** The cube we carry, if any. */
  #carrying: string | null = null;
  #frame = 0;
  #frames = 0;
  #lastFrameAt = 0;
  #needsRender = true;
  #isClosed = false;

  constructor(opts: WorldOptions) {
    this.#client = opts.client;
    this.#entities = opts.entities;
    this.#canvas = opts.canvas;
    this.#objectsList = opts.objectsList;
    this.#status = opts.status;
    this.#nameOf = opts.nameOf;
    this.#self = spawnPose(opts.entities.me);
    this.#renderer = this.#makeRenderer();
    this.#scene.background = new Color(0x9fc5e8);
    this.#scene.add(makeFloor(), new HemisphereLight(0xffffff, 0x445544, 1.2), new AmbientLight(0xffffff, 0.3));
    const sun = new DirectionalLight(0xffffff, 1.4);
    sun.position.set(4, 10, 6);
    this.#scene.add(sun);
    this.#listen();
    for (const entity of this.#entities.all()) this.#onCreated(entity);
  }

  /** Puts our avatar in the room and starts drawing. */
  start(): void {
    this.#avatarId = this.#entities.create(AVATAR_TEMPLATE, poseComponents(this.#self)).networkId;
    this.#placeCamera();
    this.#lastFrameAt = performance.now();
    this.#frame = requestAnimationFrame((t) => this.#tick(t));
  }

  /** Spawns a cube a little in front of us; it is ours until someone grabs it. */
  spawnCube(): void {
    if (!this.#client.can('spawn_and_move_media')) return this.#say('Spawning objects is not allowed for you in this room.');
    const mine = [...this.#cubes.values()].filter((c) => c.entity.creator === this.#entities.me).length;
    if (mine >= MAX_CUBES_PER_PERSON) return this.#say(`You can have at most ${MAX_CUBES_PER_PERSON} cubes in the room.`);
    const { x, z } = this.#ahead(2);
    const pose = { x: clampToFloor(x), y: CUBE_SIZE / 2, z: clampToFloor(z), yaw: this.#self.yaw, pitch: 0 };
    this.#entities.create(CUBE_TEMPLATE, { ...poseComponents(pose), '2': { held: false } });
    this.#say('You spawned a cube. Press G near it to grab it.');
  }

  /** Grabs `networkId` (or the nearest cube in reach), or drops the cube we carry. */
  toggleGrab(networkId?: string): void {
    if (this.#carrying !== null && (networkId === undefined || networkId === this.#carrying)) return this.#drop();
    const target = networkId ?? this.#nearestCube();
    if (target === null) return this.#say('There is no cube within reach. Walk up to one, or use the objects list.');
    this.#grab(target);
  }

  setSpeaking(sessionId: string, isSpeaking: boolean): void {
    if (isSpeaking) this.#speaking.add(sessionId);
    else this.#speaking.delete(sessionId);
    for (const view of this.#avatars.values()) if (view.entity.owner === sessionId) view.mesh.setSpeaking(isSpeaking);
    this.#needsRender = true;
  }

  /** Names and tags follow the people list. */
  refreshNames(): void {
    for (const view of this.#avatars.values()) view.mesh.tag.setText(this.#nameOf(view.entity.owner));
    for (const view of this.#cubes.values()) this.#showCube(view);
    this.#renderObjects();
    this.#needsRender = true;
  }

  snapshot(): SceneSnapshot {
    const now = performance.now();
    return {
      isRendering: this.#renderer !== null,
      self: this.#self,
      avatars: [...this.#avatars.values()].map((v) => ({
        sessionId: v.entity.owner,
        name: this.#nameOf(v.entity.owner),
        shown: v.buffer.sample(now) ?? readPose(v.entity.components) ?? spawnPose(v.entity.owner),
        latest: readPose(v.entity.components),
        isSpeaking: this.#speaking.has(v.entity.owner),
      })),
      cubes: [...this.#cubes.values()].map((v) => ({
        networkId: v.entity.networkId,
        owner: v.entity.owner,
        ownerName: this.#nameOf(v.entity.owner),
        creator: v.entity.creator,
        isHeld: readHeld(v.entity.components),
        isMine: this.#entities.isMine(v.entity),
        shown: this.#cubePose(v, now),
      })),
      frames: this.#frames,
    };
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    cancelAnimationFrame(this.#frame);
    for (const off of this.#cleanup) off();
    for (const view of this.#avatars.values()) view.mesh.dispose();
    for (const view of this.#cubes.values()) view.mesh.dispose();
    this.#renderer?.dispose();
  }

  #makeRenderer(): WebGLRenderer | null {
    try {
      const renderer = new WebGLRenderer({ canvas: this.#canvas, antialias: true, powerPreference: 'low-power' });
      renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
      return renderer;
    } catch {
      this.#canvas.hidden = true;
      this.#say('The 3D view needs WebGL, which this browser does not offer. People, chat and voice still work.');
      return null;
    }
  }

  #listen(): void {
    const entities = this.#entities;
    this.#cleanup.push(
      entities.on('created', (e) => this.#onCreated(e)),
      entities.on('removed', (e) => this.#onRemoved(e)),
      entities.on('updated', (e, changed, isRemote) => this.#onUpdated(e, changed, isRemote)),
      entities.on('owner', (e, previous) => this.#onOwner(e, previous)),
    );
    const canvas = this.#canvas;
    const on = <K extends keyof HTMLElementEventMap>(type: K, listener: (event: HTMLElementEventMap[K]) => void) => {
      canvas.addEventListener(type, listener);
      this.#cleanup.push(() => canvas.removeEventListener(type, listener));
    };
    on('keydown', (event) => {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      const intent = KEYS[event.code];
      if (intent) {
        this.#held.add(intent);
        event.preventDefault();
      } else if (event.code === 'KeyG' && !event.repeat) {
        this.toggleGrab();
        event.preventDefault();
      } else if (event.code === 'KeyC' && !event.repeat) {
        this.spawnCube();
        event.preventDefault();
      }
    });
    on('keyup', (event) => {
      const intent = KEYS[event.code];
      if (intent) this.#held.delete(intent);
    });
    // Keys held while the view loses focus would keep walking.
    on('blur', () => this.#held.clear());
    let down: { x: number; y: number; id: number; moved: number } | null = null;
    on('pointerdown', (event) => {
      if (event.button !== 0) return;
      canvas.focus();
      canvas.setPointerCapture(event.pointerId);
      down = { x: event.clientX, y: event.clientY, id: event.pointerId, moved: 0 };
    });
    on('pointermove', (event) => {
      if (!down || event.pointerId !== down.id) return;
      const dx = event.clientX - down.x;
      const dy = event.clientY - down.y;
      down.moved += Math.abs(dx) + Math.abs(dy);
      down.x = event.clientX;
      down.y = event.clientY;
      this.#look(-dx * LOOK_PER_PIXEL, -dy * LOOK_PER_PIXEL);
    });
    on('pointerup', (event) => {
      if (!down || event.pointerId !== down.id) return;
      const wasClick = down.moved < CLICK_SLOP_PX;
      down = null;
      if (wasClick) this.#clickAt(event.offsetX, event.offsetY);
    });
    const resize = new ResizeObserver(() => this.#resize());
    resize.observe(canvas);
    this.#cleanup.push(() => resize.disconnect());
  }

  #resize(): void {
    const width = Math.max(1, this.#canvas.clientWidth);
    const height = Math.max(1, this.#canvas.clientHeight);
    this.#camera.aspect = width / height;
    this.#camera.updateProjectionMatrix();
    this.#renderer?.setSize(width, height, false);
    this.#needsRender = true;
  }

  #tick(now: number): void {
    if (this.#isClosed) return;
    const dt = Math.min(0.1, Math.max(0, (now - this.#lastFrameAt) / 1000));
    this.#lastFrameAt = now;
    this.#move(dt);
    this.#carry();
    for (const view of this.#avatars.values()) {
      const pose = view.buffer.sample(now) ?? readPose(view.entity.components);
      if (pose) view.mesh.place(pose.x, pose.y, pose.z, pose.yaw, pose.pitch);
      if (view.buffer.isMoving(now)) this.#needsRender = true;
    }
    for (const view of this.#cubes.values()) {
      const pose = this.#cubePose(view, now);
      view.mesh.root.position.set(pose.x, pose.y, pose.z);
      view.mesh.root.rotation.y = pose.yaw;
      if (view.buffer.isMoving(now)) this.#needsRender = true;
    }
    if (this.#needsRender && this.#renderer) {
      this.#needsRender = false;
      this.#renderer.render(this.#scene, this.#camera);
      this.#frames++;
    }
    this.#frame = requestAnimationFrame((t) => this.#tick(t));
  }

  #move(dt: number): void {
    if (this.#held.size === 0 || dt === 0) return;
    const walk = (this.#held.has('forward') ? 1 : 0) - (this.#held.has('back') ? 1 : 0);
    const strafe = (this.#held.has('right') ? 1 : 0) - (this.#held.has('left') ? 1 : 0);
    const turn = (this.#held.has('turnLeft') ? 1 : 0) - (this.#held.has('turnRight') ? 1 : 0);
    const { yaw } = this.#self;
    const step = WALK_SPEED * dt;
    const x = this.#self.x + (-Math.sin(yaw) * walk + Math.cos(yaw) * strafe) * step;
    const z = this.#self.z + (-Math.cos(yaw) * walk - Math.sin(yaw) * strafe) * step;
    this.#setSelf({ ...this.#self, x: clampToFloor(x), z: clampToFloor(z), yaw: yaw + turn * TURN_SPEED * dt });
  }

  #look(dYaw: number, dPitch: number): void {
    const pitch = Math.max(-MAX_PITCH, Math.min(MAX_PITCH, this.#self.pitch + dPitch));
    this.#setSelf({ ...this.#self, yaw: this.#self.yaw + dYaw, pitch });
  }

  #setSelf(pose: Pose): void {
    this.#self = pose;
    this.#placeCamera();
    if (this.#avatarId !== null) this.#entities.set(this.#avatarId, poseComponents(pose));
    this.#needsRender = true;
  }

  #placeCamera(): void {
    this.#camera.position.set(this.#self.x, this.#self.y + EYE_HEIGHT, this.#self.z);
    this.#camera.rotation.set(this.#self.pitch, this.#self.yaw, 0, 'YXZ');
  }

  /** The point `distance` metres ahead of us on the floor. */
  #ahead(distance: number): { x: number; z: number } {
    return { x: this.#self.x - Math.sin(this.#self.yaw) * distance, z: this.#self.z - Math.cos(this.#self.yaw) * distance };
  }

  /** Keeps the cube we carry in front of us, for as long as it is ours. */
  #carry(): void {
    if (this.#carrying === null) return;
    const view = this.#cubes.get(this.#carrying);
    if (!view || !this.#entities.isMine(view.entity)) {
      this.#carrying = null;
      this.#renderObjects();
      return;
    }
    const { x, z } = this.#ahead(CARRY_DISTANCE);
    const y = Math.max(CUBE_SIZE / 2, EYE_HEIGHT - 0.4 + Math.sin(this.#self.pitch) * CARRY_DISTANCE);
    const pose = { x: clampToFloor(x), y, z: clampToFloor(z), yaw: this.#self.yaw, pitch: 0 };
    this.#entities.set(view.entity.networkId, poseComponents(pose));
  }

  #grab(networkId: string): void {
    const view = this.#cubes.get(networkId);
    if (!view) return;
    if (this.#carrying !== null) this.#drop();
    const previous = view.entity.owner;
    if (!this.#entities.isMine(view.entity) && !this.#entities.takeOwnership(networkId)) return this.#say('You cannot grab that cube now.');
    this.#carrying = networkId;
    this.#entities.set(networkId, { '2': { held: true } });
    this.#showCube(view);
    this.#renderObjects();
    this.#say(previous === this.#entities.me ? 'You picked up the cube.' : `You took the cube from ${this.#nameOf(previous)}.`);
  }

  /** Puts the cube we carry down on the floor in front of us; it stays ours. */
  #drop(): void {
    const networkId = this.#carrying;
    this.#carrying = null;
    const view = networkId === null ? undefined : this.#cubes.get(networkId);
    if (view && this.#entities.isMine(view.entity)) {
      const { x, z } = this.#ahead(CARRY_DISTANCE);
      const pose = { x: clampToFloor(x), y: CUBE_SIZE / 2, z: clampToFloor(z), yaw: this.#self.yaw, pitch: 0 };
      this.#entities.set(view.entity.networkId, { ...poseComponents(pose), '2': { held: false } });
      this.#showCube(view);
      this.#say('You put the cube down.');
    }
    this.#renderObjects();
  }

  #nearestCube(): string | null {
    let best: string | null = null;
    let bestDistance = GRAB_REACH;
    const now = performance.now();
    for (const view of this.#cubes.values()) {
      const pose = this.#cubePose(view, now);
      const distance = Math.hypot(pose.x - this.#self.x, pose.z - this.#self.z);
      if (distance <= bestDistance) {
        best = view.entity.networkId;
        bestDistance = distance;
      }
    }
    return best;
  }

  #clickAt(x: number, y: number): void {
    const width = this.#canvas.clientWidth;
    const height = this.#canvas.clientHeight;
    if (width === 0 || height === 0) return;
    const ray = new Raycaster();
    ray.setFromCamera(new Vector2((x / width) * 2 - 1, -(y / height) * 2 + 1), this.#camera);
    const views = [...this.#cubes.values()];
    const hit = ray.intersectObjects(views.map((v) => v.mesh.box), false)[0];
    const view = hit && views.find((v) => v.mesh.box === hit.object);
    if (view) this.toggleGrab(view.entity.networkId);
  }

  /** Where a cube is drawn: as we set it when it is ours, interpolated when someone else moves it. */
  #cubePose(view: CubeView, now: number): Pose {
    const own = readPose(view.entity.components) ?? { x: 0, y: CUBE_SIZE / 2, z: 0, yaw: 0, pitch: 0 };
    if (this.#entities.isMine(view.entity)) return own;
    return view.buffer.sample(now) ?? own;
  }

  #onCreated(entity: NetworkedEntity): void {
    if (entity.template === AVATAR_TEMPLATE) {
      if (entity.owner === this.#entities.me || this.#avatars.has(entity.networkId)) return;
      const mesh = new AvatarMesh(entity.owner, this.#nameOf(entity.owner));
      const view = { entity, mesh, buffer: new PoseBuffer() };
      const pose = readPose(entity.components);
      if (pose) view.buffer.push(performance.now(), pose);
      mesh.setSpeaking(this.#speaking.has(entity.owner));
      this.#avatars.set(entity.networkId, view);
      this.#scene.add(mesh.root);
    } else if (entity.template === CUBE_TEMPLATE) {
      if (this.#cubes.has(entity.networkId)) return;
      const view = { entity, mesh: new CubeMesh(), buffer: new PoseBuffer() };
      const pose = readPose(entity.components);
      if (pose) view.buffer.push(performance.now(), pose);
      this.#cubes.set(entity.networkId, view);
      this.#scene.add(view.mesh.root);
      this.#showCube(view);
      this.#renderObjects();
    }
    this.#needsRender = true;
  }

  #onRemoved(entity: NetworkedEntity): void {
    const avatar = this.#avatars.get(entity.networkId);
    if (avatar) {
      this.#scene.remove(avatar.mesh.root);
      avatar.mesh.dispose();
      this.#avatars.delete(entity.networkId);
    }
    const cube = this.#cubes.get(entity.networkId);
    if (cube) {
      this.#scene.remove(cube.mesh.root);
      cube.mesh.dispose();
      this.#cubes.delete(entity.networkId);
      if (this.#carrying === entity.networkId) this.#carrying = null;
      this.#renderObjects();
    }
    this.#needsRender = true;
  }

  #onUpdated(entity: NetworkedEntity, changed: readonly string[], isRemote: boolean): void {
    const view = this.#avatars.get(entity.networkId) ?? this.#cubes.get(entity.networkId);
    if (!view) return;
    if (isRemote) {
      const pose = readPose(entity.components);
      if (pose) view.buffer.push(performance.now(), pose);
    }
    const cube = this.#cubes.get(entity.networkId);
    if (cube) {
      this.#showCube(cube);
      if (changed.includes('2')) this.#renderObjects();
    }
    this.#needsRender = true;
  }

  #onOwner(entity: NetworkedEntity, previous: string): void {
    const view = this.#cubes.get(entity.networkId);
    if (!view) return;
    const me = this.#entities.me;
    // Interpolation restarts from where the cube is now, whoever moves it next.
    const pose = readPose(entity.components);
    if (pose) view.buffer.push(performance.now(), pose);
    if (previous === me && entity.owner !== me) {
      if (this.#carrying === entity.networkId) this.#carrying = null;
      this.#say(`${this.#nameOf(entity.owner)} took your cube.`);
    }
    this.#showCube(view);
    this.#renderObjects();
    this.#needsRender = true;
  }

  #cubeLabel(view: CubeView): string {
    const owner = view.entity.owner === this.#entities.me ? 'you' : this.#nameOf(view.entity.owner);
    return readHeld(view.entity.components) ? `held by ${owner}` : `${owner} had it last`;
  }

  #showCube(view: CubeView): void {
    view.mesh.show(view.entity.owner, this.#cubeLabel(view), readHeld(view.entity.components));
  }

  /** The objects list: one item per cube, whose it is, and a button to grab or drop it. */
  #renderObjects(): void {
    const views = [...this.#cubes.values()].sort((a, b) => a.entity.networkId.localeCompare(b.entity.networkId));
    // A list redrawn under the keyboard's focus keeps it on the same cube's button.
    const focused = document.activeElement instanceof HTMLElement && this.#objectsList.contains(document.activeElement) ? document.activeElement.closest('li')?.dataset['networkId'] : undefined;
    const counts = new Map<string, number>();
    this.#objectsList.replaceChildren(
      ...views.map((view) => {
        const isOurs = view.entity.creator === this.#entities.me;
        const n = (counts.get(view.entity.creator) ?? 0) + 1;
        counts.set(view.entity.creator, n);
        const cube = `cube${n > 1 ? ` ${n}` : ''}`;
        const title = isOurs ? `Your ${cube}` : `${this.#nameOf(view.entity.creator)}'s ${cube}`;
        const spoken = isOurs ? `your ${cube}` : title;
        const item = document.createElement('li');
        item.dataset['networkId'] = view.entity.networkId;
        item.dataset['owner'] = view.entity.owner;
        const text = document.createElement('span');
        text.className = 'name';
        text.textContent = `${title}: ${this.#cubeLabel(view)}`;
        const isCarried = this.#carrying === view.entity.networkId;
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = isCarried ? 'Drop' : 'Grab';
        button.setAttribute('aria-label', `${isCarried ? 'Drop' : 'Grab'} ${spoken}`);
        button.addEventListener('click', () => this.toggleGrab(view.entity.networkId));
        item.append(text, button);
        return item;
      }),
    );
    if (focused !== undefined) this.#objectsList.querySelector<HTMLButtonElement>(`li[data-network-id="${CSS.escape(focused)}"] button`)?.focus();
  }

  #say(text: string): void {
    this.#status.textContent = text;
  }
}
