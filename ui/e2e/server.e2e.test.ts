/**
 * The dashboard against the real server, in real Chromium:
 *
 * - `stmscope view FILE` on a recording the real runtime made
 *   (fixtures/work-queue): the top conflict with both file:line pairs and
 *   source snippets from the program's files, the timeline's pixels, keyboard
 *   navigation, exports through the server.
 * - `stmscope serve` and a running program (server/testing/counter-loop.ts)
 *   found through discovery: attach from the Sessions view, watch counters
 *   grow, pause freezes them, detach.
 *
 * Each server gets its own STMSCOPE_HOME, so nothing here sees another test's
 * programs or sessions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { REPO, ensureUiBuilt, launchChromium } from '../testing/browser.ts';
import { recordProgram, startProgram, startServer, type RunningServer } from '../testing/stmscope.ts';
import { checkExport, checkHotAndSource, checkTimeline, checkTopConflict, openTab, shot } from './checks.ts';

let browser: Browser;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stmscope-ui-server-e2e-'));
  await ensureUiBuilt();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('stmscope view FILE', () => {
  let server: RunningServer;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    const rec = join(dir, 'work-queue.stmrec');
    recordProgram('work-queue', rec);
    server = await startServer(['view', rec, '--no-open', '--port', '0'], { STMSCOPE_HOME: join(dir, 'home-view') });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForSelector('[data-testid=overview]');
  });

  afterAll(async () => {
    await page?.close();
    await server?.stop();
  });

  it('opens on the session the URL names and shows the top conflict with both file:line pairs', async () => {
    expect(new URL(page.url()).hash).toMatch(/^#token=[0-9a-f]+$/);
    await checkTopConflict(page, 'server');
    // Snippets come from the program's own file: lines around the conflict, not only the recorded one.
    expect(await page.locator('[data-testid=side-victim] [data-testid=snippet] [data-line="16"]').first().textContent()).toContain('export function takeJob');
  });

  it('draws the timeline from server windows and navigates it by keyboard', async () => {
    await checkTimeline(page, 'server');
  });

  it('shows hot objects and the whole source file with heat', async () => {
    await checkHotAndSource(page, 'server');
    // The server sends the file itself: line 1 is there, not only the conflicting lines.
    expect(await page.locator('[data-testid=source-listing] [data-line="1"]').count()).toBe(1);
    expect(await page.locator('[data-testid=source-sparse]').count()).toBe(0);
  });

  it('exports a report, the recording and a Perfetto trace through the server', async () => {
    await checkExport(page);
  });

  it('says so when the token is wrong', async () => {
    const other = await browser.newPage();
    await other.goto(`${server.base}#token=00000000000000000000000000000000`);
    const banner = other.locator('.st-banner--error');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/token/i);
    await other.close();
  });

  it('keeps its view in the URL across a reload', async () => {
    // A conflict group (the last one: how many there are depends on the run's timing).
    await openTab(page, 'conflicts');
    await page.locator('[data-testid=group-row]').last().click();
    const key = await page.locator('[data-testid=group-row]').last().getAttribute('data-key');
    await page.waitForFunction((k) => {
      const p = new URL(location.href).searchParams;
      return p.get('view') === 'conflicts' && p.get('g') === k;
    }, key);
    await page.reload();
    await page.waitForSelector('[data-testid=group-detail]');
    expect(await page.getAttribute('[data-testid=group-row][aria-selected=true]', 'data-key')).toBe(key);
    // The timeline's zoom.
    await openTab(page, 'timeline');
    const canvas = page.locator('[data-testid=timeline-canvas]');
    await page.waitForFunction(() => document.querySelector<HTMLCanvasElement>('[data-testid=timeline-canvas]')?.dataset.ready === '1');
    await page.locator('.st-timeline__canvas-wrap').focus();
    await page.keyboard.press('KeyW');
    await page.keyboard.press('KeyW');
    // Settled: the URL holds what the canvas last drew.
    const zoomed = (await page.waitForFunction(() => {
      const v = document.querySelector<HTMLCanvasElement>('[data-testid=timeline-canvas]')?.dataset.view;
      return v && new URL(location.href).searchParams.get('t') === v ? v : undefined;
    })).jsonValue();
    await page.reload();
    await page.waitForFunction(() => document.querySelector<HTMLCanvasElement>('[data-testid=timeline-canvas]')?.dataset.ready === '1');
    expect(await canvas.getAttribute('data-view')).toBe(await zoomed);
    expect(errors).toEqual([]);
  });
});

describe('stmscope serve: attach to a running program', () => {
  let server: RunningServer;
  let program: Awaited<ReturnType<typeof startProgram>>;
  let page: Page;
  const home = () => join(dir, 'home-live');

  beforeAll(async () => {
    server = await startServer(['serve', '--port', '0'], { STMSCOPE_HOME: home() });
    program = await startProgram(join(REPO, 'server', 'testing', 'counter-loop.ts'), {
      STMSCOPE_HOME: home(),
      STMSCOPE_AGENT: '1',
      LOOP_STOP: join(dir, 'stop'),
      LOOP_TASKS: '50',
      LOOP_SPIN: '20000',
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(server.url);
  });

  afterAll(async () => {
    writeFileSync(join(dir, 'stop'), '');
    await page?.close();
    await program?.stop();
    await server?.stop();
  });

  const commits = async () => Number((await page.textContent('[data-testid=total-commits] .st-card__value'))!.replace(/,/g, ''));

  it('lists the program, attaches, and the counters grow live', async () => {
    const row = page.locator(`[data-testid=program-row][data-pid="${program.proc.pid}"]`);
    await row.waitFor({ timeout: 30_000 });
    await shot(page, 'live-sessions');
    await row.locator('[data-testid=attach]').click();
    await page.waitForSelector('[data-testid=overview]', { timeout: 30_000 });
    await page.waitForSelector('[data-testid=live-badge]');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=total-commits] .st-card__value')?.textContent?.replace(/,/g, '')) > 0, null, { timeout: 30_000 });
    const c1 = await commits();
    await page.waitForFunction((c) => Number(document.querySelector('[data-testid=total-commits] .st-card__value')?.textContent?.replace(/,/g, '')) > c, c1, { timeout: 30_000 });
    const c2 = await commits();
    expect(c2).toBeGreaterThan(c1);
    await shot(page, 'live-overview');
  });

  it('pause freezes the figures while data keeps coming; resume catches up', async () => {
    await page.click('[data-testid=pause]');
    const frozen = await commits();
    await page.waitForTimeout(1500);
    expect(await commits()).toBe(frozen);
    await page.click('[data-testid=pause]');
    await page.waitForFunction((c) => Number(document.querySelector('[data-testid=total-commits] .st-card__value')?.textContent?.replace(/,/g, '')) > c, frozen, { timeout: 30_000 });
  });

  it('draws the live timeline', async () => {
    await openTab(page, 'timeline');
    await page.waitForFunction(() => document.querySelector<HTMLCanvasElement>('[data-testid=timeline-canvas]')?.dataset.ready === '1', null, { timeout: 30_000 });
    const end1 = Number((await page.getAttribute('[data-testid=timeline-canvas]', 'data-view'))!.split('-').pop());
    await page.waitForTimeout(1500);
    const end2 = Number((await page.getAttribute('[data-testid=timeline-canvas]', 'data-view'))!.split('-').pop());
    // Following the live end.
    expect(end2).toBeGreaterThan(end1);
    await shot(page, 'live-timeline');
  });

  it('detaches', async () => {
    await openTab(page, 'sessions');
    const row = page.locator(`[data-testid=program-row][data-pid="${program.proc.pid}"]`);
    await row.locator('[data-testid=detach]').click();
    await row.locator('[data-testid=attach]').waitFor({ timeout: 30_000 });
  });

  it('compares two runs: the fixed counter makes the hot group vanish', async () => {
    for (const name of ['counter-hotspot', 'counter-fixed']) {
      const rec = join(dir, `${name}.stmrec`);
      recordProgram(name, rec);
      const res = await fetch(`${server.base}api/import?title=${name}`, { method: 'POST', headers: { Authorization: `Bearer ${server.token}` }, body: readFileSync(rec) });
      expect(res.status).toBe(200);
    }
    await openTab(page, 'compare');
    await page.waitForFunction(() => {
      const t = [...document.querySelectorAll('[data-testid=compare-before] option')].map((o) => o.textContent ?? '');
      return t.some((x) => x.startsWith('counter-hotspot ')) && t.some((x) => x.startsWith('counter-fixed '));
    });
    const ids = await page.evaluate(() => [...document.querySelectorAll<HTMLOptionElement>('[data-testid=compare-before] option')].map((o) => [o.value, o.textContent ?? '']));
    const id = (title: string) => ids.find(([, t]) => t.startsWith(`${title} `))![0];
    await page.selectOption('[data-testid=compare-before]', id('counter-hotspot'));
    await page.selectOption('[data-testid=compare-after]', id('counter-fixed'));
    // The hot group (most time lost, listed first) vanished; small inevitable groups may come and go with timing.
    const top = page.locator('[data-testid=diff-group]').first();
    await top.waitFor();
    expect(await top.getAttribute('data-status')).toBe('vanished');
    expect(await top.textContent()).toContain('stats.hits');
    expect(await top.textContent()).toContain('fixtures/counter-hotspot/tasks.ts:15');
    await page.waitForSelector('[data-testid=compare-timeline-after] canvas');
    await shot(page, 'compare');
  });
});
