/** The README tells the truth about configuration: every setting, with its default. */
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
