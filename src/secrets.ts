/**
 * Key material kept in the data directory: the node secret (signs session
 * tokens) and the RSA key that signs perms tokens. Each is generated on first
 * start and reused after, so tokens survive restarts.
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

async function readOrCreate(path: string, create: () => Promise<string>): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const value = await create();
  // 'wx' fails if another process created it first; then theirs wins.
  try {
    await writeFile(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
    return value;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return (await readFile(path, 'utf8')).trim();
  }
}

export interface NodeSecrets {
  readonly secret: string;
  readonly permsKeyPem: string;
}

export async function loadSecrets(dataDir: string, configuredSecret: string | undefined): Promise<NodeSecrets> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const secret = configuredSecret ?? (await readOrCreate(join(dataDir, 'secret'), async () => randomBytes(48).toString('base64url')));
  const permsKeyPem = await readOrCreate(join(dataDir, 'perms_key.pem'), async () => {
    const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
    return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  });
  return { secret, permsKeyPem };
}
