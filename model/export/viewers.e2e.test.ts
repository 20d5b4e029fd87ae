/**
 * The exports in a viewer users already have: speedscope 1.25.0's own web app
 * (the `speedscope` devDependency, node_modules/speedscope/dist/release),
 * served on loopback and driven in headless Chromium. A real fixture
 * (fixtures/bank-hot: a known write-write conflict on `fees.balance`,
 * transaction `transfer`, two pool workers plus the main thread) is recorded
 * and exported with the real CLI; what speedscope shows (its profile
 * selector, one entry per profile with its total weight, and its Sandwich
 * table of frames with total and self time) is compared with
 * `stmscope report --format json` of the same recording.
 *
 * Perfetto UI cannot be installed here: the Chrome trace's Perfetto-only
 * parts (flows) stay checked by checkChromeTrace (export.test.ts) and
 * documented in docs/EXPORTS.md §1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, REPO } from '../../ui/testing/browser.ts';
import { recordProgram } from '../../ui/testing/stmscope.ts';

const SPEEDSCOPE_APP = join(REPO, 'node_modules', 'speedscope', 'dist', 'release');
const CLI = ['--import', 'tsx', join(REPO, 'server', 'cli.ts')];
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png', '.ico': 'image/x-icon' };

/**
 * Serves `mounts` (URL prefix → directory) on 127.0.0.1, an ephemeral port.
 * Only regular files inside a mount's directory are served: `..` segments,
 * encoded or not, NUL bytes and symlinks out of the tree get 404.
 */
async function serveDirs(mounts: Record<string, string>): Promise<{ url: string; close(): Promise<void> }> {
  const roots = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix, realpathSync(dir)] as const)
    .sort((a, b) => b[0].length - a[0].length);
  const srv = http.createServer((req, res) => {
    const notFound = () => res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return notFound();
    }
    if (req.method !== 'GET' || path.includes('\0') || path.split(/[\\/]/).includes('..')) return notFound();
    const mount = roots.find(([prefix]) => path.startsWith(prefix));
    if (!mount) return notFound();
    const [prefix, dir] = mount;
    const rel = path.slice(prefix.length) || 'index.html';
    const file = resolve(dir, rel);
    if (!file.startsWith(dir + sep)) return notFound();
    try {
      // realpath: a symlink inside the tree must not lead out of it
      const real = realpathSync(file);
      if (!real.startsWith(dir + sep) || !statSync(real).isFile()) return notFound();
      res.writeHead(200, { 'Content-Type': TYPES[extname(real)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' }).end(readFileSync(real));
    } catch {
      notFound();
    }
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => srv.close(() => r())) };
}

/** speedscope's time text ("107.59ms", "76.43µs", "0.00ns", "1.26s", "1:05") → ns. */
function parseTime(text: string): number {
  const t = text.trim();
  const mmss = /^(\d+):(\d\d)/.exec(t);
  if (mmss) return (Number(mmss[1]) * 60 + Number(mmss[2])) * 1e9;
  const m = /^([\d.]+)(ns|µs|ms|s)\b/.exec(t);
  if (!m) throw new Error(`not a speedscope time: ${JSON.stringify(text)}`);
  return Number(m[1]) * { ns: 1, µs: 1e3, ms: 1e6, s: 1e9 }[m[2] as 'ns' | 'µs' | 'ms' | 's'];
}

/** Relative difference, for "within 1 %". */
const rel = (got: number, want: number) => Math.abs(got - want) / Math.max(Math.abs(want), 1);

interface ReportWorker {
  id: number;
  commits: number;
  aborts: number;
  committedNs: number;
  abortedNs: number;
  failedNs?: number;
  waitingNs: number;
}
interface Report {
  summary: { workers: number; aborts: number; conflictGroups: number };
  workers: ReportWorker[];
  conflicts: Array<{ kind: string; timeLostNs: number; victim: { location: string; stacks: Array<{ frames: Array<{ function: string }> }> } }>;
}

interface ProfileEntry {
  name: string;
  totalNs: number;
}
interface SandwichRow {
  name: string;
  totalNs: number;
  selfNs: number;
}

describe('exports open in speedscope (its real web app, headless Chromium)', () => {
  let dir: string;
  let server: { url: string; close(): Promise<void> };
  let browser: Browser;
  let report: Report;
  const pages: Page[] = [];

  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`stmscope ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stmscope-viewers-'));
    const rec = join(dir, 'bank-hot.stmrec');
    // A loaded machine can run the workers one after the other (no conflict):
    // record again, at most three times, as fixtures.test.ts does.
    for (let run = 0; run < 3; run++) {
      recordProgram('bank-hot', rec);
      report = JSON.parse(cli(['report', rec, '--format', 'json', '--top', '1000'])) as Report;
      if (report.summary.aborts > 0 && report.workers.filter((w) => w.commits > 0).length >= 3) break;
    }
    // Names matter to speedscope: it picks its importer by file name first
    // (`*.chrome.json` is read as a DevTools timeline array and fails on our
    // object form), then by content.
    cli(['export', rec, '--format', 'chrome', '-o', join(dir, 'bank-hot.trace.json')]);
    cli(['export', rec, '--format', 'chrome', '--args', 'brief', '-o', join(dir, 'bank-hot.brief.trace.json')]);
    cli(['export', rec, '--format', 'speedscope', '-o', join(dir, 'bank-hot.speedscope.json')]);
    server = await serveDirs({ '/profiles/': dir, '/': SPEEDSCOPE_APP });
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const p of pages) await p.close().catch(() => {});
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Opens speedscope on /profiles/<file> (its `#profileURL=` loading, same origin). */
  async function open(file: string, view: 'time-ordered' | 'sandwich' = 'sandwich'): Promise<{ page: Page; errors: string[]; dialogs: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1400 } });
    pages.push(page);
    const errors: string[] = [];
    const dialogs: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const url = `${server.url}/profiles/${file}`;
    await page.goto(`${server.url}/#profileURL=${encodeURIComponent(url)}&view=${view}`);
    return { page, errors, dialogs };
  }

  /** The toolbar's title ("<profile name> (i/N)") once a profile is shown. */
  async function loaded(page: Page): Promise<{ title: string; index: number; count: number }> {
    const counter = page.locator('span', { hasText: /^\(\d+\/\d+\)$/ });
    await counter.first().waitFor({ timeout: 30_000 });
    const title = (await counter.first().locator('xpath=..').textContent()) ?? '';
    const m = /\((\d+)\/(\d+)\)\s*$/.exec(title)!;
    return { title: title.slice(0, m.index).trim(), index: Number(m[1]), count: Number(m[2]) };
  }

  /** Opens the profile selector (click on the title) and reads its rows: name and total weight. */
  async function profiles(page: Page): Promise<ProfileEntry[]> {
    await page.locator('span', { hasText: /^\(\d+\/\d+\)$/ }).first().click();
    const rows = page.locator('tr[title]');
    await rows.first().waitFor();
    return rows.evaluateAll((trs) =>
      trs.map((tr) => {
        const td = [...tr.querySelectorAll('td')].map((c) => c.textContent ?? '');
        return { name: td[1], total: td[2] };
      }),
    ).then((rs) => rs.map((r) => ({ name: r.name, totalNs: parseTime(r.total) })));
  }

  /** Shows profile `name` from the selector and waits until the toolbar says so. */
  async function select(page: Page, name: string): Promise<void> {
    const row = page.locator(`tr[title=${JSON.stringify(name)}]`);
    if (!(await row.isVisible())) await page.locator('span', { hasText: /^\(\d+\/\d+\)$/ }).first().click();
    await row.click();
    await page.waitForFunction((n) => [...document.querySelectorAll('span')].some((s) => s.firstChild?.textContent?.trim() === n), name);
  }

  /** The Sandwich table's rows (Total, Self, Symbol Name) of the shown profile. */
  async function sandwich(page: Page, minRows = 1): Promise<SandwichRow[]> {
    const rows = page.locator('tr:not([title])', { has: page.locator('td') });
    await page.waitForFunction((n) => document.querySelectorAll('tr:not([title]) td').length >= 3 * n, minRows);
    const raw = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((c) => c.textContent ?? '')).filter((td) => td.length === 3));
    return raw.map(([total, self, name]) => ({ name, totalNs: parseTime(total), selfNs: parseTime(self) }));
  }

  const totalLost = () => report.conflicts.reduce((n, g) => n + g.timeLostNs, 0);

  it('serves the app and the exports on loopback, nothing outside them', async () => {
    expect((await fetch(`${server.url}/`)).status).toBe(200);
    expect((await fetch(`${server.url}/profiles/bank-hot.trace.json`)).status).toBe(200);
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/profiles/..%2fbank-hot.stmrec', '/profiles/%2e%2e%2f%2e%2e%2fetc/passwd', '/%00', '/profiles/']) {
      expect((await fetch(`${server.url}${p}`)).status, p).toBe(404);
    }
  });

  it('speedscope file: two profiles; Sandwich shows transfer, its access line and the conflict, totals = report time lost', async () => {
    const { page, errors } = await open('bank-hot.speedscope.json');
    const top = await loaded(page);
    expect(top).toMatchObject({ title: 'time lost by victim stack', index: 1, count: 2 });
    const list = await profiles(page);
    expect(list.map((p) => p.name)).toEqual(['time lost by victim stack', 'time lost by culprit stack']);
    // Each profile weighs the report's total time lost (Σ group timeLostNs).
    for (const p of list) expect(rel(p.totalNs, totalLost()), p.name).toBeLessThan(0.01);

    const victimFn = report.conflicts[0].victim.stacks[0].frames[0].function;
    expect(victimFn).toBe('transfer');
    const location = report.conflicts[0].victim.location; // …/fixtures/bank-hot/tasks.ts:17:8
    const rows = await sandwich(page, 3);
    // The victim function is one row (speedscope keys frames by index: one frame per function).
    const fnRows = rows.filter((r) => r.name === victimFn);
    expect(fnRows).toHaveLength(1);
    expect(rel(fnRows[0].totalNs, totalLost())).toBeLessThan(0.01);
    const access = rows.find((r) => r.name === location.slice(location.lastIndexOf('/') + 1));
    expect(access, 'the access line tasks.ts:17:8').toBeDefined();
    const conflict = rows.find((r) => r.name === `[write-write with ${location}]`);
    expect(conflict, rows.map((r) => r.name).join('\n')).toBeDefined();
    expect(rel(conflict!.selfNs, report.conflicts[0].timeLostNs)).toBeLessThan(0.01);

    // The culprit side: the same function causes it.
    await select(page, 'time lost by culprit stack');
    const culprit = await sandwich(page, 3);
    expect(culprit.some((r) => r.name === `[causes write-write at ${location}]`)).toBe(true);
    expect(culprit.filter((r) => r.name === 'transfer')).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('Chrome trace: one thread per worker, each weighing the worker\'s committed + aborted + waiting time', async () => {
    const { page, errors } = await open('bank-hot.trace.json', 'time-ordered');
    const top = await loaded(page);
    expect(top.count).toBe(report.summary.workers);
    const list = await profiles(page);
    expect(list).toHaveLength(report.summary.workers);
    for (const w of report.workers) {
      const p = list.find((e) => e.name.endsWith(`, worker ${w.id} (tid ${w.id + 1})`));
      expect(p, `worker ${w.id} in ${list.map((e) => e.name)}`).toBeDefined();
      expect(p!.name).toMatch(/^stmscope: main\.ts \(pid \d+\), worker \d+ \(tid \d+\)$/);
      // Top-level slices are attempts and the waits between them.
      const want = w.committedNs + w.abortedNs + (w.failedNs ?? 0) + w.waitingNs;
      expect(rel(p!.totalNs, want), `worker ${w.id}: ${p!.totalNs} vs ${want}`).toBeLessThan(0.01);
    }
    // With full args every attempt is its own frame (speedscope names frames
    // `name + JSON(args)`): the transaction's name is there, once per attempt.
    const busiest = report.workers.reduce((a, b) => (b.commits > a.commits ? b : a));
    await select(page, list.find((e) => e.name.endsWith(`worker ${busiest.id} (tid ${busiest.id + 1})`))!.name);
    await page.keyboard.press('3'); // speedscope's key for the Sandwich view
    const rows = await sandwich(page, 3);
    // (The table is virtualized: only the visible rows are in the DOM.)
    for (const r of rows) expect(r.name).toMatch(/^(transfer|tx \S+|wait: [\w-]+|abort: .+|blocked by inevitable transaction) \{".+\}$/);
    expect(rows.some((r) => /^transfer \{"outcome":"(committed|aborted)","txSeq":\d+,/.test(r.name))).toBe(true);
    expect(errors).toEqual([]);
  });

  it('Chrome trace with --args brief: Sandwich lists transfer once per outcome, self times = the report per worker, and the victim', async () => {
    const { page, errors } = await open('bank-hot.brief.trace.json');
    const top = await loaded(page);
    expect(top.count).toBe(report.summary.workers);
    const list = await profiles(page);
    const location = report.conflicts[0].victim.location;
    let victimSeen = false;
    for (const w of report.workers.filter((x) => x.commits > 0)) {
      const name = list.find((e) => e.name.endsWith(`worker ${w.id} (tid ${w.id + 1})`))!.name;
      await select(page, name);
      const rows = await sandwich(page);
      const of = (outcome: string) => rows.filter((r) => r.name.includes(` {"outcome":"${outcome}"`));
      // Self time of attempts = run time without the waits nested in them = the report's figures.
      const committed = of('committed').reduce((n, r) => n + r.selfNs, 0);
      const aborted = of('aborted').reduce((n, r) => n + r.selfNs, 0);
      expect(rel(committed, w.committedNs), `worker ${w.id} committed ${committed} vs ${w.committedNs}`).toBeLessThan(0.01);
      expect(rel(aborted, w.abortedNs), `worker ${w.id} aborted ${aborted} vs ${w.abortedNs}`).toBeLessThan(0.01);
      // Few rows: one per (transaction, outcome, conflict, victim), not one per attempt.
      expect(rows.length).toBeLessThan(30);
      if (w.id > 0) {
        expect(rows.filter((r) => r.name === 'transfer {"outcome":"committed"}')).toHaveLength(1);
        victimSeen ||= rows.some((r) => r.name === `transfer {"outcome":"aborted","conflict":"write-write","victim":"transfer (${location})"}` && r.selfNs > 0);
      }
    }
    expect(victimSeen, 'an aborted transfer row naming the victim frame').toBe(true);
    expect(errors).toEqual([]);
  });

  it('a corrupted export is refused with speedscope\'s import error', async () => {
    const good = readFileSync(join(dir, 'bank-hot.trace.json'), 'utf8');
    // Cut in the middle of an event: no longer JSON, and no other format speedscope knows.
    writeFileSync(join(dir, 'cut.trace.json'), good.slice(0, Math.floor(good.length / 2)));
    const cut = await open('cut.trace.json');
    // speedscope says so in an alert() and stays on its landing page.
    await expect.poll(() => cut.dialogs.join('\n'), { timeout: 30_000 }).toMatch(/^Unrecognized format!/);
    expect(await cut.page.locator('span', { hasText: /^\(\d+\/\d+\)$/ }).count()).toBe(0);
    expect(cut.errors).toEqual([]);
    // A speedscope file whose sample points at a frame that does not exist: valid JSON, broken profile.
    const ss = JSON.parse(readFileSync(join(dir, 'bank-hot.speedscope.json'), 'utf8'));
    ss.profiles[0].samples[0] = [ss.shared.frames.length + 5];
    writeFileSync(join(dir, 'broken.speedscope.json'), JSON.stringify(ss));
    const broken = await open('broken.speedscope.json');
    await broken.page.getByText('Something went wrong.').waitFor({ timeout: 30_000 });
  });
});
