/**
 * The room page behind the shared link `/<sid>/<slug>`: a name prompt, then
 * the room through `HubClient` (src/client): the people list from presence,
 * a chat panel, moderator controls for those allowed, and every state a
 * person must understand (not found, full, closed, kicked, banned, denied,
 * reconnecting, reconnected) as words on the page, never a blank one.
 *
 * TODO(#8): the three.js scene (floor, avatars with name tags), WASD and
 * mouse-look movement, poses as NAF messages at 15 Hz with interpolation,
 * the shared grabbable cube and the microphone toggle through the SFU.
 */
import { HubClient } from '../src/client/hub-client.js';
import { ActionRefused, JoinRefused, type ClientState, type Person } from '../src/client/types.js';

const NAME_MAX = 64;

/** The element with this id; the page's HTML is ours, so a missing one is a bug. */
function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new TypeError(`#${id} is missing from the page`);
  return el;
}

const status = byId('status', HTMLParagraphElement);
const nameForm = byId('name-form', HTMLFormElement);
const nameInput = byId('display-name', HTMLInputElement);
const nameError = byId('name-error', HTMLParagraphElement);
const enterButton = byId('enter-button', HTMLButtonElement);
const ended = byId('ended', HTMLElement);
const room = byId('room', HTMLDivElement);
const peopleList = byId('people', HTMLUListElement);
const moderationStatus = byId('moderation-status', HTMLParagraphElement);
const closeButton = byId('close-room', HTMLButtonElement);
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

const displayNameOf = (person: Person | undefined): string => {
  const name = person?.profile['displayName'];
  return typeof name === 'string' && name.trim() !== '' ? name : 'Someone';
};
const isMe = (person: Person): boolean => person.sessionId === client.session?.sessionId;

/** Runs a moderation action and says how it went. */
function moderate(action: () => Promise<void>, done: string): void {
  moderationStatus.textContent = '';
  action().then(
    () => {
      moderationStatus.textContent = done;
    },
    (err: unknown) => {
      moderationStatus.textContent = err instanceof ActionRefused && err.reason === 'unauthorized' ? 'You are not allowed to do that here.' : 'That did not work. Try again.';
    },
  );
}

function actionButton(label: string, ariaLabel: string, onClick: () => void): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = label;
  button.setAttribute('aria-label', ariaLabel);
  button.addEventListener('click', onClick);
  return button;
}

function renderPerson(person: Person): HTMLLIElement {
  const item = document.createElement('li');
  item.dataset['sessionId'] = person.sessionId;
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = displayNameOf(person);
  item.append(name);
  if (isMe(person)) {
    const you = document.createElement('span');
    you.className = 'you';
    you.textContent = '(you)';
    // The space keeps "Ada (you)" one phrase for screen readers and copy; flex layout spaces it visually.
    item.append(' ', you);
    return item;
  }
  const who = displayNameOf(person);
  if (client.can('mute_users')) item.append(actionButton('Mute', `Mute ${who}`, () => moderate(() => client.mute(person.sessionId), `${who} was asked to mute.`)));
  if (client.can('kick_users')) item.append(actionButton('Kick', `Kick ${who}`, () => moderate(() => client.kick(person.sessionId), `${who} was removed.`)));
  return item;
}

function renderPeople(people: readonly Person[]): void {
  // Yourself first, then the others by name.
  const sorted = [...people].sort((a, b) => Number(isMe(b)) - Number(isMe(a)) || displayNameOf(a).localeCompare(displayNameOf(b)));
  peopleList.replaceChildren(...sorted.map(renderPerson));
  closeButton.hidden = !client.can('close_hub');
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
      status.textContent = 'Reconnected.';
      document.body.dataset['state'] = 'reconnected';
      return;
    case 'kicked':
    case 'closed':
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
  client.on('people', renderPeople);
  client.on('error', onError);
  client.onChat((message) => appendChat(displayNameOf(client.people.find((p) => p.sessionId === message.sessionId)), message.body));
  try {
    await client.connect({ url: location.origin });
  } catch {
    return showEnding('connect_failed');
  }
  try {
    const { hub } = await client.join(sid, { profile: { displayName, avatarId: '' } });
    byId('room-title', HTMLHeadingElement).textContent = hub.name || document.title;
  } catch (err) {
    // The `refused` state has shown the reason already.
    if (!(err instanceof JoinRefused)) showEnding('refused');
    return;
  }
  nameForm.hidden = true;
  room.hidden = false;
  status.textContent = `You are in the room as ${displayName}.`;
  document.body.dataset['state'] = 'joined';
  renderPeople(client.people);
  chatInput.focus();
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

function setupCloseButton(): void {
  // Two presses, so a stray Enter does not put everyone out.
  let isArmed = false;
  closeButton.addEventListener('click', () => {
    if (!isArmed) {
      isArmed = true;
      closeButton.textContent = 'Press again to close the room for everyone';
      return;
    }
    moderate(() => client.closeHub(), 'The room is closed.');
  });
  closeButton.addEventListener('blur', () => {
    isArmed = false;
    closeButton.textContent = 'Close room for everyone';
  });
}

if (!/^[A-Za-z0-9]+$/.test(sid)) {
  showEnding('not_found');
} else {
  setupNameForm();
  setupChat();
  setupCloseButton();
}
document.body.dataset['ready'] = 'true';
