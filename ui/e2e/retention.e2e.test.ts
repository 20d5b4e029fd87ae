/**
 * The dropped-detail indicator in real Chromium (issue #12): `stmscope run
 * --max-session-mb 1` runs the demo shop (a real program) streaming to the
 * server it starts; the session passes its 1 MiB cap, and the dashboard says
 * so on the session row, in a banner over the session, and on the timeline,
 * whose dropped range is striped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { SessionInfo } from '../../model/protocol.ts';
import { REPO, ensureUiBuilt, launchChromium } from '../testing/browser.ts';
import { startServer, type RunningServer } from '../testing/stmscope.ts';
import { openTab, shot } from './checks.ts';
import { AXIS_H, GUTTER, LANE_GAP, LANE_H } from '../src/timeline/layout.ts';

let browser: Browser;
let dir: string;
let server: RunningServer;
let page: Page;
let session: SessionInfo;
const errors: string[] = [];

async function sessions(): Promise<SessionInfo[]> {
  const res = await fetch(`${server.base}api/sessions`, { headers: { Authorization: `Bearer ${server.token}` } });
  return (await res.json()) as SessionInfo[];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stmscope-ui-retention-e2e-'));
  await ensureUiBuilt();
  browser = await launchChromium();
  server = await startServer(['run', '--max-session-mb', '1', '--port', '0', '--', process.execPath, '--import', 'tsx', join(REPO, 'fixtures', 'demo', 'shop.ts')], {
    STMSCOPE_HOME: join(dir, 'home'),
    STMSCOPE_AGENT: '1',
    STMSCOPE_INSTRUMENT: '0',
    DEMO_ROUNDS: '400',
    DEMO_PAUSE_MS: '0',
  });
  // the shop runs a few seconds; `run` keeps serving after it ended
  const t0 = Date.now();
  for (;;) {
    const s = (await sessions()).find((x) => x.source === 'run' && !x.live);
    if (s) {
      session = s;
      break;
    }
    if (Date.now() - t0 > 60_000) throw new Error(`the shop session did not end:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url);
}, 120_000);

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a session whose oldest detail was dropped', () => {
  it('passed its cap and says when detail starts', () => {
    expect(server.output()).toMatch(/sessions keep at most 1 MiB of detail/);
    expect(session.retention).toMatchObject({ maxBytes: 1 << 20, reason: 'size' });
    expect(session.retention!.droppedBeforeNs).toBeGreaterThan(0);
    // the shop's META has its epoch: a wall-clock time
    expect(session.retention!.droppedBeforeTime).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('shows it on the session row', async () => {
    const note = page.locator(`[data-testid=session-row][data-session="${session.id}"] [data-testid=session-retention]`);
    await note.waitFor();
    expect(await note.textContent()).toMatch(/✂ detail before \d\d:\d\d:\d\d dropped \(cap 1 MiB\)/);
  });

  it('shows a banner over the open session', async () => {
    await page.click(`[data-testid=session-row][data-session="${session.id}"]`);
    await page.waitForSelector('[data-testid=overview]');
    const banner = page.locator('[data-testid=retention-banner]');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/^Detail before \d\d:\d\d:\d\d dropped \(cap 1 MiB\): totals, conflicts and hot objects still count everything/);
    // the totals are the whole run's: far more commits than 1 MiB of detail holds
    const commits = Number((await page.textContent('[data-testid=total-commits] .st-card__value'))!.replace(/,/g, ''));
    expect(commits).toBe(session.totals.commits);
    expect(commits).toBeGreaterThan(400 * 227);
    await shot(page, 'retention-overview');
  });

  it('stripes the dropped range on the timeline', async () => {
    await openTab(page, 'timeline');
    await page.waitForFunction(() => document.querySelector<HTMLCanvasElement>('[data-testid=timeline-canvas]')?.dataset.ready === '1', null, { timeout: 30_000 });
    const canvas = page.locator('[data-testid=timeline-canvas]');
    expect(await canvas.getAttribute('data-dropped')).toBe(String(session.retention!.droppedBeforeNs));
    // "START-END", START negative when fitted with air on the left
    const [view0, view1] = /^(-?\d+)-(-?\d+)$/.exec((await canvas.getAttribute('data-view'))!)!.slice(1).map(Number);
    expect(view0).toBeLessThan(session.retention!.droppedBeforeNs!);
    expect(view1).toBeGreaterThan(session.retention!.droppedBeforeNs!);
    // Inside the dropped range the server sent nothing, so a lane there would be plain lane
    // background; the stripes make it differ. Far right (the retained detail's end), lanes hold marks.
    const px = await page.evaluate(
      ({ gutter, top }) => {
        const c = document.querySelector<HTMLCanvasElement>('[data-testid=timeline-canvas]')!;
        const dpr = c.width / parseFloat(c.style.width);
        const ctx = c.getContext('2d')!;
        const at = (x: number, y: number) => Array.from(ctx.getImageData(Math.round(x * dpr), Math.round(y * dpr), 1, 1).data);
        const bg = getComputedStyle(document.documentElement).getPropertyValue('--lane-bg').trim();
        return { striped: [at(gutter + 3, top), at(gutter + 7, top + 4), at(gutter + 11, top + 8)], bg };
      },
      { gutter: GUTTER, top: AXIS_H + LANE_GAP / 2 + LANE_H / 2 },
    );
    const hex = (rgba: number[]) => `#${rgba.slice(0, 3).map((v) => v.toString(16).padStart(2, '0')).join('')}`;
    expect(px.bg).toMatch(/^#[0-9a-f]{6}$/i);
    for (const p of px.striped) expect(hex(p)).not.toBe(px.bg.toLowerCase());
    await shot(page, 'retention-timeline');
    expect(errors).toEqual([]);
  });
});
