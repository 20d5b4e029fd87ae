/**
 * The scaling chart of docs/BENCHMARKS.md, drawn by the benchmark from the
 * figures it just measured: speed-up over one worker against the number of
 * workers, one line per workload, with the ideal for this machine's cores.
 * Plain SVG text, no dependencies; the data goes beside it as JSON.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Worker counts of the scaling curve (the machine has 2 cores: 4 and 8 oversubscribe it). */
export const CURVE_WORKERS = [1, 2, 4, 8];
export const CURVE_WORKLOADS = ['disjoint', 'hotspot', 'kmeans'] as const;

/** Throughput per worker count for one workload: medians of the interleaved repetitions. */
export interface CurveSeries {
  workload: (typeof CURVE_WORKLOADS)[number];
  workers: number[];
  txPerSec: number[];
  abortRatio: number[];
}

const COLOURS: Record<string, string> = { disjoint: '#1f77b4', hotspot: '#d62728', kmeans: '#2ca02c' };
const LABELS: Record<string, string> = { disjoint: 'low conflict', hotspot: 'hot spot', kmeans: 'k-means' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Builds the SVG text of the chart (exported for its test). */
export function scalingChartSvg(curve: CurveSeries[], caption: string, cores = availableParallelism()): string {
  const W = 560;
  const H = 340;
  const left = 56;
  const right = 150;
  const top = 36;
  const bottom = 60;
  const workers = curve[0]?.workers ?? [1];
  const speedups = curve.map((c) => c.txPerSec.map((t) => t / c.txPerSec[0]));
  const yMax = Math.max(cores, ...speedups.flat().filter(Number.isFinite)) * 1.1;
  const xAt = (i: number) => left + (i * (W - left - right)) / Math.max(1, workers.length - 1);
  const yAt = (v: number) => top + (H - top - bottom) * (1 - v / yMax);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">Speed-up over one worker (${cores} cores)</text>`);
  for (let v = 0; v <= yMax; v += 0.5) {
    const y = yAt(v).toFixed(1);
    out.push(`<line x1="${left}" x2="${W - right}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${v.toFixed(1)}x</text>`);
  }
  workers.forEach((n, i) => out.push(`<text x="${xAt(i).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle">${n}</text>`));
  out.push(`<text x="${(left + W - right) / 2}" y="${H - bottom + 32}" text-anchor="middle">workers</text>`);
  const ideal = workers.map((n, i) => `${xAt(i).toFixed(1)},${yAt(Math.min(n, cores)).toFixed(1)}`).join(' ');
  out.push(`<polyline points="${ideal}" fill="none" stroke="#999" stroke-dasharray="4 4"/>`);
  out.push(`<text x="${W - right + 8}" y="${top + 8}" fill="#777">ideal</text>`);
  curve.forEach((c, j) => {
    const colour = COLOURS[c.workload] ?? '#444';
    const pts = speedups[j].map((v, i) => `${xAt(i).toFixed(1)},${yAt(v).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    speedups[j].forEach((v, i) => {
      const tip = `${LABELS[c.workload] ?? c.workload}, ${c.workers[i]} workers: ${Math.round(c.txPerSec[i]).toLocaleString('en')} tx/s, ${v.toFixed(2)}x, abort ratio ${c.abortRatio[i]}`;
      out.push(`<circle cx="${xAt(i).toFixed(1)}" cy="${yAt(v).toFixed(1)}" r="3.5" fill="${colour}"><title>${esc(tip)}</title></circle>`);
    });
    out.push(`<text x="${W - right + 8}" y="${top + 28 + j * 18}" fill="${colour}">${esc(LABELS[c.workload] ?? c.workload)}</text>`);
  });
  out.push(`<text x="${left}" y="${H - 6}" font-size="10" fill="#777">${esc(caption)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Writes `path` (SVG) and `path` with `.json` in place of `.svg` (the series). */
export function writeScalingChart(path: string, curve: CurveSeries[], quick: boolean): void {
  const caption = `npm run bench${quick ? ' -- --quick' : ''}, ${new Date().toISOString().slice(0, 10)}; steady state, medians`;
  writeFileSync(path, scalingChartSvg(curve, caption));
  writeFileSync(path.replace(/\.svg$/, '') + '.json', JSON.stringify({ caption, cores: availableParallelism(), curve }, null, 2) + '\n');
}
