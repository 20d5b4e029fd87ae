/**
 * The dashboard on a recording opened in the page (file picker; parsed in the
 * Web Worker), in real Chromium. The recording is made by the real runtime
 * (`stmscope record` of fixtures/work-queue).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ensureUiBuilt, launchChromium, serveStatic } from '../testing/browser.ts';
import { recordProgram } from '../testing/stmscope.ts';
import { checkExport, checkHotAndSource, checkTimeline, checkTopConflict, shot } from './checks.ts';

describe('dashboard on a file opened in the page', () => {
  let dir: string;
  let rec: string;
  let browser: Browser;
  let page: Page;
  let server: { url: string; close(): Promise<void> };
  const errors: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stmscope-ui-e2e-'));
    rec = join(dir, 'work-queue.stmrec');
    await ensureUiBuilt();
    recordProgram('work-queue', rec);
    server = await serveStatic();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says what is wrong with a file that is not a recording, without crashing', async () => {
    const bad = join(dir, 'notes.txt');
    writeFileSync(bad, 'these are not the bytes you are looking for\n');
    await page.setInputFiles('[data-testid=file-input]', bad);
    const err = page.locator('[data-testid=open-error]');
    await err.waitFor();
    expect(await err.textContent()).toMatch(/notes\.txt cannot be opened: not an stmscope recording/);
    // Still on the Sessions page, file picker at hand.
    expect(await page.getAttribute('.st-app', 'data-view')).toBe('sessions');
    await shot(page, 'standalone-bad-file');
  });

  it('opens a recording and shows the top conflict with both file:line pairs', async () => {
    await page.setInputFiles('[data-testid=file-input]', rec);
    await page.waitForSelector('[data-testid=overview]');
    await checkTopConflict(page, 'standalone');
  });

  it('draws the timeline and navigates it by keyboard', async () => {
    await checkTimeline(page, 'standalone');
  });

  it('shows hot objects and source heat', async () => {
    await checkHotAndSource(page, 'standalone');
  });

  it('exports a valid report and the raw recording', async () => {
    await checkExport(page);
  });

  it('filters every view by kind', async () => {
    await page.click('[data-testid=tab-conflicts]');
    const chip = page.locator('[data-testid=filters] .st-chip', { hasText: 'write-write' });
    await chip.click();
    const kinds = await page.locator('[data-testid=group-row] .st-kind').allTextContents();
    expect(kinds.length).toBeGreaterThan(0);
    expect(new Set(kinds)).toEqual(new Set(['write-write']));
    await page.click('[data-testid=tab-overview]');
    expect(new Set(await page.locator('[data-testid=top-conflict] .st-kind').allTextContents())).toEqual(new Set(['write-write']));
    await chip.click();
  });

  it('follows a dark theme, canvas included', async () => {
    await page.click('[data-testid=tab-timeline]');
    await page.waitForFunction(() => document.querySelector<HTMLCanvasElement>('[data-testid=timeline-canvas]')?.dataset.ready === '1');
    const corner = () =>
      page.evaluate(() => {
        const c = document.querySelector('[data-testid=timeline-canvas]') as HTMLCanvasElement;
        return Array.from(c.getContext('2d')!.getImageData(2, 2, 1, 1).data.slice(0, 3));
      });
    const light = await corner();
    expect(light[0]).toBeGreaterThan(200);
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(200);
    const dark = await corner();
    expect(dark[0]).toBeLessThan(60);
    await shot(page, 'standalone-timeline-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('opens a recording dropped on the page', async () => {
    const bytes = [...readFileSync(rec)];
    await page.evaluate((b) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(b)], 'dropped.stmrec'));
      for (const type of ['dragenter', 'dragover', 'drop']) window.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, bytes);
    await page.waitForSelector('[data-testid=overview]');
    expect(await page.textContent('.st-session-title')).toContain('dropped.stmrec');
    expect(errors).toEqual([]);
  });
});
