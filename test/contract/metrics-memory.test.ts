import { MemoryMetrics } from '../../src/adapters/memory-metrics.js';
import { metricsContract } from './metrics.js';

metricsContract('MemoryMetrics', () => new MemoryMetrics());
