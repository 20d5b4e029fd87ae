import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

// model/ runs in Node, browsers and Web Workers: no node: imports, no DOM
// globals, no React, nothing imported from outside model/ (ARCHITECTURE.md).
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.ts$/.test(f) && !/\.test\.ts$/.test(f) ? [p] : [];
  });
}

describe('model purity', () => {
  it('imports nothing Node-only, DOM-only or from outside model/', () => {
    const here = new URL('.', import.meta.url).pathname;
    for (const file of sources(here)) {
      const src = readFileSync(file, 'utf8');
      const imports = [...src.matchAll(/^\s*(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
      for (const spec of imports) {
        expect(spec, `${file} imports ${spec}`).toMatch(/^\.\.?\//);
        const resolved = new URL(spec, 'file://' + file).pathname;
        expect(resolved.startsWith(here), `${file} imports ${spec} outside model/`).toBe(true);
      }
      const code = src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      expect(code, file).not.toMatch(/(?<![.\w$])(document|window|process|require)\s*[.(]/);
    }
  });

  it('the public index exports the main API', async () => {
    const m = await import('./index.ts');
    for (const name of ['RecordingEncoder', 'RecordingDecoder', 'EventStore', 'Aggregator', 'Ingest', 'buildReport', 'renderText', 'renderHtml', 'renderMarkdown', 'renderJson', 'adviseGroup', 'EVENT_TABLE']) {
      expect(m, name).toHaveProperty(name);
    }
  });
});
