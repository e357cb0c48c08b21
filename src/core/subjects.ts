/**
 * Bus subjects (see src/ports/bus.ts): dot-separated tokens; in a pattern
 * `*` matches one token and a final `>` one or more.
 */
const TOKEN = /^[^.\s*>]+$/;

/** Checks a subject (`wildcards` false) or a pattern; throws TypeError when it is malformed. */
export function assertSubject(subject: string, wildcards: boolean): void {
  const tokens = subject.split('.');
  const ok = tokens.every((t, i) => TOKEN.test(t) || (wildcards && (t === '*' || (t === '>' && i === tokens.length - 1))));
  if (!ok) throw new TypeError(`invalid bus ${wildcards ? 'pattern' : 'subject'}: ${JSON.stringify(subject)}`);
}

/** Whether `subject` matches `pattern` under the rules above. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}
