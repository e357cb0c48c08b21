/**
 * Signing in on the pages with an account token (`hubmesh accounts create`,
 * or an admin's `POST /api/v1/accounts`). The token is kept in localStorage,
 * so one sign-in serves every page and room of this server in this browser;
 * it is checked against `GET /api/v1/accounts/me` before it is kept, so a
 * bad token is refused in words rather than leaving a silent guest. Also
 * kept there: each room's creator assignment token, from creating the room
 * on the landing page, until its creator signs in in that room.
 */
import { ApiError, callApi } from './api.js';

/** An account as the pages show it. */
export interface Account {
  readonly accountId: number;
  readonly displayName: string | null;
  readonly email: string | null;
}

const TOKEN_KEY = 'hubmesh.accountToken';
const creatorKey = (sid: string) => `hubmesh.creatorAssignmentToken.${sid}`;

// Storage may be off (a privacy setting), and then these read nothing and keep nothing.
function readStored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function writeStored(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Not kept: the person signs in again next time.
  }
}

/** The account token kept in this browser, if any. */
export const savedAccountToken = (): string | null => readStored(TOKEN_KEY);

/** The creator assignment token kept for room `sid`, if any. */
export const savedCreatorToken = (sid: string): string | null => readStored(creatorKey(sid));

export const saveCreatorToken = (sid: string, token: string): void => writeStored(creatorKey(sid), token);

export const forgetCreatorToken = (sid: string): void => writeStored(creatorKey(sid), null);

/** The account `token` belongs to. Rejects with ApiError: 401 for a token that does not verify, 403 for a disabled account. */
export async function fetchAccount(token: string): Promise<Account> {
  const body = await callApi('/api/v1/accounts/me', { token });
  const id = body['account_id'];
  if (typeof id !== 'number') throw new ApiError(200, 'unexpected', 'The server did not say which account this is.');
  const text = (key: string) => (typeof body[key] === 'string' && body[key] !== '' ? body[key] : null);
  return { accountId: id, displayName: text('display_name'), email: text('email') };
}

const accountName = (account: Account): string => account.displayName ?? account.email ?? `account ${account.accountId}`;

/** What to tell a person whose token was refused. */
export function describeSignInError(err: unknown): string {
  if (err instanceof ApiError && err.status === 401) return 'That account token was not accepted. Check that you pasted all of it, or ask an admin for a new one.';
  if (err instanceof ApiError && err.status === 403) return 'This account is disabled. Ask an admin of this server.';
  if (err instanceof ApiError && err.code === 'network') return err.message;
  if (err instanceof SignInRefused) return err.message;
  return 'Could not sign you in just now. Try again.';
}

/** Thrown by a page's sign-in or sign-out hook, with the words to show. */
export class SignInRefused extends Error {
  override readonly name = 'SignInRefused';
}

export interface SignInHooks {
  /** Runs after the token checks out and before it is kept; throw SignInRefused to refuse it. */
  readonly onSignIn?: (token: string, account: Account) => Promise<void>;
  /** Runs before the token is forgotten; throw SignInRefused to stay signed in. */
  readonly onSignOut?: () => Promise<void>;
  /** Runs whenever the token kept here changes (signed in, out, or refused). */
  readonly onChange?: (token: string | null) => void;
}

export interface SignIn {
  /** The token of the account signed in here; null for a guest. */
  readonly token: string | null;
  /** Settles once a kept token has been checked (and forgotten if refused). */
  readonly ready: Promise<void>;
  /** Forgets the token because the server refused it elsewhere, and says so with `message`. */
  reject(message: string): void;
}

function make<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = Object.assign(document.createElement(tag), props);
  el.append(...children);
  return el;
}

/**
 * Puts the sign-in control into `container`: who is signed in, a "Sign in"
 * button that opens a form for the token, and "Sign out". Keyboard only
 * works throughout: the form takes focus when opened, Escape closes it.
 */
export function mountSignIn(container: HTMLElement, hooks: SignInHooks = {}): SignIn {
  const status = make('p', { id: 'account-status', className: 'status' });
  status.setAttribute('role', 'status');
  status.setAttribute('aria-live', 'polite');
  const toggle = make('button', { id: 'sign-in-toggle', type: 'button' }, 'Sign in');
  toggle.setAttribute('aria-expanded', 'false');
  toggle.setAttribute('aria-controls', 'sign-in-form');
  const signOut = make('button', { id: 'sign-out', type: 'button', hidden: true }, 'Sign out');
  const input = make('input', { id: 'account-token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: false, required: true });
  input.setAttribute('aria-describedby', 'account-token-hint sign-in-error');
  const submit = make('button', { id: 'sign-in-submit', type: 'submit' }, 'Sign in');
  const cancel = make('button', { type: 'button' }, 'Cancel');
  const error = make('p', { id: 'sign-in-error', className: 'error', hidden: true });
  error.setAttribute('role', 'alert');
  const form = make(
    'form',
    { id: 'sign-in-form', noValidate: true, hidden: true },
    make('label', { htmlFor: 'account-token' }, 'Account token'),
    make('p', { id: 'account-token-hint', className: 'hint' }, 'Paste the token you were given for your account.'),
    make('div', { className: 'row' }, input, submit, cancel),
  );
  container.replaceChildren(make('div', { className: 'row' }, status, toggle, signOut), form, error);

  let token: string | null = null;
  const showError = (message: string) => {
    error.textContent = message;
    error.hidden = false;
  };
  const show = (account: Account | null, note?: string) => {
    status.textContent = account ? `Signed in as ${accountName(account)}.` : (note ?? 'You are not signed in.');
    toggle.hidden = token !== null;
    signOut.hidden = token === null;
  };
  const closeForm = () => {
    form.hidden = true;
    toggle.setAttribute('aria-expanded', 'false');
    input.value = '';
    input.removeAttribute('aria-invalid');
  };
  const setToken = (next: string | null) => {
    token = next;
    writeStored(TOKEN_KEY, next);
    hooks.onChange?.(next);
  };

  toggle.addEventListener('click', () => {
    const isOpening = form.hidden;
    form.hidden = !isOpening;
    toggle.setAttribute('aria-expanded', String(isOpening));
    if (isOpening) input.focus();
  });
  cancel.addEventListener('click', () => {
    closeForm();
    toggle.focus();
  });
  form.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    closeForm();
    toggle.focus();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const offered = input.value.trim();
    error.hidden = true;
    if (offered === '') {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return showError('Paste your account token to sign in.');
    }
    submit.disabled = true;
    status.textContent = 'Checking your account token…';
    fetchAccount(offered)
      .then(async (account) => {
        await hooks.onSignIn?.(offered, account);
        setToken(offered);
        closeForm();
        show(account);
        signOut.focus();
      })
      .catch((err: unknown) => {
        show(null);
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        showError(describeSignInError(err));
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  signOut.addEventListener('click', () => {
    error.hidden = true;
    signOut.disabled = true;
    Promise.resolve(hooks.onSignOut?.())
      .then(() => {
        setToken(null);
        show(null, 'You signed out.');
        toggle.focus();
      })
      .catch((err: unknown) => showError(err instanceof SignInRefused ? err.message : 'Could not sign you out just now. Try again.'))
      .finally(() => {
        signOut.disabled = false;
      });
  });

  const ready = checkSaved();
  async function checkSaved(): Promise<void> {
    const saved = savedAccountToken();
    if (saved === null) return show(null);
    token = saved;
    status.textContent = 'Checking your sign-in…';
    try {
      show(await fetchAccount(saved));
    } catch (err) {
      // A token the server no longer takes is dropped in words; one it could not check now is kept.
      if (!(err instanceof ApiError) || (err.status !== 401 && err.status !== 403)) return show(null, 'Signed in, but your account could not be checked just now.');
      setToken(null);
      show(null);
      showError(`Your saved sign-in no longer works, so you are a guest. ${describeSignInError(err)}`);
    }
  }

  return {
    get token() {
      return token;
    },
    ready,
    reject(message: string) {
      setToken(null);
      show(null);
      showError(message);
    },
  };
}
