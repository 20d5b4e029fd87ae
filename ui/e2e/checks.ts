/**
 * What the browser tests check on a page showing the work-queue fixture's
 * recording (consumers popping one queue head: victim `tasks.ts:17`
 * `const next = queue.head;`, culprit `tasks.ts:19` `queue.head = next + 1;`).
 * Shared by the server-backed and the standalone (file opened in the page) tests.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { REPO } from '../testing/browser.ts';

export const OUT = join(REPO, 'test-output', 'ui');
export const VICTIM = 'fixtures/work-queue/tasks.ts:17';
export const CULPRIT = 'fixtures/work-queue/tasks.ts:19';

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, `${name}.png`) });
}

export async function openTab(page: Page, view: string): Promise<void> {
  await page.click(`[data-testid=tab-${view}]`);
  await page.waitForSelector(`.st-app[data-view=${view}]`);
}

/** Overview and Conflicts name the top conflict with both file:line pairs, snippets highlighted. */
export async function checkTopConflict(page: Page, prefix: string): Promise<void> {
  await openTab(page, 'overview');
  await page.waitForSelector('[data-testid=top-conflict]');
  const first = await page.locator('[data-testid=top-conflict]').first().textContent();
  expect(first).toContain('queue.head');
  expect(first).toContain(VICTIM);
  expect(first).toContain(CULPRIT);
  expect(Number((await page.textContent('[data-testid=total-commits] .st-card__value'))!.replace(/,/g, ''))).toBeGreaterThan(2900);
  await shot(page, `${prefix}-overview`);

  await openTab(page, 'conflicts');
  await page.waitForSelector('[data-testid=group-detail]');
  await page.locator('[data-testid=group-row]').first().click();
  expect(await page.textContent('[data-testid=victim-location]')).toBe(VICTIM);
  expect(await page.textContent('[data-testid=culprit-location]')).toBe(CULPRIT);
  // Side by side: the victim's highlighted line is the read, the culprit's the write.
  const victimHl = page.locator('[data-testid=side-victim] [data-testid=snippet] [data-hl="1"]').first();
  const culpritHl = page.locator('[data-testid=side-culprit] [data-testid=snippet] [data-hl="1"]').first();
  await victimHl.waitFor();
  expect(await victimHl.textContent()).toContain('const next = queue.head;');
  expect(await victimHl.getAttribute('data-line')).toBe('17');
  expect(await culpritHl.textContent()).toContain('queue.head = next + 1;');
  expect(await culpritHl.getAttribute('data-line')).toBe('19');
  await page.waitForSelector('[data-testid=occurrence]');
  expect(await page.locator('[data-testid=advice]').textContent()).toContain('TQueue');
  await shot(page, `${prefix}-conflicts`);
}

function parseColour(css: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(css.trim());
  if (!m) throw new Error(`not a hex colour: ${css}`);
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
}

/** Counts pixels of each lane close to the theme's commit and abort colours (read back from the canvas). */
export async function lanePixels(page: Page): Promise<Array<{ worker: number; commit: number; abort: number; other: number }>> {
  const colours = await page.evaluate(() => {
    const cs = getComputedStyle(document.documentElement);
    return { commit: cs.getPropertyValue('--c-commit'), abort: cs.getPropertyValue('--c-abort') };
  });
  const commit = parseColour(colours.commit);
  const abort = parseColour(colours.abort);
  // Plain arithmetic only inside evaluate (layout constants of ui/src/timeline/layout.ts).
  return page.evaluate(
    ([commit, abort]) => {
      const c = document.querySelector('[data-testid=timeline-canvas]') as HTMLCanvasElement;
      const lanes = JSON.parse(c.dataset.lanes ?? '[]') as number[];
      const ctx = c.getContext('2d')!;
      const dpr = c.width / c.clientWidth;
      const out = [];
      for (let i = 0; i < lanes.length; i++) {
        const top = Math.round((26 + i * 34 + 3) * dpr);
        const h = Math.round(28 * dpr);
        const x0 = Math.round(86 * dpr);
        const data = ctx.getImageData(x0, top, c.width - x0, h).data;
        let nc = 0;
        let na = 0;
        let no = 0;
        for (let p = 0; p < data.length; p += 4) {
          const d1 = Math.abs(data[p] - commit[0]) + Math.abs(data[p + 1] - commit[1]) + Math.abs(data[p + 2] - commit[2]);
          const d2 = Math.abs(data[p] - abort[0]) + Math.abs(data[p + 1] - abort[1]) + Math.abs(data[p + 2] - abort[2]);
          if (d1 < 24) nc++;
          else if (d2 < 24) na++;
          else no++;
        }
        out.push({ worker: lanes[i], commit: nc, abort: na, other: no });
      }
      return out;
    },
    [commit, abort] as const,
  );
}

function view(s: string | null): { start: number; end: number } {
  const m = /^(-?\d+)-(-?\d+)$/.exec(s ?? '');
  if (!m) throw new Error(`bad data-view ${s}`);
  return { start: Number(m[1]), end: Number(m[2]) };
}

/** The timeline draws both pool workers' lanes (pixels), and the keyboard zooms and pans it. */
export async function checkTimeline(page: Page, prefix: string): Promise<void> {
  await openTab(page, 'timeline');
  const canvas = page.locator('[data-testid=timeline-canvas]');
  await page.waitForFunction(() => document.querySelector<HTMLCanvasElement>('[data-testid=timeline-canvas]')?.dataset.ready === '1');
  await page.waitForTimeout(100);
  const lanes = await lanePixels(page);
  expect(lanes.map((l) => l.worker)).toEqual([0, 1, 2]);
  for (const l of lanes.filter((x) => x.worker > 0)) {
    expect(l.commit, `worker ${l.worker} lane has committed work`).toBeGreaterThan(50);
    expect(l.abort, `worker ${l.worker} lane has aborted work`).toBeGreaterThan(10);
  }
  await shot(page, `${prefix}-timeline`);

  // Hover over a committed mark of worker 1: a tooltip describes it.
  const spot = await page.evaluate((commitCss) => {
    const hex = commitCss.trim().slice(1);
    const want = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const c = document.querySelector('[data-testid=timeline-canvas]') as HTMLCanvasElement;
    const lanes = JSON.parse(c.dataset.lanes ?? '[]') as number[];
    const li = lanes.indexOf(1);
    const dpr = c.width / c.clientWidth;
    const y = Math.round((26 + li * 34 + 3 + 14) * dpr);
    const row = c.getContext('2d')!.getImageData(0, y, c.width, 1).data;
    for (let x = Math.round(90 * dpr); x < c.width; x++) {
      const p = x * 4;
      if (Math.abs(row[p] - want[0]) + Math.abs(row[p + 1] - want[1]) + Math.abs(row[p + 2] - want[2]) < 24) {
        const r = c.getBoundingClientRect();
        return { x: r.left + x / dpr + 0.5, y: r.top + y / dpr };
      }
    }
    return null;
  }, await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--c-commit')));
  expect(spot, 'a committed mark on worker 1').not.toBeNull();
  await page.mouse.move(spot!.x, spot!.y);
  const tip = page.locator('[data-testid=tooltip]');
  await tip.waitFor();
  expect(await tip.textContent()).toMatch(/worker 1/);
  await page.mouse.move(5, 5);

  // Keyboard: W zooms in at the centre, D pans right, F fits again.
  await page.locator('.st-timeline__canvas-wrap').focus();
  const v0 = view(await canvas.getAttribute('data-view'));
  await page.keyboard.down('KeyW');
  await page.waitForTimeout(400);
  await page.keyboard.up('KeyW');
  await page.waitForTimeout(50);
  const v1 = view(await canvas.getAttribute('data-view'));
  expect(v1.end - v1.start).toBeLessThan((v0.end - v0.start) * 0.6);
  await page.keyboard.down('KeyD');
  await page.waitForTimeout(300);
  await page.keyboard.up('KeyD');
  await page.waitForTimeout(50);
  const v2 = view(await canvas.getAttribute('data-view'));
  expect(v2.start).toBeGreaterThan(v1.start);
  expect(v2.end - v2.start).toBe(v1.end - v1.start);
  // Ctrl+wheel zooms at the pointer.
  const box = (await canvas.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.75, box.y + 60);
  await page.keyboard.down('Control');
  await page.mouse.wheel(0, -240);
  await page.keyboard.up('Control');
  await page.waitForTimeout(50);
  const v3 = view(await canvas.getAttribute('data-view'));
  expect(v3.end - v3.start).toBeLessThan(v2.end - v2.start);
  // `]` walks to the next conflict: selected, centred, described in the drawer.
  await page.keyboard.press('BracketRight');
  await page.waitForSelector('[data-testid=conflict-details]');
  expect(await page.textContent('[data-testid=conflict-details]')).toMatch(/conflict on queue\.head/);
  await page.waitForFunction(() => document.querySelector<HTMLCanvasElement>('[data-testid=timeline-canvas]')?.dataset.ready === '1');
  await shot(page, `${prefix}-timeline-conflict`);
  await page.keyboard.press('KeyF');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Escape');
  await page.keyboard.press('KeyF');
  await page.waitForTimeout(50);
  const v4 = view(await canvas.getAttribute('data-view'));
  expect(v4.end - v4.start).toBeGreaterThan((v0.end - v0.start) * 0.9);
  // Drag selects a range; it becomes the time filter of every view.
  const b2 = (await canvas.boundingBox())!;
  await page.mouse.move(b2.x + b2.width * 0.3, b2.y + 60);
  await page.mouse.down();
  await page.mouse.move(b2.x + b2.width * 0.5, b2.y + 70, { steps: 5 });
  await page.mouse.up();
  await page.click('[data-testid=selection-to-filter]');
  const chip = page.locator('[data-testid=range-chip]');
  await chip.waitFor();
  await chip.locator('button').click();
  await chip.waitFor({ state: 'detached' });
  // `?` lists the shortcuts.
  await page.keyboard.press('Shift+Slash');
  await page.waitForSelector('[data-testid=help]');
  await page.keyboard.press('Escape');
}

/** Export → Report (JSON) downloads a valid report naming the top conflict. */
export async function checkExport(page: Page): Promise<void> {
  await page.click('[data-testid=export]');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-json]')]);
  const path = await dl.path();
  const report = JSON.parse(readFileSync(path!, 'utf8'));
  expect(report.schema).toBe('stmscope.report/1');
  expect(report.summary.commits).toBeGreaterThan(2900);
  const top = report.conflicts[0];
  expect(top.kind).toBe('write-write');
  expect(`${top.victim.frames[0].file}:${top.victim.frames[0].line}`).toMatch(/fixtures\/work-queue\/tasks\.ts:17$/);
  expect(`${top.culprit.frames[0].file}:${top.culprit.frames[0].line}`).toMatch(/fixtures\/work-queue\/tasks\.ts:19$/);
  expect(dl.suggestedFilename()).toMatch(/\.json$/);
  // The raw recording comes back byte for byte as a recording.
  await page.click('[data-testid=export]');
  const [rec] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-recording]')]);
  const bytes = readFileSync((await rec.path())!);
  expect(bytes.subarray(0, 8).toString('latin1')).toBe('STMSCOPE');
  // A Perfetto/Chrome trace with flow arrows.
  await page.click('[data-testid=export]');
  const [tr] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-chrome]')]);
  const trace = JSON.parse(readFileSync((await tr.path())!, 'utf8'));
  const events = (Array.isArray(trace) ? trace : trace.traceEvents) as Array<{ ph: string; flow_out?: boolean }>;
  expect(events.some((e) => e.ph === 'X')).toBe(true);
  expect(events.some((e) => e.flow_out)).toBe(true);
}

/** Hot objects and Source views render and link up. */
export async function checkHotAndSource(page: Page, prefix: string): Promise<void> {
  await openTab(page, 'hot');
  await page.waitForSelector('[data-testid=hot-row]');
  expect(await page.locator('[data-testid=hot-row]').first().textContent()).toContain('queue.head');
  await shot(page, `${prefix}-hot-objects`);
  await openTab(page, 'source');
  await page.waitForSelector('[data-testid=source-listing]');
  const hot = page.locator('[data-testid=source-listing] [data-line="17"]');
  expect(Number(await hot.getAttribute('data-heat'))).toBeGreaterThanOrEqual(3);
  expect(await hot.textContent()).toContain('const next = queue.head;');
  await shot(page, `${prefix}-source`);
}
