/**
 * What every `hubmesh` command shares: failures with their exit status (2
 * with a usage for a command called wrongly, 1 otherwise), output, and the
 * parsing of options.
 */

/**
 * A failure to report on stderr: with a usage (exit 2) when the command was
 * called wrongly, otherwise exit 1. `status` is the HTTP status of a node's
 * refusal.
 */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly usage?: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The node did not answer at all. */
export class NodeUnreachable extends CliFailure {}

export function write(stream: NodeJS.WriteStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function showHelp(usage: string): number {
  write(process.stdout, usage);
  return 0;
}

/** Runs `parseArgs`, turning its refusals into a usage failure. */
export function parse<T>(usage: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) throw new CliFailure(err.message, usage);
    throw err;
  }
}

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

