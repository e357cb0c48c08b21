/**
 * The room page's voice: a VoiceClient (src/client/voice) on the room's SFU,
 * connected once the person is in the room so they hear the others at once,
 * and the microphone toggle (shown with `voice_chat`). Who speaks goes to
 * `onSpeaking`, which lights their ring in the scene and their dot in the
 * people list.
 *
 * A moderator's mute reaches us twice: the relay's `mute` (Hubs turns its
 * own microphone off on it) and the SFU closing our microphone's producer;
 * either leaves the toggle off with a word why. Voice that ends (the SFU
 * went away, the network dropped) can be brought back with the toggle,
 * which then connects again with a fresh perms token.
 *
 * Lifecycle: `close()` ends the voice for good; the page calls it when the
 * session ends.
 */
import type { HubClient } from '../src/client/hub-client.js';
import { sfuUrlFor, VoiceClient } from '../src/client/voice/voice-client.js';
import { VoiceError, type MicrophoneState } from '../src/client/voice/types.js';
import { byId } from './dom.js';

export interface MountedVoice {
  close(): Promise<void>;
}

/** Words for what went wrong with voice, by the reason the client or the SFU gave. */
function voiceProblem(err: unknown): string {
  const reason = err instanceof VoiceError ? err.reason : '';
  switch (reason) {
    case 'unauthorized':
      return 'Voice chat is not allowed for you in this room.';
    case 'microphone_denied':
      return 'The browser did not let this page use your microphone. Allow it in the address bar, then try again.';
    case 'invalid_token':
    case 'join_denied':
      return 'The voice server did not let you in. Reload the page to try again.';
    default:
      return 'Voice is not available just now. Press the microphone button to try again.';
  }
}

export function mountVoice(client: HubClient, sid: string, onSpeaking: (sessionId: string, isSpeaking: boolean) => void): MountedVoice {
  const toggle = byId('mic-toggle', HTMLButtonElement);
  const status = byId('voice-status', HTMLParagraphElement);
  let voice: VoiceClient | null = null;
  let connecting: Promise<VoiceClient | null> | null = null;
  let isClosed = false;
  let isBusy = false;

  const showMicrophone = (state: MicrophoneState) => {
    const isOn = state === 'on';
    toggle.setAttribute('aria-pressed', String(isOn));
    toggle.textContent = isOn ? 'Turn microphone off' : 'Turn microphone on';
    document.body.dataset['microphone'] = state;
  };
  const showToggle = () => {
    toggle.hidden = isClosed || !client.can('voice_chat');
  };

  /** Connects a new voice client with the session's perms token; resolves to null when it cannot. */
  async function connect(): Promise<VoiceClient | null> {
    const session = client.session;
    if (!session || isClosed) return null;
    const next = new VoiceClient();
    next.on('speaking', onSpeaking);
    next.on('microphone', (state) => {
      showMicrophone(state);
      if (state === 'muted') status.textContent = 'A moderator muted your microphone. You can turn it on again.';
    });
    next.on('state', (state) => {
      if (state.kind !== 'closed' || isClosed || voice !== next) return;
      voice = null;
      showMicrophone('off');
      // The relay says why when it put us out; otherwise voice alone is gone.
      if (client.state.kind === 'joined' || client.state.kind === 'reconnected' || client.state.kind === 'reconnecting') status.textContent = 'Voice was disconnected. Press the microphone button to connect again.';
    });
    try {
      await next.connect({ url: sfuUrlFor(session.hub, location.href), hubSid: sid, sessionId: session.sessionId, permsToken: await freshPermsToken(), displayName: session.sessionId });
    } catch (err) {
      await next.close();
      if (!isClosed) status.textContent = voiceProblem(err);
      return null;
    }
    if (isClosed) {
      await next.close();
      return null;
    }
    voice = next;
    status.textContent = '';
    return next;
  }

  /** The perms token of the join, or a fresh one when it may have expired (it lasts 5 minutes) or the permissions changed. */
  async function freshPermsToken(): Promise<string> {
    try {
      return await client.refreshPermsToken();
    } catch {
      return client.session?.permsToken ?? '';
    }
  }

  const ensureVoice = (): Promise<VoiceClient | null> => {
    if (voice) return Promise.resolve(voice);
    connecting ??= connect().finally(() => {
      connecting = null;
    });
    return connecting;
  };

  toggle.addEventListener('click', () => {
    if (isBusy) return;
    isBusy = true;
    toggle.setAttribute('aria-busy', 'true');
    void (async () => {
      try {
        const current = await ensureVoice();
        if (!current) return;
        const isOn = current.microphone === 'on';
        await current.setMicrophone(!isOn);
        status.textContent = isOn ? 'Your microphone is off.' : 'Your microphone is on.';
      } catch (err) {
        status.textContent = voiceProblem(err);
      } finally {
        isBusy = false;
        toggle.removeAttribute('aria-busy');
      }
    })();
  });

  const offMute = client.on('mute', () => {
    if (voice?.microphone === 'on') {
      void voice.setMicrophone(false).catch(() => undefined);
      status.textContent = 'A moderator muted your microphone. You can turn it on again.';
    }
  });
  const offPeople = client.on('people', showToggle);

  showMicrophone('off');
  showToggle();
  // Connect now, to hear the others before speaking.
  void ensureVoice();

  return {
    async close() {
      if (isClosed) return;
      isClosed = true;
      offMute();
      offPeople();
      showToggle();
      const pending = await connecting;
      await Promise.all([voice?.close(), pending?.close()]);
      voice = null;
    },
  };
}
