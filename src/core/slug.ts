/**
 * The cosmetic part of a room link, `/<sid>/<slug>` (parity 4.9): the room
 * name, lower-cased, with every run of other characters turned into one dash.
 */
const MAX_SLUG_CHARS = 64;

export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, MAX_SLUG_CHARS)
    .replace(/^-+|-+$/g, '');
  return slug === '' ? 'room' : slug;
}
