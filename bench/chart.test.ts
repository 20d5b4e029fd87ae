import { describe, expect, it } from 'vitest';
import { scalingChartSvg } from './chart.ts';

describe('scaling chart', () => {
  const curve = [
    { workload: 'disjoint' as const, workers: [1, 2, 4, 8], txPerSec: [100, 180, 170, 160], abortRatio: [0, 0, 0, 0] },
    { workload: 'hotspot' as const, workers: [1, 2, 4, 8], txPerSec: [100, 110, 90, 80], abortRatio: [0, 0.2, 0.3, 0.4] },
  ];
  const svg = scalingChartSvg(curve, 'caption <with> & "quotes"', 2);

  it('draws one line per workload plus the ideal, a point per measurement', () => {
    expect(svg.match(/<polyline/g)).toHaveLength(3);
    expect(svg.match(/<circle/g)).toHaveLength(8);
    expect(svg).toContain('low conflict, 2 workers: 180 tx/s, 1.80x');
    expect(svg).toContain('hot spot, 8 workers: 80 tx/s, 0.80x, abort ratio 0.4');
  });

  it('plots speed-ups: a point at 2x sits on the ideal line for two cores', () => {
    const ideal = /<polyline points="([^"]+)" fill="none" stroke="#999"/.exec(svg)![1].split(' ');
    const twoWorkers = /<circle cx="([\d.]+)" cy="([\d.]+)"[^>]*><title>low conflict, 2 workers/.exec(svg)!;
    const [ix, iy] = ideal[1].split(',').map(Number);
    expect(Number(twoWorkers[1])).toBeCloseTo(ix, 1);
    // 1.8x is below the 2x ideal: a larger y coordinate
    expect(Number(twoWorkers[2])).toBeGreaterThan(iy);
  });

  it('escapes text', () => {
    expect(svg).toContain('caption &lt;with&gt; &amp; &quot;quotes&quot;');
    expect(svg).not.toContain('<with>');
  });
});
