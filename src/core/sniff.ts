/**
 * The content type of an upload, from its first bytes, never from what the
 * client claims. Only types a room shows are recognised; anything else is
 * served as application/octet-stream, so an upload cannot become a page.
 */
const SIGNATURES: readonly (readonly [string, readonly (number | null)[], number?])[] = [
  ['image/png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['image/jpeg', [0xff, 0xd8, 0xff]],
  ['image/gif', [0x47, 0x49, 0x46, 0x38]],
  ['image/webp', [0x52, 0x49, 0x46, 0x46, null, null, null, null, 0x57, 0x45, 0x42, 0x50]],
  ['audio/wav', [0x52, 0x49, 0x46, 0x46, null, null, null, null, 0x57, 0x41, 0x56, 0x45]],
  ['model/gltf-binary', [0x67, 0x6c, 0x54, 0x46]],
  ['application/pdf', [0x25, 0x50, 0x44, 0x46, 0x2d]],
  ['video/webm', [0x1a, 0x45, 0xdf, 0xa3]],
  ['audio/ogg', [0x4f, 0x67, 0x67, 0x53]],
  ['audio/mpeg', [0x49, 0x44, 0x33]],
  ['video/mp4', [0x66, 0x74, 0x79, 0x70], 4],
];

export const SNIFF_BYTES = 16;

export function sniffContentType(head: Uint8Array): string {
  for (const [type, signature, offset = 0] of SIGNATURES) {
    if (head.length < offset + signature.length) continue;
    if (signature.every((b, i) => b === null || head[offset + i] === b)) return type;
  }
  return 'application/octet-stream';
}

const EXTENSIONS: Readonly<Record<string, string>> = {
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/gif': '.gif',
  'image/webp': '.webp',
  'audio/wav': '.wav',
  'model/gltf-binary': '.glb',
  'application/pdf': '.pdf',
  'video/webm': '.webm',
  'audio/ogg': '.ogg',
  'audio/mpeg': '.mp3',
  'video/mp4': '.mp4',
};

/** The file extension for a sniffed type, or '' (Hubs reads the type from origin's extension). */
export function extensionFor(contentType: string): string {
  return EXTENSIONS[contentType] ?? '';
}
