/**
 * Moderation requests a joined client sends to the SFU (parity 4.5, 7.2):
 * `kick` puts another peer out (it needs `kick_users` in the kicker's join
 * token; dialog re-verifies the stored join token, which fails once it is
 * five minutes old, while we trust the claims verified at join), and
 * `block`/`unblock` pause or resume the consumers between two peers both
 * ways, telling the blocked peer (`peerBlocked`) and, once neither blocks
 * the other, both (`peerUnblocked`), as dialog does.
 */
import { CLOSE_PEER } from './protoo.js';
import { refuse, type Handlers } from './requests.js';

export const moderationHandlers: Handlers<'kick' | 'block' | 'unblock'> = {
  kick: async (ctx, { user_id: userId }) => {
    const { peer, room } = ctx;
    const { claims } = peer.assertJoined();
    if (!claims.permissions.kick_users) refuse(ctx, 'UNAUTHORIZED', 'kicking needs the kick_users permission');
    const target = room.peers.get(userId);
    if (target) await room.removePeer(target, CLOSE_PEER, 'kicked');
    return {};
  },

  block: async ({ peer, room }, { whom }) => {
    peer.assertJoined();
    peer.blocked.add(whom);
    const other = room.peers.get(whom);
    if (other) {
      await room.syncBetween(peer, other);
      other.protoo.notify('peerBlocked', { peerId: peer.id });
    }
    return {};
  },

  unblock: async ({ peer, room }, { whom }) => {
    peer.assertJoined();
    peer.blocked.delete(whom);
    const other = room.peers.get(whom);
    if (other && !other.blocked.has(peer.id)) {
      await room.syncBetween(peer, other);
      peer.protoo.notify('peerUnblocked', { peerId: other.id });
      other.protoo.notify('peerUnblocked', { peerId: peer.id });
    }
    return {};
  },
};
