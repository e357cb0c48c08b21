/**
 * The three.js objects of the room: the floor, an avatar (body, head, a visor
 * that shows where it looks, a name tag and a ring lit while its person
 * speaks) and a cube coloured by its owner, with a tag saying whose it is.
 */
import { BoxGeometry, CanvasTexture, Color, CylinderGeometry, GridHelper, Group, Mesh, MeshStandardMaterial, PlaneGeometry, SphereGeometry, Sprite, SpriteMaterial, SRGBColorSpace, TorusGeometry, type Object3D } from 'three';
import { CUBE_SIZE, FLOOR_HALF_SIZE, hueOf } from './schema.js';

const TAG_WIDTH = 512;
const TAG_HEIGHT = 96;

export function colorOf(sessionId: string, lightness = 0.55): Color {
  return new Color().setHSL(hueOf(sessionId) / 360, 0.6, lightness);
}

/** A sprite showing `text`, facing the camera. `setText` redraws it. */
export class TextTag {
  readonly sprite: Sprite;
  readonly #canvas = document.createElement('canvas');
  readonly #texture: CanvasTexture;
  #text = '';

  constructor(text: string, width = 1.6) {
    this.#canvas.width = TAG_WIDTH;
    this.#canvas.height = TAG_HEIGHT;
    this.#texture = new CanvasTexture(this.#canvas);
    this.#texture.colorSpace = SRGBColorSpace;
    this.sprite = new Sprite(new SpriteMaterial({ map: this.#texture, transparent: true, depthWrite: false }));
    this.sprite.scale.set(width, (width * TAG_HEIGHT) / TAG_WIDTH, 1);
    this.setText(text);
  }

  setText(text: string): void {
    if (text === this.#text) return;
    this.#text = text;
    const ctx = this.#canvas.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, TAG_WIDTH, TAG_HEIGHT);
    ctx.fillStyle = 'rgba(20, 20, 28, 0.75)';
    ctx.beginPath();
    ctx.roundRect(4, 4, TAG_WIDTH - 8, TAG_HEIGHT - 8, 24);
    ctx.fill();
    ctx.fillStyle = '#ffffff';
    ctx.font = '600 52px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    let shown = text;
    while (shown.length > 1 && ctx.measureText(shown).width > TAG_WIDTH - 40) shown = shown.slice(0, -2) + '…';
    ctx.fillText(shown, TAG_WIDTH / 2, TAG_HEIGHT / 2 + 2);
    this.#texture.needsUpdate = true;
  }

  dispose(): void {
    this.#texture.dispose();
    this.sprite.material.dispose();
  }
}

/** Frees the geometries and materials under `root`. */
export function disposeTree(root: Object3D): void {
  root.traverse((o) => {
    if (o instanceof Mesh) {
      o.geometry.dispose();
      const materials: unknown[] = Array.isArray(o.material) ? o.material : [o.material];
      for (const m of materials) if (m instanceof MeshStandardMaterial) m.dispose();
    }
  });
}

export function makeFloor(): Group {
  const group = new Group();
  const size = FLOOR_HALF_SIZE * 2;
  const floor = new Mesh(new PlaneGeometry(size, size), new MeshStandardMaterial({ color: 0x3b4a3f, roughness: 0.95 }));
  floor.rotation.x = -Math.PI / 2;
  const grid = new GridHelper(size, size, 0x9fb3a3, 0x5d6f61);
  grid.position.y = 0.002;
  group.add(floor, grid);
  return group;
}

export class AvatarMesh {
  readonly root = new Group();
  readonly tag: TextTag;
  readonly #head = new Group();
  readonly #ring: Mesh;

  constructor(sessionId: string, name: string) {
    const color = colorOf(sessionId);
    const body = new Mesh(new CylinderGeometry(0.25, 0.3, 1.1, 20), new MeshStandardMaterial({ color, roughness: 0.7 }));
    body.position.y = 0.55;
    const head = new Mesh(new SphereGeometry(0.22, 20, 14), new MeshStandardMaterial({ color: colorOf(sessionId, 0.75), roughness: 0.6 }));
    // The visor is on the -z side: the way the avatar looks.
    const visor = new Mesh(new BoxGeometry(0.3, 0.09, 0.08), new MeshStandardMaterial({ color: 0x111111, roughness: 0.3 }));
    visor.position.set(0, 0.03, -0.2);
    this.#head.add(head, visor);
    this.#head.position.y = 1.42;
    this.#ring = new Mesh(new TorusGeometry(0.42, 0.04, 8, 32), new MeshStandardMaterial({ color: 0x4ade80, emissive: 0x22c55e, emissiveIntensity: 0.8 }));
    this.#ring.rotation.x = Math.PI / 2;
    this.#ring.position.y = 0.05;
    this.#ring.visible = false;
    this.tag = new TextTag(name);
    this.tag.sprite.position.y = 1.95;
    this.root.add(body, this.#head, this.#ring, this.tag.sprite);
  }

  place(x: number, y: number, z: number, yaw: number, pitch: number): void {
    this.root.position.set(x, y, z);
    this.root.rotation.y = yaw;
    this.#head.rotation.x = pitch;
  }

  setSpeaking(isSpeaking: boolean): void {
    this.#ring.visible = isSpeaking;
  }

  dispose(): void {
    disposeTree(this.root);
    this.tag.dispose();
  }
}

export class CubeMesh {
  readonly root = new Group();
  readonly tag = new TextTag('', 1.4);
  readonly #box: Mesh<BoxGeometry, MeshStandardMaterial>;

  constructor() {
    this.#box = new Mesh(new BoxGeometry(CUBE_SIZE, CUBE_SIZE, CUBE_SIZE), new MeshStandardMaterial({ roughness: 0.4 }));
    this.tag.sprite.position.y = CUBE_SIZE / 2 + 0.3;
    this.root.add(this.#box, this.tag.sprite);
  }

  /** The mesh a pointer ray hits. */
  get box(): Mesh {
    return this.#box;
  }

  /** Colours the cube by its owner and glows while it is held. */
  show(owner: string, label: string, isHeld: boolean): void {
    this.#box.material.color.copy(colorOf(owner));
    this.#box.material.emissive.copy(isHeld ? colorOf(owner, 0.35) : new Color(0x000000));
    this.tag.setText(label);
  }

  dispose(): void {
    disposeTree(this.root);
    this.tag.dispose();
  }
}
