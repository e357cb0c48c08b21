/**
 * The room page's 3D part, mounted once the person is in the room: the NAF
 * entities over the page's HubClient, the three.js world, the Spawn button
 * (shown with `spawn_and_move_media`, which the server asks of `-media`
 * templates) and the objects list. `window.hubmesh.scene()` returns what the
 * scene shows, for tests and for the curious.
 *
 * Lifecycle: `close()` stops the world and the entities; the page calls it
 * when the session ends (kicked, closed, refused).
 */
import type { NafEntities } from '../src/client/entities.js';
import type { HubClient } from '../src/client/hub-client.js';
import { byId } from './dom.js';
import { displayNameOf } from './people-panel.js';
import { World, type SceneSnapshot } from './scene/world.js';

export interface MountedWorld {
  readonly world: World;
  readonly entities: NafEntities;
  close(): void;
}

declare global {
  interface Window {
    hubmesh?: { readonly scene: () => SceneSnapshot | null };
  }
}

/** Starts the world for `client`, which has joined, on its `entities`. */
export function mountWorld(client: HubClient, entities: NafEntities): MountedWorld {
  const section = byId('world', HTMLElement);
  const spawnButton = byId('spawn-cube', HTMLButtonElement);
  const world = new World({
    client,
    entities,
    canvas: byId('scene', HTMLCanvasElement),
    objectsList: byId('objects', HTMLUListElement),
    status: byId('scene-status', HTMLParagraphElement),
    nameOf: (sessionId) => (sessionId === entities.me ? 'you' : displayNameOf(client.people.find((p) => p.sessionId === sessionId))),
  });
  const showSpawn = () => {
    spawnButton.hidden = !client.can('spawn_and_move_media');
  };
  spawnButton.addEventListener('click', () => world.spawnCube());
  const offPeople = client.on('people', () => {
    world.refreshNames();
    showSpawn();
  });
  section.hidden = false;
  showSpawn();
  world.start();
  window.hubmesh = { scene: () => world.snapshot() };
  let isClosed = false;
  return {
    world,
    entities,
    close() {
      if (isClosed) return;
      isClosed = true;
      offPeople();
      world.close();
      entities.close();
    },
  };
}
