/**
 * The landing page: create a room and share its link, and see the public
 * rooms with the most people in them. Plain DOM over the HTTP API
 * (`POST /api/v1/hubs`, `GET /api/v1/hubs?order=hot`), whose errors are
 * `{code, message}`. A person signed in here (web/account.ts) creates rooms
 * as their account, which makes it the room's creator; either way the
 * room's creator assignment token is kept, so whoever created it can claim
 * it by signing in inside it later.
 */
import { mountSignIn, saveCreatorToken, type SignIn } from './account.js';
import { ApiError, callApi, isRecord } from './api.js';
import { byId } from './dom.js';

/** What the page needs of a room in a listing. */
interface RoomSummary {
  readonly name: string;
  readonly path: string;
  readonly memberCount: number;
}

const NAME_MAX = 64;
const HOT_LIMIT = 20;

/** What to tell a person about a failed room creation. */
function describeCreateError(err: unknown): string {
  if (!(err instanceof ApiError)) return 'Something went wrong. Try again.';
  switch (err.code) {
    case 'network':
      return err.message;
    case 'unauthenticated':
      return 'Your account token was not accepted. Sign out, then sign in again.';
    case 'rate_limited':
      return 'You are creating rooms too quickly. Wait a moment, then try again.';
    case 'bad_request':
      return `That room name was not accepted: use 1 to ${NAME_MAX} characters, not only spaces.`;
    default:
      return `The room could not be created (${err.code}): ${err.message}`;
  }
}

/** The path `/<sid>/<slug>` of a room URL from the API, whatever host it names. */
const pathOf = (url: string): string => new URL(url, location.origin).pathname;

async function createRoom(name: string, token: string | null): Promise<string> {
  const body = await callApi('/api/v1/hubs', { method: 'POST', body: { hub: { name } }, ...(token === null ? {} : { token }) });
  if (typeof body['url'] !== 'string') throw new ApiError(200, 'unexpected', 'The server did not answer with a room link.');
  const sid = body['hub_id'];
  const claim = body['creator_assignment_token'];
  if (typeof sid === 'string' && typeof claim === 'string' && claim !== '') saveCreatorToken(sid, claim);
  return pathOf(body['url']);
}

async function listHotRooms(): Promise<RoomSummary[]> {
  const body = await callApi(`/api/v1/hubs?order=hot&limit=${HOT_LIMIT}`);
  const hubs = Array.isArray(body['hubs']) ? body['hubs'] : [];
  return hubs.filter(isRecord).flatMap((h) =>
    typeof h['name'] === 'string' && typeof h['url'] === 'string'
      ? [{ name: h['name'], path: pathOf(h['url']), memberCount: typeof h['member_count'] === 'number' ? h['member_count'] : 0 }]
      : [],
  );
}

function setupCreateForm(account: SignIn): void {
  const form = byId('create-form', HTMLFormElement);
  const input = byId('room-name', HTMLInputElement);
  const button = byId('create-button', HTMLButtonElement);
  const error = byId('create-error', HTMLParagraphElement);
  const created = byId('created', HTMLDivElement);
  const createdName = byId('created-name', HTMLElement);
  const link = byId('created-link', HTMLAnchorElement);
  const copy = byId('copy-button', HTMLButtonElement);
  const copyStatus = byId('copy-status', HTMLParagraphElement);

  const showError = (message: string) => {
    error.textContent = message;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (name === '') return showError('Enter a name for the room.');
    error.hidden = true;
    input.removeAttribute('aria-invalid');
    button.disabled = true;
    createRoom(name, account.token)
      .then((path) => {
        const shareUrl = new URL(path, location.origin).href;
        createdName.textContent = name;
        link.href = path;
        link.textContent = shareUrl;
        copyStatus.textContent = '';
        created.hidden = false;
        form.reset();
        link.focus();
        void refreshHotRooms();
      })
      .catch((err: unknown) => showError(describeCreateError(err)))
      .finally(() => {
        button.disabled = false;
      });
  });

  copy.addEventListener('click', () => {
    navigator.clipboard.writeText(link.href).then(
      () => {
        copyStatus.textContent = 'Link copied.';
      },
      () => {
        copyStatus.textContent = 'Could not copy: select the link and copy it yourself.';
      },
    );
  });
}

function renderRoom(room: RoomSummary): HTMLLIElement {
  const item = document.createElement('li');
  const link = document.createElement('a');
  link.href = room.path;
  link.textContent = room.name;
  const members = document.createElement('span');
  members.className = 'members';
  members.textContent = room.memberCount === 1 ? '1 person' : `${room.memberCount} people`;
  item.append(link, members);
  return item;
}

async function refreshHotRooms(): Promise<void> {
  const status = byId('hot-status', HTMLParagraphElement);
  const list = byId('hot-list', HTMLUListElement);
  try {
    const rooms = await listHotRooms();
    list.replaceChildren(...rooms.map(renderRoom));
    status.textContent = rooms.length === 0 ? 'No public rooms yet. Create one above and share its link.' : '';
    status.hidden = rooms.length > 0;
  } catch (err) {
    status.hidden = false;
    status.textContent = err instanceof ApiError && err.code === 'network' ? err.message : 'The public rooms could not be loaded. Reload the page to try again.';
  }
  document.body.dataset['ready'] = 'true';
}

setupCreateForm(mountSignIn(byId('account', HTMLDivElement)));
void refreshHotRooms();
