/**
 * Uploads and downloads over real HTTP: sniffed types, encryption at rest,
 * tokens, byte ranges, the size cap and the expiry sweep.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { SystemClock } from '../../src/adapters/system-clock.js';
import type { HubmeshNode } from '../../src/main.js';
import type { Clock } from '../../src/ports/clock.js';
import { startTestNode } from '../support/node.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const MARKER = Buffer.from('THIS-PLAINTEXT-MUST-NEVER-BE-ON-DISK-0123456789');

interface Uploaded {
  file_id: string;
  origin: string;
  meta: { access_token: string; promotion_token: string | null; expected_content_type: string };
}

async function upload(node: HubmeshNode, bytes: Buffer, fields: Record<string, string> = {}, claimedType = 'text/html'): Promise<Response> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('media', new Blob([bytes], { type: claimedType }), 'upload.bin');
  return fetch(`${node.url}/api/v1/media`, { method: 'POST', body: form });
}

function pngOf(size: number): Buffer {
  const body = randomBytes(size - PNG_SIGNATURE.length - MARKER.length);
  return Buffer.concat([PNG_SIGNATURE, MARKER, body]);
}

async function filesOnDisk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

describe('media', () => {
  it('stores an upload encrypted, sniffs its type and serves it only with its token', async () => {
    const store = new MemoryStore();
    const node = await startTestNode({ adapters: { store } });
    const bytes = pngOf(200_000);
    const res = await upload(node, bytes, { promotion_mode: 'with_token' });
    expect(res.status).toBe(200);
    const up = (await res.json()) as Uploaded;
    expect(up.file_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(up.origin).toBe(`${node.url}/files/${up.file_id}.png`);
    expect(up.meta).toMatchObject({ expected_content_type: 'image/png', access_token: expect.stringMatching(/^[0-9a-f]{32}$/), promotion_token: expect.stringMatching(/^[0-9a-f]{32}$/) });

    const got = await fetch(`${up.origin}?token=${up.meta.access_token}`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
    const viaHeader = await fetch(up.origin, { headers: { authorization: `Token ${up.meta.access_token}` } });
    expect(Buffer.from(await viaHeader.arrayBuffer()).equals(bytes)).toBe(true);

    // No token, a wrong one, or a file that does not exist: the same 403.
    const refusals = await Promise.all([
      fetch(up.origin),
      fetch(`${up.origin}?token=${'0'.repeat(32)}`),
      fetch(`${node.url}/files/00000000-0000-4000-8000-000000000000.png?token=${up.meta.access_token}`),
    ]);
    expect(refusals.map((r) => r.status)).toEqual([403, 403, 403]);
    const bodies = await Promise.all(refusals.map((r) => r.text()));
    expect(new Set(bodies).size).toBe(1);

    // At rest: no plaintext, not even the marker, and only a hash of the token in the record.
    const record = await store.getFile(up.file_id);
    expect(JSON.stringify(record)).not.toContain(up.meta.access_token);
    const blobs = (await filesOnDisk(node.dataDir)).filter((f) => f.endsWith('.blob'));
    expect(blobs).toHaveLength(1);
    const onDisk = await readFile(blobs[0]!);
    expect(onDisk.includes(MARKER)).toBe(false);
    expect(onDisk.length).toBeGreaterThan(bytes.length);
  });

  it('serves single byte ranges, across chunk boundaries too, and refuses impossible ones', async () => {
    const node = await startTestNode();
    const bytes = pngOf(150_000);
    const up = (await (await upload(node, bytes)).json()) as Uploaded;
    const range = async (r: string) => fetch(`${up.origin}?token=${up.meta.access_token}`, { headers: { range: r } });
    for (const [header, start, end] of [
      ['bytes=10-99', 10, 100],
      ['bytes=65530-65545', 65530, 65546],
      ['bytes=-5', bytes.length - 5, bytes.length],
      ['bytes=131000-', 131000, bytes.length],
    ] as const) {
      const res = await range(header);
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end - 1}/${bytes.length}`);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(start, end))).toBe(true);
    }
    const bad = await range(`bytes=${bytes.length}-`);
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    const head = await fetch(`${up.origin}?token=${up.meta.access_token}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
    expect(head.headers.get('accept-ranges')).toBe('bytes');
  });

  it('types what it does not recognise as octet-stream, whatever the client claims', async () => {
    const node = await startTestNode();
    const up = (await (await upload(node, Buffer.from('<html><script>alert(1)</script></html>'), {}, 'text/html')).json()) as Uploaded;
    expect(up.meta.expected_content_type).toBe('application/octet-stream');
    expect(up.origin).toBe(`${node.url}/files/${up.file_id}`);
    const got = await fetch(`${up.origin}?token=${up.meta.access_token}`);
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(got.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('refuses uploads over the cap with 413 and leaves nothing behind', async () => {
    const store = new MemoryStore();
    const node = await startTestNode({ env: { HUBMESH_MAX_UPLOAD_BYTES: '100000' }, adapters: { store } });
    const res = await upload(node, pngOf(300_000));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe('payload_too_large');
    expect(await filesOnDisk(join(node.dataDir, 'files'))).toEqual([]);
    expect(await store.listExpiredFiles(new Date(Date.now() + 1e9), 10)).toEqual([]);
  });

  it('refuses a request without a media file', async () => {
    const node = await startTestNode();
    const form = new FormData();
    form.append('promotion_mode', 'with_token');
    const res = await fetch(`${node.url}/api/v1/media`, { method: 'POST', body: form });
    expect(res.status).toBe(422);
  });

  it('sweeps expired uploads and keeps promoted ones', async () => {
    const store = new MemoryStore();
    let offsetMs = 0;
    const system = new SystemClock();
    const clock: Clock = { now: () => Date.now() + offsetMs, setTimeout: (fn, ms) => system.setTimeout(fn, ms), setInterval: (fn, ms) => system.setInterval(fn, ms) };
    const node = await startTestNode({ env: { HUBMESH_UPLOAD_TTL_MS: '60000' }, adapters: { store, clock } });
    const kept = (await (await upload(node, pngOf(1000))).json()) as Uploaded;
    const gone = (await (await upload(node, pngOf(1000))).json()) as Uploaded;
    expect(await store.promoteFile(kept.file_id)).toBe(true);
    expect(await node.sweeper.sweep()).toBe(0);

    offsetMs = 61_000;
    expect(await node.sweeper.sweep()).toBe(1);
    expect((await fetch(`${gone.origin}?token=${gone.meta.access_token}`)).status).toBe(403);
    expect((await fetch(`${kept.origin}?token=${kept.meta.access_token}`)).status).toBe(200);
    const blobs = (await filesOnDisk(join(node.dataDir, 'files'))).map((f) => f.split('/').pop());
    expect(blobs).toEqual([`${kept.file_id}.blob`]);
  });
});
