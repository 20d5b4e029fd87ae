import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readFile, rm, writeFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportCommand } from './report.ts';
import { bankSample } from '../../model/testing/samples.ts';
import { rec } from '../../model/testing/builder.ts';

/** Captures what the command writes. */
function io(tty = false) {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: { write: (s: string) => (out.stdout += s), isTTY: tty },
      stderr: { write: (s: string) => (out.stderr += s), isTTY: tty },
    },
  };
}

let dir: string;
let bankFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stmscope-report-'));
  bankFile = join(dir, 'bank.stm');
  await writeFile(bankFile, bankSample().bytes({ end: { durationNs: 3_000_000 } }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('stmscope report', () => {
  it('prints the text report by default', async () => {
    const c = io();
    expect(await reportCommand([bankFile], c.io)).toBe(0);
    expect(c.out.stdout).toMatch(/^stmscope report: node examples\/bank\.ts/);
    expect(c.out.stdout).toContain('(20x write-write)');
    expect(c.out.stdout).toContain('stats.count += 1;');
    expect(c.out.stderr).toBe('');
  });

  it('writes JSON per the contract, limited by --top', async () => {
    const c = io();
    expect(await reportCommand([bankFile, '--format', 'json', '--top', '2'], c.io)).toBe(0);
    const r = JSON.parse(c.out.stdout);
    expect(r.schema).toBe('stmscope.report/1');
    expect(r.conflicts.length).toBe(2);
    expect(r.summary.conflictGroups).toBe(4);
    expect(r.conflicts[1].victim.frames[0]).toMatchObject({ file: 'src/bank.ts', line: 14, column: 5, function: 'transfer' });
  });

  it('writes html and markdown to -o files', async () => {
    const html = join(dir, 'r.html');
    const c = io();
    expect(await reportCommand([bankFile, '--format=html', '-o', html], c.io)).toBe(0);
    expect(c.out.stdout).toBe('');
    expect(c.out.stderr).toMatch(/wrote .*r\.html \(html, /);
    expect(await readFile(html, 'utf8')).toMatch(/^<!doctype html>/);
    const md = join(dir, 'r.md');
    expect(await reportCommand([bankFile, '-f', 'markdown', '--output', md], io().io)).toBe(0);
    expect(await readFile(md, 'utf8')).toMatch(/^## stmscope report/);
  });

  it('reports a truncated recording with a warning', async () => {
    const bytes = bankSample().bytes({ chunkRecords: 50 });
    const cut = join(dir, 'cut.stm');
    await writeFile(cut, bytes.subarray(0, bytes.length - 20));
    const c = io();
    expect(await reportCommand([cut], c.io)).toBe(0);
    expect(c.out.stderr).toMatch(/warning: The recording is truncated: the last [\d,]+ (bytes|KiB) hold an incomplete END chunk/);
    expect(c.out.stderr).toMatch(/could not be read; the \d+ chunk\(s\) \(\d+ records\) before it were read/);
    expect(c.out.stdout).toMatch(/^WARNING: The recording is truncated/m);
  });

  it('refuses missing files, foreign files and bad arguments clearly', async () => {
    let c = io();
    expect(await reportCommand([join(dir, 'nope.stm')], c.io)).toBe(1);
    expect(c.out.stderr).toMatch(/nope\.stm: no such file/);
    const foreign = join(dir, 'foreign.json');
    await writeFile(foreign, '{"schema":"stmscope.report/1"}');
    c = io();
    expect(await reportCommand([foreign], c.io)).toBe(1);
    expect(c.out.stderr).toMatch(/foreign\.json: not an stmscope recording: expected the bytes "STMSCOPE"/);
    c = io();
    expect(await reportCommand([bankFile, '--format', 'pdf'], c.io)).toBe(2);
    expect(c.out.stderr).toMatch(/unknown format "pdf"/);
    expect(await reportCommand([], io().io)).toBe(2);
    expect(await reportCommand([bankFile, '--top', 'x'], io().io)).toBe(2);
    expect(await reportCommand([dir], io().io)).toBe(1);
    c = io();
    expect(await reportCommand(['--help'], c.io)).toBe(0);
    expect(c.out.stdout).toMatch(/^Usage: stmscope report FILE/);
  });

  it('reads missing source lines only from files under the program cwd or source roots', async () => {
    const proj = join(dir, 'proj');
    await mkdir(join(proj, 'src'), { recursive: true });
    await writeFile(join(proj, 'src', 'a.ts'), 'line one\n  counter.n += 1;  \nline three\n');
    const secret = join(dir, 'secret.txt');
    await writeFile(secret, 'TOP SECRET\nTOP SECRET 2\n');
    await symlink(secret, join(proj, 'src', 'link.ts'));
    const r = rec({ meta: { argv: ['node', 'a.js'], cwd: proj } });
    const inside = r.site('src/a.ts:2:3');
    const traversal = r.site('../secret.txt:1:1');
    const absolute = r.site(`${secret}:2:1`);
    const viaLink = r.site('src/link.ts:1:1');
    r.worker(1).start(0).abort(10, 'write-write', { site: inside, culprit: [2, 1, traversal] });
    r.worker(1).start(20).abort(30, 'write-read', { site: absolute, culprit: [2, 1, viaLink] });
    const file = join(dir, 'src.stm');
    await writeFile(file, r.bytes());
    const c = io();
    expect(await reportCommand([file, '--format', 'json'], c.io)).toBe(0);
    const rep = JSON.parse(c.out.stdout);
    const texts = rep.conflicts.flatMap((g: { victim: { frames: { text: string }[] }; culprit: { frames: { text: string }[] } }) => [
      g.victim.frames[0].text,
      g.culprit.frames[0].text,
    ]);
    expect(texts).toContain('counter.n += 1;');
    expect(c.out.stdout).not.toContain('TOP SECRET');
  });

  it('shows a progress bar when forced, and streams big files', async () => {
    const r = rec();
    r.worker(1);
    for (let i = 0; i < 20000; i++) r.start(i * 100).commit(i * 100 + 50);
    const file = join(dir, 'big.stm');
    await writeFile(file, r.bytes({ chunkRecords: 1000 }));
    const c = io();
    expect(await reportCommand([file, '--progress'], c.io)).toBe(0);
    expect(c.out.stderr).toMatch(/\r\[#+\] 100% .*M events\/s/);
    expect(c.out.stdout).toContain('Total number of transactions: 20,000');
    const quiet = io(true);
    expect(await reportCommand([file], quiet.io)).toBe(0);
    expect(quiet.out.stderr).toBe(''); // small file: no bar even on a terminal
  });
});
