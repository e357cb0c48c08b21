/** Small DOM helpers the pages share. */

/** The element with this id; the page's HTML is ours, so a missing one is a bug. */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new TypeError(`#${id} is missing from the page`);
  return el;
}
