/**
 * The dashboard on a recording opened in the page (file picker; parsed in the
 * Web Worker), in real Chromium. The recording is made by the real runtime
 * (`stmscope record` of fixtures/work-queue).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
    expect(errors).toEqual([]);
  });
});
