/**
 * The room page behind the shared link `/<sid>/<slug>`: a name prompt, then
 * the room through `HubClient` (src/client): the people list from presence,
 * a chat panel, moderator controls for those allowed, and every state a
 * person must understand (not found, full, closed, kicked, banned, denied,
 * reconnecting, reconnected) as words on the page, never a blank one.
 *
 * Accounts (web/account.ts): a person signed in before entering joins with
 * the token (`auth_token`), so an account ban keeps them out; one who signs
 * in inside the room does it on the channel (`sign_in`), with the room's
 * creator assignment token when this browser created the room. The session
 * token is kept per tab (sessionStorage), so a reload is the same session,
 * and a banned session is told of its ban again on reload.
 *
 * Once in, the 3D part (web/world.ts) shows the room: avatars, movement,
 * the shared cube; voice (web/world-voice.ts) plays the others and offers
 * the microphone. Both stop when the session ends.
 */
import { HubClient } from '../src/client/hub-client.js';
import { ActionRefused, JoinRefused, type ClientState } from '../src/client/types.js';
import { forgetCreatorToken, mountSignIn, savedCreatorToken, SignInRefused } from './account.js';
import { byId } from './dom.js';
import { displayNameOf, mountPeoplePanel } from './people-panel.js';
import { prepareEntities } from './room-entities.js';
import type { MountedVoice } from './world-voice.js';
import type { MountedWorld } from './world.js';

const NAME_MAX = 64;

const status = byId('status', HTMLParagraphElement);
const nameForm = byId('name-form', HTMLFormElement);
const nameInput = byId('display-name', HTMLInputElement);
const nameError = byId('name-error', HTMLParagraphElement);
const enterButton = byId('enter-button', HTMLButtonElement);
const ended = byId('ended', HTMLElement);
const room = byId('room', HTMLDivElement);
const moderationStatus = byId('moderation-status', HTMLParagraphElement);
const chatLog = byId('chat-log', HTMLOListElement);
const chatForm = byId('chat-form', HTMLFormElement);
const chatInput = byId('chat-input', HTMLInputElement);
const chatError = byId('chat-error', HTMLParagraphElement);

/** The end states: a title and what the person can do about it. */
const ENDINGS: Record<string, readonly [title: string, text: string]> = {
  not_found: ['Room not found', 'There is no room at this link. Check the link, or create a room from the start page.'],
  room_full: ['This room is full', 'Everyone who fits is already here. Try again later.'],
  closed: ['This room is closed', 'Its owner closed it, and nobody can enter it any more.'],
  kicked: ['You were removed from this room', 'A moderator put you out of this room. You can reload the page to try to come back.'],
  banned: ['You are banned from this room', 'A moderator banned you from this room, for now or for good.'],
  join_denied: ['You cannot enter this room', 'The room is invite-only or not open to your account.'],
  connect_failed: ['Could not reach the server', 'Check your connection, then reload the page.'],
};

const FALLBACK_ENDING = ['Could not enter the room', 'The server did not let you in just now. Reload the page to try again.'] as const;

/** Shows an end state in place of the room; `key` is a join refusal reason or a state. */
function showEnding(key: string): void {
  world?.close();
  void voice?.close();
  const [title, text] = ENDINGS[key] ?? FALLBACK_ENDING;
  byId('ended-title', HTMLHeadingElement).textContent = title;
  byId('ended-text', HTMLParagraphElement).textContent = text;
  nameForm.hidden = true;
  room.hidden = true;
  ended.hidden = false;
  status.textContent = '';
  document.body.dataset['state'] = key;
}

const sid = location.pathname.split('/')[1] ?? '';
const client = new HubClient();
const people = mountPeoplePanel({ client, sid, accountToken: () => account.token });
// Ban needs the token kept here, so the people list is redrawn when it changes.
const account = mountSignIn(byId('account', HTMLDivElement), { onSignIn: signInHere, onSignOut: signOutHere, onChange: redrawPeople });

let world: MountedWorld | null = null;
let voice: MountedVoice | null = null;

const SESSION_KEY = 'hubmesh.sessionToken';

function readSessionToken(): string | undefined {
  try {
    return sessionStorage.getItem(SESSION_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function keepSessionToken(): void {
  const token = client.session?.sessionToken;
  try {
    if (token) sessionStorage.setItem(SESSION_KEY, token);
  } catch {
    // Not kept: a reload is a new session.
  }
}

const isInRoom = (): boolean => client.state.kind === 'joined' || client.state.kind === 'reconnected';

function redrawPeople(): void {
  if (isInRoom()) people.render();
}

/** Signs in on the channel when in the room, claiming it with this browser's creator assignment token. */
async function signInHere(token: string): Promise<void> {
  if (client.state.kind === 'reconnecting') throw new SignInRefused('You are offline just now. Sign in once you are reconnected.');
  if (!isInRoom()) return;
  const claim = savedCreatorToken(sid) ?? undefined;
  try {
    await client.signIn(token, claim);
  } catch (err) {
    throw new SignInRefused(err instanceof ActionRefused && err.reason === 'invalid_token' ? 'That account token was not accepted in this room.' : 'Could not sign you in just now. Try again.', { cause: err });
  }
  if (claim !== undefined) forgetCreatorToken(sid);
}

async function signOutHere(): Promise<void> {
  if (client.state.kind === 'reconnecting') throw new SignInRefused('You are offline just now. Sign out once you are reconnected.');
  if (!isInRoom()) return;
  try {
    await client.signOut();
  } catch (err) {
    throw new SignInRefused('Could not sign you out just now. Try again.', { cause: err });
  }
}

function appendChat(from: string, body: string): void {
  const item = document.createElement('li');
  const who = document.createElement('span');
  who.className = 'from';
  who.textContent = `${from}: `;
  item.append(who, body);
  chatLog.append(item);
  item.scrollIntoView({ block: 'nearest' });
}

function onState(state: ClientState): void {
  switch (state.kind) {
    case 'reconnecting':
      status.textContent = 'Connection lost. Reconnecting…';
      document.body.dataset['state'] = 'reconnecting';
      return;
    case 'reconnected':
      keepSessionToken();
      status.textContent = 'Reconnected.';
      document.body.dataset['state'] = 'reconnected';
      return;
    case 'kicked':
    case 'banned':
    case 'closed':
      people.dismiss();
      return showEnding(state.kind);
    case 'refused':
      return showEnding(state.reason);
    default:
      return;
  }
}

function onError(err: unknown): void {
  if (!(err instanceof ActionRefused) || err.event !== 'message') return;
  chatError.textContent = err.reason === 'unauthorized' ? 'Your message was not sent: chat is not allowed for you in this room.' : `Your message was not sent (${err.reason}).`;
  chatError.hidden = false;
}

async function enterRoom(displayName: string): Promise<void> {
  status.textContent = 'Joining the room…';
  client.on('state', onState);
  client.on('people', () => people.render());
  client.on('error', onError);
  client.onChat((message) => appendChat(displayNameOf(client.people.find((p) => p.sessionId === message.sessionId)), message.body));
  await account.ready;
  const sessionToken = readSessionToken();
  try {
    await client.connect({ url: location.origin, ...(sessionToken === undefined ? {} : { sessionToken }) });
  } catch {
    return showEnding('connect_failed');
  }
  const authToken = account.token;
  const entities = prepareEntities(client);
  // The 3D world and voice (three.js, mediasoup-client: most of the page's weight) load while the join goes on.
  const loading = Promise.all([import('./world.js'), import('./world-voice.js')]);
  // A failed load is handled where it is awaited; this keeps it from being reported as unhandled meanwhile.
  loading.catch(() => undefined);
  try {
    const { hub } = await client.join(sid, { profile: { displayName, avatarId: '' }, ...(authToken === null ? {} : { authToken }) });
    byId('room-title', HTMLHeadingElement).textContent = hub.name || document.title;
  } catch (err) {
    entities.close();
    // The `refused` state has shown the reason already.
    if (!(err instanceof JoinRefused)) showEnding('refused');
    return;
  }
  keepSessionToken();
  if (authToken !== null && !client.isSignedIn) {
    // The server lets a bad token in as a guest; say so rather than leave a silent guest.
    account.reject('Your account token was not accepted in this room, so you are here as a guest. Sign in again with a valid token.');
  } else if (authToken !== null && savedCreatorToken(sid) !== null) {
    // Signed in already; this only claims the room made in this browser.
    await signInHere(authToken).catch(() => {
      moderationStatus.textContent = 'This room could not be claimed for your account just now. Sign out and in again to retry.';
    });
  }
  nameForm.hidden = true;
  room.hidden = false;
  status.textContent = `You are in the room as ${displayName}.`;
  document.body.dataset['state'] = 'joined';
  people.render();
  chatInput.focus();
  try {
    const [{ mountWorld }, { mountVoice }] = await loading;
    if (!isInRoom() && client.state.kind !== 'reconnecting') return entities.close();
    voice = mountVoice(client, sid, (sessionId, isSpeaking) => {
      world?.world.setSpeaking(sessionId, isSpeaking);
      people.setSpeaking(sessionId, isSpeaking);
    });
    world = mountWorld(client, entities);
  } catch {
    // The room works without its 3D part.
    byId('world', HTMLElement).hidden = false;
    byId('scene', HTMLCanvasElement).hidden = true;
    byId('scene-status', HTMLParagraphElement).textContent = 'The 3D view could not start. Reload the page to try again; people and chat still work.';
  }
}

function setupNameForm(): void {
  nameForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = nameInput.value.trim().slice(0, NAME_MAX);
    if (name === '') {
      nameError.textContent = 'Enter your name to join the room.';
      nameError.hidden = false;
      nameInput.setAttribute('aria-invalid', 'true');
      nameInput.focus();
      return;
    }
    nameError.hidden = true;
    nameInput.removeAttribute('aria-invalid');
    enterButton.disabled = true;
    void enterRoom(name);
  });
  nameForm.hidden = false;
  status.textContent = 'Enter your name to join.';
  nameInput.focus();
}

function setupChat(): void {
  chatForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = chatInput.value.trim();
    if (body === '' || client.state.kind === 'reconnecting') return;
    chatError.hidden = true;
    client.sendChat(body);
    chatForm.reset();
  });
}


if (!/^[A-Za-z0-9]+$/.test(sid)) {
  showEnding('not_found');
} else {
  setupNameForm();
  setupChat();
}
document.body.dataset['ready'] = 'true';
