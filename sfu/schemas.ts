/**
 * The data of every client request (parity 7.2), as JSON Schemas `as const`:
 * checked once at the edge with ajv, typed from the same schema with
 * json-schema-to-ts. Objects that mediasoup-client fills (RTP parameters and
 * capabilities, DTLS parameters) are checked for the fields we read and may
 * carry more, since mediasoup-client versions add fields; the engine checks
 * them against the router's codecs.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { FromSchema } from 'json-schema-to-ts';
import { AppError } from '../src/errors.js';

const id = { type: 'string', minLength: 1, maxLength: 128 } as const;
const uint32 = { type: 'integer', minimum: 0, maximum: 4294967295 } as const;
const paramValues = { type: 'object', additionalProperties: { type: ['string', 'number'] } } as const;
const rtcpFeedback = { type: 'array', maxItems: 32, items: { type: 'object', required: ['type'], properties: { type: { type: 'string' }, parameter: { type: 'string' } } } } as const;
const anyObject = { type: 'object' } as const;

const rtpCapabilities = {
  type: 'object',
  properties: {
    codecs: {
      type: 'array',
      maxItems: 128,
      items: {
        type: 'object',
        required: ['kind', 'mimeType', 'preferredPayloadType', 'clockRate'],
        properties: {
          kind: { enum: ['audio', 'video'] },
          mimeType: { type: 'string', pattern: '^(audio|video)/[^/\\s]+$' },
          preferredPayloadType: { type: 'integer', minimum: 0, maximum: 127 },
          clockRate: { type: 'integer', minimum: 1 },
          channels: { type: 'integer', minimum: 1, maximum: 255 },
          parameters: paramValues,
          rtcpFeedback,
        },
      },
    },
    headerExtensions: {
      type: 'array',
      maxItems: 64,
      items: { type: 'object', required: ['kind', 'uri', 'preferredId'], properties: { kind: { enum: ['audio', 'video'] }, uri: { type: 'string' }, preferredId: { type: 'integer', minimum: 1, maximum: 255 } } },
    },
  },
} as const;

const rtpParameters = {
  type: 'object',
  required: ['codecs'],
  properties: {
    mid: { type: 'string', minLength: 1 },
    codecs: {
      type: 'array',
      minItems: 1,
      maxItems: 32,
      items: {
        type: 'object',
        required: ['mimeType', 'payloadType', 'clockRate'],
        properties: {
          mimeType: { type: 'string', pattern: '^(audio|video)/[^/\\s]+$' },
          payloadType: { type: 'integer', minimum: 0, maximum: 127 },
          clockRate: { type: 'integer', minimum: 1 },
          channels: { type: 'integer', minimum: 1, maximum: 255 },
          parameters: paramValues,
          rtcpFeedback,
        },
      },
    },
    headerExtensions: {
      type: 'array',
      maxItems: 32,
      items: { type: 'object', required: ['uri', 'id'], properties: { uri: { type: 'string' }, id: { type: 'integer', minimum: 1, maximum: 255 }, encrypt: { type: 'boolean' } } },
    },
    encodings: {
      type: 'array',
      maxItems: 8,
      items: {
        type: 'object',
        properties: {
          ssrc: uint32,
          rid: { type: 'string', minLength: 1 },
          rtx: { type: 'object', required: ['ssrc'], properties: { ssrc: uint32 } },
          dtx: { type: 'boolean' },
          maxBitrate: { type: 'integer', minimum: 0 },
          scaleResolutionDownBy: { type: 'number', minimum: 1 },
          scalabilityMode: { type: 'string' },
        },
      },
    },
    rtcp: { type: 'object', properties: { cname: { type: 'string' }, reducedSize: { type: 'boolean' }, mux: { type: 'boolean' } } },
  },
} as const;

const dtlsParameters = {
  type: 'object',
  required: ['fingerprints'],
  properties: {
    role: { enum: ['auto', 'client', 'server'] },
    fingerprints: {
      type: 'array',
      minItems: 1,
      maxItems: 8,
      items: { type: 'object', required: ['algorithm', 'value'], properties: { algorithm: { type: 'string', minLength: 1 }, value: { type: 'string', minLength: 1 } } },
    },
  },
} as const;

const none = { type: 'object' } as const;
const transportRef = { type: 'object', required: ['transportId'], properties: { transportId: id } } as const;
const producerRef = { type: 'object', required: ['producerId'], properties: { producerId: id } } as const;
const consumerRef = { type: 'object', required: ['consumerId'], properties: { consumerId: id } } as const;
const peerRef = { type: 'object', required: ['whom'], properties: { whom: id } } as const;

/** Request data schemas by method (dialog's names). */
export const requestSchemas = {
  getRouterRtpCapabilities: none,
  createWebRtcTransport: {
    type: 'object',
    required: ['producing', 'consuming'],
    properties: { producing: { type: 'boolean' }, consuming: { type: 'boolean' }, forceTcp: { type: 'boolean' }, sctpCapabilities: anyObject },
  },
  connectWebRtcTransport: { type: 'object', required: ['transportId', 'dtlsParameters'], properties: { transportId: id, dtlsParameters } },
  restartIce: transportRef,
  closeWebRtcTransport: transportRef,
  getTransportStats: transportRef,
  join: {
    type: 'object',
    required: ['rtpCapabilities'],
    properties: { displayName: { type: 'string', maxLength: 256 }, device: anyObject, rtpCapabilities, sctpCapabilities: anyObject, token: { type: 'string', maxLength: 16384 } },
  },
  produce: { type: 'object', required: ['transportId', 'kind', 'rtpParameters'], properties: { transportId: id, kind: { enum: ['audio', 'video'] }, rtpParameters, appData: anyObject } },
  closeProducer: producerRef,
  pauseProducer: producerRef,
  resumeProducer: producerRef,
  getProducerStats: producerRef,
  pauseConsumer: consumerRef,
  resumeConsumer: consumerRef,
  requestConsumerKeyFrame: consumerRef,
  getConsumerStats: consumerRef,
  setConsumerPreferredLayers: { type: 'object', required: ['consumerId'], properties: { consumerId: id, spatialLayer: { type: 'integer', minimum: 0 }, temporalLayer: { type: 'integer', minimum: 0 } } },
  setConsumerPriority: { type: 'object', required: ['consumerId'], properties: { consumerId: id, priority: { type: 'integer', minimum: 1, maximum: 255 } } },
  refreshConsumers: none,
  kick: { type: 'object', required: ['user_id'], properties: { user_id: id, room_id: { type: 'string' }, token: { type: 'string' } } },
  block: peerRef,
  unblock: peerRef,
} as const;

export type Method = keyof typeof requestSchemas;
export type RequestData<M extends Method> = FromSchema<(typeof requestSchemas)[M]>;

const ajv = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false, strict: true, allowUnionTypes: true });
const validators = new Map<string, ValidateFunction>(Object.entries(requestSchemas).map(([m, s]) => [m, ajv.compile(s)]));

export function isMethod(method: string): method is Method {
  return validators.has(method);
}

/** Throws AppError('BAD_REQUEST') naming the first problem unless `data` fits the schema of `method` (then it is a `RequestData<method>`). */
export function checkRequest(method: Method, data: unknown): void {
  const validate = validators.get(method);
  if (!validate) throw new TypeError(`no schema for ${method}`);
  if (!validate(data)) {
    const e = validate.errors?.[0];
    throw new AppError('BAD_REQUEST', `${method}: data${e?.instancePath ?? ''} ${e?.message ?? 'is invalid'}`);
  }
}
