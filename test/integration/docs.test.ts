/** The README and SECURITY.md tell the truth about configuration: every setting, and every limit, with its default. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { describeConfig } from '../../src/config.js';

describe('README', () => {
  it('opens with the two commands', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const firstBlock = readme.split('```')[1] ?? '';
    expect(firstBlock).toContain('npm install && npm start');
    expect(firstBlock).toContain('npm test');
  });

  it('lists every setting with its default', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    for (const s of describeConfig()) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${s.env}\` |`));
      expect(row, s.env).toBeDefined();
      if (s.default !== '(none)') expect(row).toContain(`\`${s.default}\``);
    }
  });
});

describe('SECURITY.md', () => {
  /** The rows of the settings table in the Limits section. */
  const rowsOf = (text: string) => (text.split('\n## Limits\n')[1] ?? '').split('\n## ')[0]!.split('\n').filter((line) => line.startsWith('| `HUBMESH_'));
  /** Settings whose names say they bound something, but for those that only match the pattern. */
  const notLimits = new Set(['HUBMESH_FLUSH_MAX_MS', 'HUBMESH_SFU_RTC_MAX_PORT']);
  const isLimit = (env: string) => /_(MAX|RATE|BURST|TIMEOUT|BUDGET)(_|$)|_PER_|_(UPLOAD|TOKEN)_TTL_/.test(env) && !notLimits.has(env);

  it('gives every setting in its limits table the default the code has', async () => {
    const security = await readFile(new URL('../../SECURITY.md', import.meta.url), 'utf8');
    const settings = new Map(describeConfig().map((s) => [s.env, s.default]));
    expect(rowsOf(security).length).toBeGreaterThan(20);
    for (const row of rowsOf(security)) {
      const env = /^\| `([A-Z0-9_]+)`/.exec(row)![1]!;
      expect(settings.has(env), `${env} is not a setting`).toBe(true);
      const value = settings.get(env);
      expect(row, env).toContain(value === '(none)' || value === '' ? '(none)' : `\`${value}\``);
    }
  });

  it('lists every limit', async () => {
    const security = await readFile(new URL('../../SECURITY.md', import.meta.url), 'utf8');
    const listed = new Set(rowsOf(security).map((row) => /^\| `([A-Z0-9_]+)`/.exec(row)![1]));
    const limits = describeConfig().map((s) => s.env).filter(isLimit);
    expect(limits.length).toBeGreaterThan(10);
    expect(limits.filter((env) => !listed.has(env))).toEqual([]);
  });
});
