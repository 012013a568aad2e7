/**
 * `entroad dag`: the pipeline graph as text, Mermaid or Graphviz dot, each
 * node marked cached / run (stale) / volatile / unknown from the dry-run plan.
 */
import type { Pipeline } from './load.ts';
import type { PlanEntry } from './run.ts';

export type DagFormat = 'text' | 'mermaid' | 'dot';

function edges(p: Pipeline): { from: string; to: string; label: string }[] {
  const out: { from: string; to: string; label: string }[] = [];
  for (const n of p.nodes) {
    for (const [port, r] of Object.entries(n.inputs))
      out.push({ from: r.node, to: n.id, label: `${r.port} -> ${port}` });
    for (const [port, l] of Object.entries(n.inputLists)) {
      for (const r of l) out.push({ from: r.node, to: n.id, label: `${r.port} -> ${port}` });
    }
  }
  return out;
}

const STATE_TEXT = {
  cached: 'cached',
  run: 'stale',
  volatile: 'volatile',
  unknown: 'unknown',
} as const;

export function renderDag(p: Pipeline, plan: PlanEntry[], format: DagFormat): string {
  const state = new Map(plan.map((e) => [e.id, e]));
  const es = edges(p);
  if (format === 'text') {
    const w = Math.max(...p.nodes.map((n) => n.id.length));
    return p.nodes
      .map((n) => {
        const e = state.get(n.id)!;
        const ins = es
          .filter((x) => x.to === n.id)
          .map((x) => `${x.from}.${x.label.split(' ')[0]}`);
        const from = ins.length ? `  <- ${ins.join(', ')}` : '';
        return `${n.id.padEnd(w)}  ${STATE_TEXT[e.state].padEnd(8)} ${n.type.type}${from}`;
      })
      .join('\n');
  }
  if (format === 'mermaid') {
    const lines = ['flowchart TD'];
    for (const n of p.nodes) {
      lines.push(
        `  ${n.id}["${n.id}<br/><small>${n.type.type}</small>"]:::${STATE_TEXT[state.get(n.id)!.state]}`,
      );
    }
    for (const e of es) lines.push(`  ${e.from} -->|"${e.label}"| ${e.to}`);
    lines.push(
      '  classDef cached fill:#d4f7d4,stroke:#2a7a2a',
      '  classDef stale fill:#fde2c8,stroke:#b35c00',
      '  classDef volatile fill:#dde7fb,stroke:#2a4f9a',
      '  classDef unknown fill:#eeeeee,stroke:#777777',
    );
    return lines.join('\n');
  }
  const color = { cached: '#d4f7d4', run: '#fde2c8', volatile: '#dde7fb', unknown: '#eeeeee' };
  const lines = [
    'digraph pipeline {',
    '  rankdir=TB;',
    '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
  ];
  for (const n of p.nodes) {
    const e = state.get(n.id)!;
    lines.push(
      `  "${n.id}" [label="${n.id}\\n${n.type.type}\\n(${STATE_TEXT[e.state]})", fillcolor="${color[e.state]}"];`,
    );
  }
  for (const e of es) lines.push(`  "${e.from}" -> "${e.to}" [label="${e.label}"];`);
  lines.push('}');
  return lines.join('\n');
}
