/**
 * `stmscope demo --program http` in real Chromium: the dashboard opens on the
 * live session of the HTTP store server (fixtures/http-server) and shows its
 * known conflict, the hot request counter, with both sides' file:line, while
 * the commit count keeps growing (the program is still serving requests).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ensureUiBuilt, launchChromium } from '../testing/browser.ts';
import { startServer, type RunningServer } from '../testing/stmscope.ts';
import { openTab, shot } from './checks.ts';

const SITE = 'fixtures/http-server/tasks.ts:19';
let browser: Browser;
let server: RunningServer;
let page: Page;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stmscope-ui-demo-e2e-'));
  await ensureUiBuilt();
  browser = await launchChromium();
  server = await startServer(['demo', '--program', 'http', '--no-open', '--port', '0'], { STMSCOPE_HOME: join(dir, 'home'), STMSCOPE_AGENT: '1' });
});

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function commits(): Promise<number> {
  return Number((await page.textContent('[data-testid=total-commits] .st-card__value'))!.replace(/,/g, ''));
}

describe('stmscope demo --program http', () => {
  it('opens the live session and shows the hot request counter, victim and culprit', async () => {
    const t0 = Date.now();
    let m: RegExpExecArray | null = null;
    while (!(m = /demo session: (\S+)/.exec(server.output())) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 200));
    expect(m, server.output()).not.toBeNull();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(m![1]);
    await openTab(page, 'overview');
    await page.waitForFunction(
      (site) => [...document.querySelectorAll('[data-testid=top-conflict]')].some((e) => e.textContent!.includes('stats.requests') && e.textContent!.includes(site)),
      SITE,
      { timeout: 60_000 },
    );
    const first = await commits();
    await page.waitForFunction((n) => {
      const v = document.querySelector('[data-testid=total-commits] .st-card__value')?.textContent ?? '0';
      return Number(v.replace(/,/g, '')) > n;
    }, first, { timeout: 30_000 });
    expect(await commits()).toBeGreaterThan(first);
    await shot(page, 'demo-http-overview');

    await openTab(page, 'conflicts');
    await page.waitForSelector('[data-testid=group-row]');
    await page.locator('[data-testid=group-row]').first().click();
    expect(await page.textContent('[data-testid=victim-location]')).toBe(SITE);
    expect(await page.textContent('[data-testid=culprit-location]')).toBe(SITE);
    expect(await page.locator('[data-testid=advice]').textContent()).toContain('TCounter');
    await shot(page, 'demo-http-conflicts');
  });
});
