/**
 * How deeply a client's JSON may nest. JSON.parse takes any depth, but what
 * runs on the parsed value later recurses: JSON.stringify of a relayed
 * payload, structuredClone, schema checks. A few thousand levels overflow the
 * stack there, so frames nesting deeper than this are refused before they
 * are parsed. Hubs' deepest frames (NAF updates) nest under 10.
 */
export const MAX_JSON_DEPTH = 64;

const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Counts `[` and `{` up to `limit + 1`: indexOf is fast, and a text with at most `limit` openers cannot nest deeper. */
function countOpeners(text: string, limit: number): number {
  let count = 0;
  for (const opener of ['{', '[']) {
    for (let at = text.indexOf(opener); at !== -1 && count <= limit; at = text.indexOf(opener, at + 1)) count++;
  }
  return count;
}

/**
 * Whether `text` nests arrays and objects deeper than `max`. Brackets inside
 * strings do not count. Any text is accepted (invalid JSON is for the parser
 * to refuse); the common frame costs two indexOf scans.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  if (text.length <= max || countOpeners(text, max) <= max) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}
