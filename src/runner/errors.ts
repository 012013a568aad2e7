/**
 * Diagnostics for pipeline files. Every message a user sees about a pipeline
 * names where the mistake is (`file:line:column`, or the `--set` flag that
 * introduced the value) and the node it belongs to, then says what to do.
 */

/** Where a value came from: a place in a YAML file, or a command-line flag. */
export interface Loc {
  file: string;
  line: number;
  col: number;
  /** Set when the value came from `-S/--set` or a sweep point, not a file. */
  flag?: string;
}

export function formatLoc(loc: Loc | undefined): string {
  if (!loc) return '<pipeline>';
  if (loc.flag) return loc.flag;
  return `${loc.file}:${loc.line}:${loc.col}`;
}

export interface Diagnostic {
  loc?: Loc;
  node?: string;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = formatLoc(d.loc);
  const node = d.node ? `node "${d.node}": ` : '';
  return `${where}: ${node}${d.message}`;
}

/** One or more problems found while loading or validating a pipeline. */
export class PipelineError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'PipelineError';
    this.diagnostics = diagnostics;
  }
}

/** Collects diagnostics so a user sees every problem of a file at once. */
export class Diagnostics {
  readonly list: Diagnostic[] = [];
  add(loc: Loc | undefined, message: string, node?: string): void {
    this.list.push({ loc, message, node });
  }
  throwIfAny(): void {
    if (this.list.length) throw new PipelineError(this.list);
  }
}
