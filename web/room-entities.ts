/**
 * The room's networked entities for the page, made before the join: the
 * three.js world (web/world.ts, loaded once the person enters) draws them.
 */
import { NafEntities } from '../src/client/entities.js';
import type { HubClient } from '../src/client/hub-client.js';
import { measureClockOffset } from '../src/client/server-time.js';

/**
 * The entities of the room, listening before the join so that nothing sent
 * at the join (the server's entity state, everyone's first syncs for the
 * newcomer) is missed. The server's clock is measured meanwhile.
 */
export function prepareEntities(client: HubClient): NafEntities {
  let offset = 0;
  void measureClockOffset(location.href).then((measured) => {
    offset = measured;
  });
  return new NafEntities(client, { serverTime: () => Date.now() + offset });
}
