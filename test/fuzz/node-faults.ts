/**
 * What "no crash" means for a node under fuzzing: nothing logged at error
 * level or above (a human must act: an unexpected exception somewhere), no
 * hub actor item faulted or crashed, and the health probe still answers.
 */
import pino, { type Logger } from 'pino';
import type { HubmeshNode } from '../../src/main.js';

/** A logger for the node that keeps every error-level record (message and error), and drops the rest. */
export function faultLogger(): { readonly logger: Logger; readonly errors: string[] } {
  const errors: string[] = [];
  const stream = {
    write(line: string): void {
      const record = JSON.parse(line) as { level: number; msg?: string; err?: { message?: string; stack?: string } };
      if (record.level >= 50) errors.push(`${record.msg ?? ''}: ${record.err?.stack ?? record.err?.message ?? ''}`);
    },
  };
  return { logger: pino({ level: 'error' }, stream), errors };
}

const HUB_ITEM_TYPES = ['hub/join', 'hub/leave', 'hub/event', 'hub/remote', 'hub/node-down', 'hub/resync', 'hub/control', 'hub/call'];

/** The problems the node shows, if any: error logs, hub faults, a failing health probe. */
export async function nodeFaults(node: HubmeshNode, errors: readonly string[]): Promise<string[]> {
  const problems = errors.map((e) => `logged an error: ${e.slice(0, 500)}`);
  for (const type of HUB_ITEM_TYPES) {
    const faults = node.metrics.get('hub_item_faults_total', { type });
    if (faults > 0) problems.push(`${faults} faults handling ${type}`);
  }
  const crashes = node.metrics.get('hub_crashes_total');
  if (crashes > 0) problems.push(`${crashes} hub actor crashes`);
  const health = await node.app.inject({ url: '/healthz' });
  if (health.statusCode !== 200) problems.push(`/healthz answered ${health.statusCode}`);
  return problems;
}
