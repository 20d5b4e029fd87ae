import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { EVENT_TABLE } from './records.ts';

// docs/FORMAT.md and docs/REPORT.md are the specifications other tools are
// written against: keep them in step with the code.
const doc = (name: string) => readFileSync(new URL(`../docs/${name}`, import.meta.url), 'utf8');

describe('docs', () => {
  it('FORMAT.md documents every event and every field of EVENT_TABLE', () => {
    const f = doc('FORMAT.md');
    for (const e of EVENT_TABLE) {
      const row = f.split('\n').find((l) => l.startsWith(`| ${e.code} | \`${e.name}\``));
      expect(row, `row for ${e.name}`).toBeDefined();
      for (const field of e.fields) if (field.word >= 4) expect(row, `${e.name}.${field.name}`).toContain(`\`${field.name}\``);
    }
  });

  it('REPORT.md documents every top-level and summary field of the JSON report', async () => {
    const r = doc('REPORT.md');
    const { buildReport } = await import('./report/build.ts');
    const { ingestBytes } = await import('./ingest.ts');
    const { bankSample } = await import('./testing/samples.ts');
    const { ingest, status } = ingestBytes(bankSample().bytes());
    const rep = buildReport(ingest.aggregator!.snapshot(), { meta: ingest.meta, status });
    const keys = [
      ...Object.keys(rep),
      ...Object.keys(rep.summary),
      ...Object.keys(rep.conflicts[0]),
      ...Object.keys(rep.conflicts[0].victim),
      ...Object.keys(rep.hotObjects[0]),
      ...Object.keys(rep.workers[0]),
      ...Object.keys(rep.timeline),
      ...Object.keys(rep.recording),
    ];
    for (const k of new Set(keys)) expect(r, k).toContain(`\`${k}\``);
  });
});
