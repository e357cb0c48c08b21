// The server side of `npm run bench:sfu`: the SFU alone, as `hubmesh serve
// --role sfu` runs it (startSfuNode: the werift engine behind the protoo
// signaling service), on 127.0.0.1. It admits perms tokens signed with the
// perms key in its data directory, which the bench writes there first.
// Prints `LISTEN ws://127.0.0.1:<port>` when ready and shuts down in order on
// SIGTERM.
//
//   node ops/bench/sfu-server.mjs --data-dir <dir with perms_key.pem> [--max-consumers 2000]
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../../dist/src/config.js';
import { startSfuNode } from '../../dist/src/main.js';

const { values: o } = parseArgs({ options: { 'data-dir': { type: 'string' }, 'max-consumers': { type: 'string', default: '2000' } } });
if (!o['data-dir']) throw new Error('--data-dir is required');
const config = loadConfig({
  HUBMESH_ROLE: 'sfu',
  HUBMESH_HOST: '127.0.0.1',
  HUBMESH_SFU_PORT: '0',
  HUBMESH_SFU_ANNOUNCED_IP: '127.0.0.1',
  HUBMESH_DATA_DIR: o['data-dir'],
  HUBMESH_LOG_LEVEL: 'warn',
  HUBMESH_DRAIN_GRACE_MS: '0',
  HUBMESH_SFU_MAX_CONSUMERS: o['max-consumers'],
  // Every consumer peer of the load generators connects from 127.0.0.1.
  HUBMESH_MAX_CONNECTIONS_PER_IP: '1000000',
});
// Logs go to stderr: stdout carries only the LISTEN line.
const node = await startSfuNode(config, { logger: pino({ level: 'warn' }, pino.destination(2)) });
process.stdout.write(`LISTEN ${node.url}\n`);
process.once('SIGTERM', async () => {
  await node.close();
  process.exit(0);
});
