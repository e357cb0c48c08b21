import { onTestFinished } from 'vitest';
import { WeriftMedia } from '../../sfu/werift-media.js';
import { mediaEngineContract } from './media-engine.js';

mediaEngineContract(
  'WeriftMedia',
  async () => {
    const engine = new WeriftMedia({ announcedIp: '127.0.0.1' });
    onTestFinished(() => engine.close());
    return engine;
  },
  { announcedIp: '127.0.0.1' },
);
