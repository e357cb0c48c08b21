/** The chaos suite's report: a text table on stdout and the whole of it as JSON in test-results/. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ChaosReport } from './chaos-scenario.js';

/** The report as lines of text: one block per fault, its recovery time and every check. */
export function formatReport(report: ChaosReport): string {
  const { settings, traffic } = report;
  const lines = [
    `chaos ${report.ok ? 'passed' : 'FAILED'}: ${settings.nodes} nodes, ${report.clients} phoenix clients in ${settings.rooms} rooms, HUBMESH_NODE_DOWN_MS ${settings.nodeDownMs}`,
    `baseline RSS: ${Object.entries(report.baselineRssMiB).map(([node, mib]) => `${node} ${mib} MiB`).join(', ')}`,
  ];
  for (const f of report.faults) {
    const marks = Object.entries(f.marks).map(([what, ms]) => `${what} ${ms} ms`).join(', ');
    lines.push(`${f.ok ? 'ok  ' : 'FAIL'} ${f.fault}: recovered in ${f.recoveryMs} ms (${marks}); ${f.pinsBefore} pins and ${f.uploadsBefore} uploads acknowledged before`);
    for (const c of f.checks) lines.push(`       ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
    if (f.error !== undefined) lines.push(`       error: ${f.error}`);
  }
  lines.push(`traffic: ${traffic.poses} poses, ${traffic.grabs} grabs, ${traffic.bounces} clients left and came back, ${traffic.pinsAcked} pins and ${traffic.uploadsAcked} uploads acknowledged, ${traffic.pinsRefused} pins and ${traffic.uploadsRefused} uploads refused or unanswered`);
  return `${lines.join('\n')}\n`;
}

export async function writeReport(report: ChaosReport, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}
