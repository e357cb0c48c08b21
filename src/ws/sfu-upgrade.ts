/**
 * The websocket handshake of the SFU's signaling (sfu/sfu-server.ts decides
 * which upgrades are its own): it echoes the `protoo` subprotocol, without
 * which protoo-client's websocket gives up, and limits messages to dialog's
 * 960 KB. A client that asks for no subprotocol is served all the same.
 */
import { WebSocketServer } from 'ws';
import { PROTOO_SUBPROTOCOL } from '../../sfu/protoo.js';
import { SFU_MAX_MESSAGE_BYTES, type AcceptUpgrade } from '../../sfu/sfu-server.js';

export function sfuUpgrade(): AcceptUpgrade {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: SFU_MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(PROTOO_SUBPROTOCOL) ? PROTOO_SUBPROTOCOL : false),
  });
  return (req, socket, head, accepted) => wss.handleUpgrade(req, socket, head, (ws) => accepted(ws));
}
