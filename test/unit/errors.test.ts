import { describe, it, expect } from 'vitest';
import { AppError, ErrorCode, type ErrorCodeName, toAppError } from '../../src/errors.js';

const codes = Object.keys(ErrorCode) as ErrorCodeName[];

describe('ErrorCode', () => {
  it('gives every code a unique reason', () => {
    const reasons = codes.map((c) => ErrorCode[c].reason);
    expect(new Set(reasons).size).toBe(reasons.length);
  });

  it.each(codes)('%s maps to an HTTP error status', (code) => {
    expect(ErrorCode[code].http).toBeGreaterThanOrEqual(400);
    expect(ErrorCode[code].http).toBeLessThan(600);
    expect(ErrorCode[code].reason).not.toBe('');
  });

  it('keeps the reasons Reticulum and Phoenix send, spelled unchanged (parity 1.3, 2.4)', () => {
    const reasons = new Set(codes.map((c) => ErrorCode[c].reason));
    for (const reason of ['not_found', 'closed', 'join_denied', 'oauth_required', 'join crashed', 'unmatched topic']) {
      expect(reasons).toContain(reason);
    }
    expect(ErrorCode.HUB_NOT_FOUND.reason).toBe('not_found');
    expect(ErrorCode.HUB_CLOSED.reason).toBe('closed');
    expect(ErrorCode.JOIN_DENIED.reason).toBe('join_denied');
    expect(ErrorCode.OAUTH_REQUIRED.reason).toBe('oauth_required');
    expect(ErrorCode.JOIN_CRASHED.reason).toBe('join crashed');
    expect(ErrorCode.UNMATCHED_TOPIC.reason).toBe('unmatched topic');
  });
});

describe('AppError', () => {
  it('is an Error with its code, status and reason', () => {
    const err = new AppError('HUB_CLOSED', 'Hub no longer accessible');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AppError');
    expect(err.code).toBe('HUB_CLOSED');
    expect(err.http).toBe(410);
    expect(err.reason).toBe('closed');
    expect(err.message).toBe('Hub no longer accessible');
    expect(err.details).toBeUndefined();
  });

  it('toReply is Reticulum\'s {reason, message}', () => {
    expect(new AppError('HUB_NOT_FOUND', 'No such Hub').toReply()).toEqual({ reason: 'not_found', message: 'No such Hub' });
  });

  it('toReply spreads the details', () => {
    const err = new AppError('OAUTH_REQUIRED', 'OAuth required', { details: { oauth_info: [{ type: 'discord', url: 'https://example.org' }] } });
    expect(err.toReply()).toEqual({ reason: 'oauth_required', message: 'OAuth required', oauth_info: [{ type: 'discord', url: 'https://example.org' }] });
  });

  it('keeps the cause', () => {
    const cause = new Error('boom');
    expect(new AppError('INTERNAL', 'internal error', { cause }).cause).toBe(cause);
  });
});

describe('toAppError', () => {
  it('returns an AppError unchanged', () => {
    const err = new AppError('TIMEOUT', 'timed out');
    expect(toAppError(err)).toBe(err);
  });

  it.each([new Error('boom'), 'a string', undefined, { code: 'HUB_CLOSED' }])('wraps %j as INTERNAL with the original as cause', (thrown) => {
    const err = toAppError(thrown);
    expect(err.code).toBe('INTERNAL');
    expect(err.http).toBe(500);
    expect(err.cause).toBe(thrown);
  });
});
