/**
 * The room page's people list: who is here (yourself first, with the roles
 * worth naming) and, for those allowed, Mute, Kick and Ban on each row and
 * the Close button. Kick, mute and close go over the channel; Ban goes over
 * the HTTP API (`POST /api/v1/hubs/:sid/bans`), which needs a signed-in
 * account with `kick_users`, and asks first in a modal dialog. The list is
 * redrawn on every presence change without taking the keyboard focus away.
 */
import type { HubClient } from '../src/client/hub-client.js';
import { ActionRefused, type Person } from '../src/client/types.js';
import { ApiError, callApi } from './api.js';
import { byId } from './dom.js';

export interface PeoplePanelDeps {
  readonly client: HubClient;
  /** The room's sid. */
  readonly sid: string;
  /** The account token kept on the page; null for a guest. */
  accountToken(): string | null;
}

export interface PeoplePanel {
  /** Draws the list from the client's people and permissions now. */
  render(): void;
  /** Closes the ban dialog, when the room ends under it. */
  dismiss(): void;
  /** Marks a person as speaking (voice), or no longer. */
  setSpeaking(sessionId: string, isSpeaking: boolean): void;
}

/** A person's display name from their presence profile, or "Someone". */
export function displayNameOf(person: Person | undefined): string {
  const name = person?.profile['displayName'];
  return typeof name === 'string' && name.trim() !== '' ? name : 'Someone';
}

/** Wires the people list, the moderation buttons and the ban dialog of room.html. */
export function mountPeoplePanel({ client, sid, accountToken }: PeoplePanelDeps): PeoplePanel {
  const peopleList = byId('people', HTMLUListElement);
  const speaking = new Set<string>();
  const moderationStatus = byId('moderation-status', HTMLParagraphElement);
  const closeButton = byId('close-room', HTMLButtonElement);
  const banDialog = byId('ban-dialog', HTMLDialogElement);
  const isMe = (person: Person): boolean => person.sessionId === client.session?.sessionId;

  function describeModerationError(err: unknown): string {
    if ((err instanceof ActionRefused && err.reason === 'unauthorized') || (err instanceof ApiError && err.status === 403)) return 'You are not allowed to do that here.';
    if (err instanceof ApiError && err.status === 401) return 'Your account token was not accepted. Sign out, then sign in again.';
    return 'That did not work. Try again.';
  }

  /** Runs a moderation action and says how it went. */
  function moderate(action: () => Promise<unknown>, done: string): void {
    moderationStatus.textContent = '';
    action().then(
      () => {
        moderationStatus.textContent = done;
      },
      (err: unknown) => {
        moderationStatus.textContent = describeModerationError(err);
      },
    );
  }

  /** A button on a person's row; `data-key` finds it again after the list is redrawn. */
  function actionButton(action: string, person: Person, label: string, onClick: () => void): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = label;
    button.dataset['key'] = `${action}:${person.sessionId}`;
    button.setAttribute('aria-label', `${label} ${displayNameOf(person)}`);
    button.addEventListener('click', onClick);
    return button;
  }

  /** Bans a session over the HTTP API, which needs a signed-in account with `kick_users`; the server puts it out at once. */
  function ban(person: Person): Promise<unknown> {
    const token = accountToken();
    if (token === null) return Promise.reject(new ApiError(401, 'unauthenticated', 'not signed in'));
    return callApi(`/api/v1/hubs/${encodeURIComponent(sid)}/bans`, { method: 'POST', token, body: { session_id: person.sessionId } });
  }

  /** Asks before banning, in a modal dialog: Cancel has the focus, Escape cancels. */
  function confirmBan(person: Person): void {
    const who = displayNameOf(person);
    byId('ban-title', HTMLHeadingElement).textContent = `Ban ${who}?`;
    byId('ban-text', HTMLParagraphElement).textContent = `${who} will be put out of this room now and kept out until a moderator lifts the ban.`;
    byId('ban-confirm', HTMLButtonElement).textContent = `Ban ${who}`;
    banDialog.returnValue = '';
    banDialog.onclose = () => {
      if (banDialog.returnValue === 'ban') moderate(() => ban(person), `${who} was banned.`);
    };
    banDialog.showModal();
  }

  const canBan = (): boolean => client.can('kick_users') && client.isSignedIn && accountToken() !== null;

  /** Roles worth naming next to a person. */
  function roleOf(person: Person): string | null {
    if (person.roles.creator) return 'creator';
    if (person.roles.owner) return 'owner';
    return null;
  }

  function renderPerson(person: Person): HTMLLIElement {
    const item = document.createElement('li');
    item.dataset['sessionId'] = person.sessionId;
    if (speaking.has(person.sessionId)) item.dataset['speaking'] = 'true';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = displayNameOf(person);
    item.append(name);
    const role = roleOf(person);
    if (isMe(person)) {
      const you = document.createElement('span');
      you.className = 'you';
      you.textContent = role === null ? '(you)' : `(you, ${role})`;
      // The space keeps "Ada (you)" one phrase for screen readers and copy; flex layout spaces it visually.
      item.append(' ', you);
      return item;
    }
    if (role !== null) {
      const badge = document.createElement('span');
      badge.className = 'role';
      badge.textContent = `(${role})`;
      item.append(' ', badge);
    }
    const who = displayNameOf(person);
    if (client.can('mute_users')) item.append(actionButton('mute', person, 'Mute', () => moderate(() => client.mute(person.sessionId), `${who} was asked to mute.`)));
    if (client.can('kick_users')) item.append(actionButton('kick', person, 'Kick', () => moderate(() => client.kick(person.sessionId), `${who} was removed.`)));
    if (canBan()) item.append(actionButton('ban', person, 'Ban', () => confirmBan(person)));
    return item;
  }

  function renderPeople(people: readonly Person[]): void {
    // Redrawing must not take the keyboard focus away from a row's button.
    const focused = document.activeElement;
    const focusedKey = focused instanceof HTMLButtonElement && peopleList.contains(focused) ? focused.dataset['key'] : undefined;
    // Yourself first, then the others by name.
    const sorted = [...people].sort((a, b) => Number(isMe(b)) - Number(isMe(a)) || displayNameOf(a).localeCompare(displayNameOf(b)));
    peopleList.replaceChildren(...sorted.map(renderPerson));
    if (focusedKey !== undefined) peopleList.querySelector<HTMLButtonElement>(`button[data-key="${CSS.escape(focusedKey)}"]`)?.focus();
    closeButton.hidden = !client.can('close_hub');
  }

  function setupBanDialog(): void {
    // Outside the dialog is the room itself; a click there cancels, as Escape does.
    banDialog.addEventListener('click', (event) => {
      if (event.target === banDialog) banDialog.close('cancel');
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

  setupBanDialog();
  setupCloseButton();
  return {
    render: () => renderPeople(client.people),
    setSpeaking(sessionId, isSpeaking) {
      if (isSpeaking) speaking.add(sessionId);
      else speaking.delete(sessionId);
      const item = peopleList.querySelector<HTMLLIElement>(`li[data-session-id="${CSS.escape(sessionId)}"]`);
      if (!item) return;
      if (isSpeaking) item.dataset['speaking'] = 'true';
      else delete item.dataset['speaking'];
    },
    dismiss: () => {
      if (banDialog.open) banDialog.close('cancel');
    },
  };
}
