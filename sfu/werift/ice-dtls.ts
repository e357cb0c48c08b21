/**
 * One ICE-lite + DTLS-SRTP leg of a WebRTC transport, made from werift's
 * exported transport classes instead of an RTCPeerConnection: mediasoup's
 * model hands the client our ICE and DTLS parameters directly, with no SDP.
 *
 * mediasoup-client never sends its ICE username, and werift's ICE-lite agent
 * answers checks with its own password without checking the remote's, so
 * placeholder remote credentials are enough (reference/sfu.md).
 */
import { randomBytes } from 'node:crypto';
import { RTCDtlsParameters, RTCDtlsFingerprint, RTCDtlsTransport, RTCIceGatherer, RTCIceTransport, type RTCCertificate } from 'werift';
import type { DtlsParameters, IceCandidate, IceParameters } from '../../src/ports/media-engine.js';

/** SRTP profiles we offer, in order of preference (werift's own). */
const SRTP_AEAD_AES_128_GCM = 0x0007;
const SRTP_AES128_CM_HMAC_SHA1_80 = 0x0001;

export interface LegOptions {
  /** The address put in our ICE candidates. */
  readonly announcedIp: string;
  /** The IPv4 address the UDP socket binds to; by default every interface. */
  readonly listenIp?: string;
  /** Ports to try, inclusive. */
  readonly portRange?: readonly [number, number];
  readonly certificate: RTCCertificate;
}

export class IceDtlsLeg {
  readonly dtls: RTCDtlsTransport;
  readonly ice: RTCIceTransport;
  readonly #gatherer: RTCIceGatherer;
  readonly #announcedIp: string;
  #started = false;

  private constructor(gatherer: RTCIceGatherer, certificate: RTCCertificate, announcedIp: string) {
    this.#gatherer = gatherer;
    this.#announcedIp = announcedIp;
    this.ice = new RTCIceTransport(gatherer);
    this.dtls = new RTCDtlsTransport({}, this.ice, certificate, [SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80]);
  }

  /** Binds one UDP socket and gathers its host candidate. */
  static async open(opts: LegOptions): Promise<IceDtlsLeg> {
    const gatherer = new RTCIceGatherer({
      iceLite: true,
      // No interface scan and no STUN server: one host candidate on the announced address.
      useIpv4: false,
      useIpv6: false,
      additionalHostAddresses: [opts.announcedIp],
      stunServer: undefined,
      turnServer: undefined,
      ...(opts.portRange ? { portRange: [opts.portRange[0], opts.portRange[1]] as [number, number] } : {}),
      ...(opts.listenIp !== undefined ? { interfaceAddresses: { udp4: opts.listenIp } } : {}),
    });
    await gatherer.gather();
    // werift swallows a failed bind and gathers nothing: that is no port free.
    if (gatherer.localCandidates.length === 0) {
      await gatherer.connection.close().catch(() => {});
      throw new Error('could not bind a UDP port for ICE');
    }
    return new IceDtlsLeg(gatherer, opts.certificate, opts.announcedIp);
  }

  /** The UDP port our candidate listens on. */
  get port(): number {
    return this.#gatherer.localCandidates[0]?.port ?? 0;
  }

  get iceParameters(): IceParameters {
    const p = this.#gatherer.localParameters;
    return { usernameFragment: p.usernameFragment, password: p.password, iceLite: true };
  }

  get iceCandidates(): IceCandidate[] {
    return this.#gatherer.localCandidates
      .filter((c) => c.protocol === 'udp')
      .map((c) => ({ foundation: c.foundation, priority: c.priority, ip: this.#announcedIp, address: this.#announcedIp, protocol: 'udp' as const, port: c.port, type: 'host' as const }));
  }

  get dtlsParameters(): DtlsParameters {
    return { role: 'auto', fingerprints: this.dtls.localParameters.fingerprints.map((f) => ({ algorithm: f.algorithm, value: f.value })) };
  }

  /**
   * Takes the client's DTLS parameters and starts ICE then DTLS in the
   * background: the client only starts its checks after this resolves, so
   * waiting for them here would deadlock. Progress shows in `dtls` state.
   */
  start(remote: DtlsParameters, onFailure: (err: unknown) => void): void {
    if (this.#started) throw new Error('already started');
    this.#started = true;
    // The client's role decides ours: a client that acts as DTLS client makes us the server.
    this.dtls.role = remote.role === 'server' ? 'client' : 'server';
    this.dtls.setRemoteParams(new RTCDtlsParameters(remote.fingerprints.map((f) => new RTCDtlsFingerprint(f.algorithm, f.value)), remote.role ?? 'auto'));
    const placeholder = randomBytes(6).toString('hex');
    this.ice.setRemoteParams({ iceLite: false, usernameFragment: placeholder, password: placeholder });
    void (async () => {
      await this.ice.start();
      await this.dtls.start();
    })().catch(onFailure);
  }

  get started(): boolean {
    return this.#started;
  }

  /** New local credentials (ICE restart); the client applies them with `restartIce`. */
  restartIce(): IceParameters {
    const conn = this.#gatherer.connection;
    conn.localUsername = randomBytes(4).toString('hex');
    conn.localPassword = randomBytes(16).toString('hex');
    return this.iceParameters;
  }

  /** Stopping DTLS stops its ICE transport, which closes the UDP socket. */
  async close(): Promise<void> {
    await this.dtls.stop().catch(() => {});
  }
}
