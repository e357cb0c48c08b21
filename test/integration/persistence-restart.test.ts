/**
 * The acceptance test of persistence, as an operator runs hubmesh: a
 * `hubmesh serve` process on a PGlite data dir gets an upload pinned by a
 * signed-in admin, dies by SIGKILL, and a new process on the same data dir
 * still has everything: the pinned entity for a new joiner, objects.gltf,
 * the file (encrypted at rest, served only with its token), and after the
 * upload sweep the promoted file but not an unpromoted one.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createAccountWithCli, joinRecording, uploadFile } from '../support/accounts-persist.js';
import { pushReply } from '../support/clients.js';
import { createHub } from '../support/node.js';
import { startServe, type ServeProcess } from '../support/processes.js';
import { eventually, waitFor, within } from '../support/wait.js';

/** `hubmesh serve` on `dataDir`. */
function serve(dataDir: string, env: Record<string, string> = {}): Promise<ServeProcess> {
  return startServe({ HUBMESH_DATA_DIR: dataDir, HUBMESH_LOG_LEVEL: 'warn', ...env });
}

async function blobsUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && e.name.endsWith('.blob')).map((e) => joinPath(e.parentPath, e.name));
}

/** A few KB of text that no ciphertext contains by chance. */
function distinctivePlaintext(): Buffer {
  const marker = `HUBMESH-PLAINTEXT-MUST-NOT-BE-ON-DISK-${randomBytes(8).toString('hex')}\n`;
  return Buffer.from(marker.repeat(Math.ceil(4096 / marker.length)));
}

describe('persistence across a SIGKILLed process', () => {
  it('keeps pinned objects, their entity and their promoted file, and sweeps only unpromoted uploads', async () => {
    const dataDir = await mkdtemp(joinPath(tmpdir(), 'hubmesh-persist-'));
    onTestFinished(() => rm(dataDir, { recursive: true, force: true }));
    // Before any node: PGlite lets one process at a time open the data dir.
    const admin = await createAccountWithCli({ HUBMESH_DATA_DIR: dataDir, HUBMESH_LOG_LEVEL: 'warn' }, ['--admin', '--email', 'admin@example.org']);

    const first = await serve(dataDir);
    const sid = await createHub(first, 'Lasting');
    const plaintext = distinctivePlaintext();
    const kept = await uploadFile(first, plaintext, { promotion_mode: 'with_token' });
    const swept = await uploadFile(first, Buffer.from('nobody pins this upload'), { promotion_mode: 'with_token' });
    const a = await joinRecording(first, sid, 'admin', { account: admin });
    expect(a.reply['perms_token']).toEqual(expect.any(String));
    const gltfNode = {
      name: 'media-1',
      translation: [1, 2, 3],
      extensions: { HUBS_components: { media: { src: kept.origin, version: 1, contentSubtype: null, id: 'media-1' }, pinnable: { pinned: true } } },
    };
    a.channel.push('naf', {
      dataType: 'u',
      data: { networkId: 'media-1', owner: a.sessionId, creator: a.sessionId, lastOwnerTime: 100, template: '#interactable-media', persistent: true, parent: null, components: { 0: { x: 1, y: 2, z: 3 }, 1: kept.origin }, isFirstSync: true },
    });
    const pinned = await pushReply(a.channel, 'pin', { id: 'media-1', gltf_node: gltfNode, file_id: kept.file_id, file_access_token: kept.meta.access_token, promotion_token: kept.meta.promotion_token });
    expect(pinned).toEqual({ status: 'ok', response: {} });
    expect((await fetch(`${swept.origin}?token=${swept.meta.access_token}`)).status).toBe(200);

    first.child.kill('SIGKILL');
    await within(first.exited, 10_000, 'the first process to die');
    expect(first.child.signalCode).toBe('SIGKILL');

    // A tiny upload TTL: the sweep (every max(1 s, TTL/4)) finds the unpromoted upload expired at once.
    const second = await serve(dataDir, { HUBMESH_UPLOAD_TTL_MS: '1000' });

    const c = await joinRecording(second, sid, 'carol', { events: ['presence_state', 'naf'] });
    await waitFor(() => c.got.some((g) => g.event === 'naf'), 5000, 'the pinned entity at carol');
    expect(c.got.map((g) => g.event)).toEqual(['presence_state', 'naf']);
    expect(c.got[1]!.payload).toMatchObject({
      dataType: 'u',
      data: { networkId: 'media-1', owner: 'scene', persistent: true, template: '#interactable-media', isFirstSync: true, components: { 0: { x: 1, y: 2, z: 3 }, 1: kept.origin } },
    });

    const gltf = (await (await fetch(`${second.url}/${sid}/objects.gltf`)).json()) as { nodes: unknown[] };
    expect(gltf.nodes).toEqual([gltfNode]);

    // The origin names the first process; the file is served by whichever node now holds the data dir.
    const fileUrl = `${second.url}${new URL(kept.origin).pathname}`;
    const got = await fetch(`${fileUrl}?token=${kept.meta.access_token}`);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(plaintext)).toBe(true);
    expect((await fetch(fileUrl)).status).toBe(403);
    expect((await fetch(`${fileUrl}?token=${'0'.repeat(32)}`)).status).toBe(403);

    const keptBlob = (blobs: string[]) => blobs.some((b) => b.endsWith(`${kept.file_id}.blob`));
    const marker = plaintext.subarray(0, plaintext.indexOf('\n'));
    const blobs = await blobsUnder(joinPath(dataDir, 'files'));
    expect(keptBlob(blobs)).toBe(true);
    for (const blob of blobs) expect((await readFile(blob)).includes(marker), blob).toBe(false);

    // The sweep removes the upload nobody pinned, blob and record, and leaves the pinned one.
    const sweptBlob = (all: string[]) => all.some((b) => b.endsWith(`${swept.file_id}.blob`));
    await eventually(() => blobsUnder(joinPath(dataDir, 'files')), (all) => !sweptBlob(all), 10_000, 'the unpromoted upload to be swept');
    const sweptUrl = `${second.url}${new URL(swept.origin).pathname}?token=${swept.meta.access_token}`;
    await eventually(async () => (await fetch(sweptUrl)).status, (status) => status === 403, 5000, 'the unpromoted upload record to be gone');
    expect(keptBlob(await blobsUnder(joinPath(dataDir, 'files')))).toBe(true);
    const after = await fetch(`${fileUrl}?token=${kept.meta.access_token}`);
    expect(after.status).toBe(200);
    expect(Buffer.from(await after.arrayBuffer()).equals(plaintext)).toBe(true);
  });
});
