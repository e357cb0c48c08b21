/**
 * What every router of every engine offers (codecs, header extensions), and
 * the pure RTP-parameter rules both engines share: validating what a client
 * produces, and building what a consumer receives. The rules are mediasoup's
 * (node/src/ortc.ts), cut down to what we forward: one media codec per
 * producer, no RTX, no simulcast layers picked per consumer.
 *
 * Failures: malformed arguments throw `TypeError` (a programmer or client
 * bug caught before any engine state changes); well-formed parameters we
 * cannot serve throw `AppError('BAD_REQUEST')`.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { AppError } from '../src/errors.js';
import type {
  MediaKind,
  RtcpFeedback,
  RtpCapabilities,
  RtpCodecCapability,
  RtpCodecParameters,
  RtpHeaderExtensionCapability,
  RtpParameters,
} from '../src/ports/media-engine.js';

// `parameter: ''` where there is none, as mediasoup's router and its client's normalization write it.
const videoFeedback: readonly RtcpFeedback[] = [
  { type: 'nack', parameter: '' },
  { type: 'nack', parameter: 'pli' },
  { type: 'ccm', parameter: 'fir' },
  { type: 'goog-remb', parameter: '' },
];

// No transport-cc: we send no transport-wide sequence numbers and answer no
// feedback for them, so offering it would make clients wait for nothing.
const codecs: readonly RtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', preferredPayloadType: 100, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [{ type: 'nack', parameter: '' }] },
  { kind: 'video', mimeType: 'video/VP8', preferredPayloadType: 101, clockRate: 90000, parameters: {}, rtcpFeedback: videoFeedback },
  {
    kind: 'video',
    mimeType: 'video/H264',
    preferredPayloadType: 102,
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
    rtcpFeedback: videoFeedback,
  },
];

const ext = (kind: MediaKind, uri: string, preferredId: number): RtpHeaderExtensionCapability => ({ kind, uri, preferredId, preferredEncrypt: false, direction: 'sendrecv' });

const headerExtensions: readonly RtpHeaderExtensionCapability[] = [
  ext('audio', 'urn:ietf:params:rtp-hdrext:sdes:mid', 1),
  ext('video', 'urn:ietf:params:rtp-hdrext:sdes:mid', 1),
  ext('audio', 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', 10),
  ext('video', 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', 4),
  ext('video', 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id', 5),
];

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The RTP capabilities of every router: mediasoup's JSON, handed to `device.load()` as they are. */
export const routerRtpCapabilities: RtpCapabilities = deepFreeze({ codecs, headerExtensions });

/** What a producer's parameters matched: its media codec and the router codec it maps to. */
export interface ProducerCodecMatch {
  readonly codec: RtpCodecParameters;
  readonly routerCodec: RtpCodecCapability;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUint = (v: unknown, max = 0xffffffff): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;
const MIME = /^(audio|video)\/[^/\s]+$/i;

function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new TypeError(`invalid ${what}`);
}

function checkOptional(v: unknown, isValid: (v: unknown) => boolean, what: string): void {
  check(v === undefined || isValid(v), what);
}

function checkFeedback(v: unknown, what: string): void {
  checkOptional(v, (list) => Array.isArray(list) && list.every((fb) => isObject(fb) && typeof fb['type'] === 'string' && (fb['parameter'] === undefined || typeof fb['parameter'] === 'string')), what);
}

function checkCodecParameters(v: unknown, what: string): void {
  checkOptional(v, (p) => isObject(p) && Object.values(p).every((x) => typeof x === 'string' || typeof x === 'number'), what);
}

function checkCodec(c: unknown, i: number): void {
  const at = `rtpParameters.codecs[${i}]`;
  check(isObject(c), at);
  check(typeof c['mimeType'] === 'string' && MIME.test(c['mimeType']), `${at}.mimeType`);
  check(isUint(c['payloadType'], 127), `${at}.payloadType`);
  check(isUint(c['clockRate']) && c['clockRate'] > 0, `${at}.clockRate`);
  checkOptional(c['channels'], (n) => isUint(n, 255) && n > 0, `${at}.channels`);
  checkCodecParameters(c['parameters'], `${at}.parameters`);
  checkFeedback(c['rtcpFeedback'], `${at}.rtcpFeedback`);
}

function checkEncoding(e: unknown, i: number): void {
  const at = `rtpParameters.encodings[${i}]`;
  check(isObject(e), at);
  checkOptional(e['ssrc'], (n) => isUint(n), `${at}.ssrc`);
  checkOptional(e['rid'], (s) => typeof s === 'string' && s.length > 0, `${at}.rid`);
  checkOptional(e['rtx'], (r) => isObject(r) && isUint(r['ssrc']), `${at}.rtx`);
  checkOptional(e['dtx'], (b) => typeof b === 'boolean', `${at}.dtx`);
  checkOptional(e['maxBitrate'], (n) => isUint(n, Number.MAX_SAFE_INTEGER), `${at}.maxBitrate`);
  checkOptional(e['scaleResolutionDownBy'], (n) => typeof n === 'number' && n >= 1, `${at}.scaleResolutionDownBy`);
  checkOptional(e['scalabilityMode'], (s) => typeof s === 'string', `${at}.scalabilityMode`);
}

/** Throws `TypeError` unless `value` has the shape of mediasoup's RtpParameters. */
export function validateRtpParameters(value: unknown): asserts value is RtpParameters {
  check(isObject(value), 'rtpParameters');
  checkOptional(value['mid'], (s) => typeof s === 'string' && s.length > 0, 'rtpParameters.mid');
  const list = value['codecs'];
  check(Array.isArray(list) && list.length > 0, 'rtpParameters.codecs');
  list.forEach(checkCodec);
  checkOptional(value['headerExtensions'], (l) => Array.isArray(l) && l.every((h) => isObject(h) && typeof h['uri'] === 'string' && isUint(h['id'], 255) && h['id'] > 0 && (h['encrypt'] === undefined || typeof h['encrypt'] === 'boolean')), 'rtpParameters.headerExtensions');
  const encodings = value['encodings'];
  checkOptional(encodings, Array.isArray, 'rtpParameters.encodings');
  if (Array.isArray(encodings)) encodings.forEach(checkEncoding);
  checkOptional(value['rtcp'], (r) => isObject(r) && (r['cname'] === undefined || typeof r['cname'] === 'string') && (r['reducedSize'] === undefined || typeof r['reducedSize'] === 'boolean') && (r['mux'] === undefined || typeof r['mux'] === 'boolean'), 'rtpParameters.rtcp');
}

/** Throws `TypeError` unless `value` has the shape of mediasoup's RtpCapabilities (what `device.rtpCapabilities` gives). */
export function validateRtpCapabilities(value: unknown): asserts value is RtpCapabilities {
  check(isObject(value), 'rtpCapabilities');
  const list = value['codecs'];
  checkOptional(list, Array.isArray, 'rtpCapabilities.codecs');
  (Array.isArray(list) ? list : []).forEach((c: unknown, i) => {
    const at = `rtpCapabilities.codecs[${i}]`;
    check(isObject(c), at);
    check(typeof c['mimeType'] === 'string' && MIME.test(c['mimeType']), `${at}.mimeType`);
    checkOptional(c['kind'], (k) => k === 'audio' || k === 'video', `${at}.kind`);
    check(isUint(c['clockRate']) && c['clockRate'] > 0, `${at}.clockRate`);
    checkOptional(c['preferredPayloadType'], (n) => isUint(n, 127), `${at}.preferredPayloadType`);
    checkOptional(c['channels'], (n) => isUint(n, 255) && n > 0, `${at}.channels`);
    checkCodecParameters(c['parameters'], `${at}.parameters`);
    checkFeedback(c['rtcpFeedback'], `${at}.rtcpFeedback`);
  });
  checkOptional(value['headerExtensions'], (l) => Array.isArray(l) && l.every((h) => isObject(h) && typeof h['uri'] === 'string'), 'rtpCapabilities.headerExtensions');
}

const kindOf = (mimeType: string): string => mimeType.slice(0, mimeType.indexOf('/')).toLowerCase();
const isRtx = (mimeType: string): boolean => /\/rtx$/i.test(mimeType);

// H.264 profiles by profile_idc and the bits of profile-iop that decide them
// (RFC 6184 table 5; mediasoup's h264-profile-level-id). 'x' is either bit.
const h264Profiles: readonly [idc: number, iop: string, profile: string][] = [
  [0x42, 'x1xx0000', 'constrained-baseline'],
  [0x4d, '1xxx0000', 'constrained-baseline'],
  [0x58, '11xx0000', 'constrained-baseline'],
  [0x42, 'x0xx0000', 'baseline'],
  [0x58, '10xx0000', 'baseline'],
  [0x4d, '0x0x0000', 'main'],
  [0x64, '00000000', 'high'],
  [0x64, '00001100', 'constrained-high'],
  [0xf4, '00000000', 'predictive-high-444'],
];

function h264Profile(parameters: RtpCodecParameters['parameters']): string | undefined {
  // RFC 6184 8.1: without profile-level-id the stream is constrained baseline.
  const id = String(parameters?.['profile-level-id'] ?? '42e01f');
  if (!/^[0-9a-f]{6}$/i.test(id)) return undefined;
  const idc = parseInt(id.slice(0, 2), 16);
  const iop = parseInt(id.slice(2, 4), 16);
  const matches = (pattern: string) => [...pattern].every((bit, i) => bit === 'x' || ((iop >> (7 - i)) & 1) === Number(bit));
  return h264Profiles.find(([pIdc, pattern]) => pIdc === idc && matches(pattern))?.[2];
}

type CodecLike = Pick<RtpCodecParameters, 'mimeType' | 'clockRate' | 'channels' | 'parameters'>;

/** mediasoup's `matchCodecs(a, b, { strict: true })`, for the codecs we offer. */
function isSameCodec(a: CodecLike, b: CodecLike): boolean {
  const mime = a.mimeType.toLowerCase();
  if (mime !== b.mimeType.toLowerCase() || a.clockRate !== b.clockRate) return false;
  if (kindOf(mime) === 'audio' && (a.channels ?? 1) !== (b.channels ?? 1)) return false;
  if (mime === 'video/h264') {
    const mode = (c: CodecLike) => Number(c.parameters?.['packetization-mode'] ?? 0);
    const profile = h264Profile(a.parameters);
    if (mode(a) !== mode(b) || profile === undefined || profile !== h264Profile(b.parameters)) return false;
  }
  return true;
}

/**
 * Checks what a client wants to produce against the router's capabilities.
 * Every codec but RTX must be of `kind` and one the router offers (RTX is
 * ignored: routers offer none). Returns the first media codec, which is what
 * the client sends, and the router codec it maps to.
 * @throws TypeError for a malformed `kind` or `rtpParameters`.
 * @throws AppError('BAD_REQUEST') for a codec of another kind or one the router lacks.
 */
export function matchProducerCodec(kind: unknown, rtpParameters: unknown, caps: RtpCapabilities = routerRtpCapabilities): ProducerCodecMatch {
  check(kind === 'audio' || kind === 'video', 'kind');
  validateRtpParameters(rtpParameters);
  let first: ProducerCodecMatch | undefined;
  for (const codec of rtpParameters.codecs) {
    if (isRtx(codec.mimeType)) continue;
    if (kindOf(codec.mimeType) !== kind) throw new AppError('BAD_REQUEST', `codec ${codec.mimeType} does not match kind ${kind}`);
    const routerCodec = caps.codecs?.find((c) => c.kind === kind && isSameCodec(codec, c));
    if (!routerCodec) throw new AppError('BAD_REQUEST', `unsupported codec ${codec.mimeType}`, { details: { mimeType: codec.mimeType } });
    first ??= { codec, routerCodec };
  }
  if (!first) throw new AppError('BAD_REQUEST', 'no media codec in rtpParameters');
  return first;
}

/**
 * The RTP parameters a consumer of a producer receives, in mediasoup's model:
 * the router's payload type for the producer's codec, the producer's codec
 * parameters, the RTCP feedback both the router and the consumer support, a
 * new random SSRC, the producer's cname (a random one if it is missing or
 * empty), no header extensions (forwarded packets carry none) and the
 * `mid` given, which must differ per consumer of a transport, as mediasoup
 * numbers them: without one mediasoup-client makes up a mid that it may
 * already have used on that transport, and Chromium then refuses the
 * renegotiation ("Duplicate a=mid value").
 * @throws TypeError for malformed `rtpCapabilities`.
 * @throws AppError('BAD_REQUEST') when the consumer's capabilities lack the producer's codec.
 */
export function buildConsumerRtpParameters(options: {
  readonly producer: { readonly kind: MediaKind; readonly rtpParameters: RtpParameters };
  readonly rtpCapabilities: unknown;
  readonly routerCapabilities?: RtpCapabilities;
  readonly mid?: string;
}): RtpParameters {
  const { producer, rtpCapabilities } = options;
  validateRtpCapabilities(rtpCapabilities);
  const { codec, routerCodec } = matchProducerCodec(producer.kind, producer.rtpParameters, options.routerCapabilities ?? routerRtpCapabilities);
  const theirs = rtpCapabilities.codecs?.find((c) => (c.kind ?? kindOf(c.mimeType)) === producer.kind && isSameCodec(routerCodec, c));
  if (!theirs) throw new AppError('BAD_REQUEST', `the consumer cannot receive ${routerCodec.mimeType}`, { details: { mimeType: routerCodec.mimeType } });
  const supported = (fb: RtcpFeedback) => (theirs.rtcpFeedback ?? []).some((t) => t.type === fb.type && (t.parameter ?? '') === (fb.parameter ?? ''));
  return {
    ...(options.mid === undefined ? {} : { mid: options.mid }),
    codecs: [{
      mimeType: routerCodec.mimeType,
      payloadType: routerCodec.preferredPayloadType,
      clockRate: routerCodec.clockRate,
      ...(routerCodec.channels === undefined ? {} : { channels: routerCodec.channels }),
      parameters: { ...codec.parameters },
      rtcpFeedback: (routerCodec.rtcpFeedback ?? []).filter(supported).map((fb) => ({ ...fb })),
    }],
    headerExtensions: [],
    encodings: [{ ssrc: generateSsrc() }],
    // A simulcast producer's cname is '' (mediasoup-client reads it from a=ssrc lines, which RID simulcast has none of),
    // and mediasoup-client makes the consumer's msid stream id of it: Chromium refuses an empty one.
    rtcp: { cname: producer.rtpParameters.rtcp?.cname || randomBytes(8).toString('hex'), reducedSize: true, mux: true },
  };
}

/** A random SSRC in mediasoup's range (nine digits), for a consumer's stream. */
export function generateSsrc(): number {
  return randomInt(100_000_000, 1_000_000_000);
}
