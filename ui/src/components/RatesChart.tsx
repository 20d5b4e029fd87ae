/**
 * Commit and abort rates over time (d3), from the snapshot's time buckets.
 * Brushing sets the shared time-range filter. Colours are the theme's CSS
 * variables, so the chart follows light/dark without redrawing.
 */
import { useEffect, useRef } from 'react';
import * as d3 from 'd3';
import type { AggregateSnapshot } from '../../../model/aggregate.ts';
import type { TimeRange } from '../model/viewport.ts';
import { fmtInt, fmtTick, perSecond } from '../model/figures.ts';

interface Props {
  snapshot: AggregateSnapshot;
  range?: TimeRange;
  onRange(r: TimeRange | undefined): void;
  height?: number;
}

export function RatesChart({ snapshot, range, onRange, height = 200 }: Props) {
  const ref = useRef<SVGSVGElement>(null);
  const onRangeRef = useRef(onRange);
  onRangeRef.current = onRange;
  useEffect(() => {
    const svg = ref.current;
    if (!svg) return;
    const draw = () => {
      const width = Math.max(300, svg.clientWidth || 800);
      const m = { top: 10, right: 16, bottom: 24, left: 56 };
      const iw = width - m.left - m.right;
      const ih = height - m.top - m.bottom;
      const tl = snapshot.timeline;
      const n = tl.commits.length;
      const duration = Math.max(snapshot.durationNs, snapshot.lastNs, n * tl.bucketNs * 0.5, 1);
      const inDomain = (d: { t: number }) => d.t >= snapshot.firstNs - tl.bucketNs;
      const commits0 = tl.commits.map((c, i) => ({ t: (i + 0.5) * tl.bucketNs, v: perSecond(c, tl.bucketNs) }));
      const aborts = tl.aborts.map((c, i) => ({ t: (i + 0.5) * tl.bucketNs, v: perSecond(c, tl.bucketNs) })).filter(inDomain);
      const commits = commits0.filter(inDomain);
      // Start at the first event: programs often spend a while before their first transaction.
      const t0 = Math.max(0, Math.floor(snapshot.firstNs / tl.bucketNs) * tl.bucketNs);
      const x = d3.scaleLinear().domain([t0 < duration ? t0 : 0, duration]).range([0, iw]);
      const ymax = d3.max([...commits, ...aborts], (d) => d.v) ?? 1;
      const y = d3
        .scaleLinear()
        .domain([0, ymax || 1])
        .nice()
        .range([ih, 0]);
      const root = d3.select(svg);
      root.selectAll('*').remove();
      root.attr('viewBox', `0 0 ${width} ${height}`).attr('height', height);
      const g = root.append('g').attr('transform', `translate(${m.left},${m.top})`);
      const step = (x.domain()[1] - x.domain()[0]) / 6;
      g.append('g')
        .attr('class', 'axis')
        .attr('transform', `translate(0,${ih})`)
        .call(
          d3
            .axisBottom(x)
            .ticks(6)
            .tickFormat((d) => fmtTick(Number(d), step)),
        );
      g.append('g')
        .attr('class', 'axis')
        .call(
          d3
            .axisLeft(y)
            .ticks(4)
            .tickFormat((d) => `${fmtInt(Number(d))}/s`),
        );
      const area = d3
        .area<{ t: number; v: number }>()
        .x((d) => x(d.t))
        .y0(ih)
        .y1((d) => y(d.v))
        .curve(d3.curveMonotoneX);
      const line = d3
        .line<{ t: number; v: number }>()
        .x((d) => x(d.t))
        .y((d) => y(d.v))
        .curve(d3.curveMonotoneX);
      g.append('path').datum(commits).attr('d', area).style('fill', 'var(--c-commit)').style('fill-opacity', 0.25);
      g.append('path').datum(commits).attr('d', line).style('fill', 'none').style('stroke', 'var(--c-commit)').style('stroke-width', 1.5).attr('data-series', 'commits');
      g.append('path').datum(aborts).attr('d', line).style('fill', 'none').style('stroke', 'var(--c-abort)').style('stroke-width', 1.5).attr('data-series', 'aborts');
      const brush = d3
        .brushX()
        .extent([
          [0, 0],
          [iw, ih],
        ])
        .on('end', (ev: d3.D3BrushEvent<unknown>) => {
          if (!ev.sourceEvent) return;
          const sel = ev.selection as [number, number] | null;
          if (!sel) onRangeRef.current(undefined);
          else onRangeRef.current({ startNs: Math.max(0, Math.round(x.invert(sel[0]))), endNs: Math.round(x.invert(sel[1])) });
        });
      const bg = g.append('g').attr('class', 'brush').call(brush);
      bg.selectAll('.selection').style('fill', 'var(--accent)').style('fill-opacity', 0.15).style('stroke', 'var(--accent)');
      if (range) bg.call(brush.move, [Math.max(0, x(range.startNs)), Math.min(iw, x(range.endNs))]);
    };
    draw();
    const ro = new ResizeObserver(draw);
    ro.observe(svg);
    return () => ro.disconnect();
  }, [snapshot, range, height]);
  return (
    <div className="st-chart" data-testid="rates-chart">
      <svg ref={ref} role="img" aria-label="Commits and aborts per second over time" />
      <div className="st-legend">
        <span>
          <span className="st-swatch" style={{ background: 'var(--c-commit)' }} />
          commits/s
        </span>
        <span>
          <span className="st-swatch" style={{ background: 'var(--c-abort)' }} />
          aborts/s
        </span>
        <span>drag to filter a time range</span>
      </div>
    </div>
  );
}

/** A per-group mini timeline: conflicts per bucket as bars. */
export function MiniHistogram({ histogram, bucketNs, durationNs, startNs = 0, height = 46 }: { histogram: number[]; bucketNs: number; durationNs: number; startNs?: number; height?: number }) {
  const ref = useRef<SVGSVGElement>(null);
  useEffect(() => {
    const svg = ref.current;
    if (!svg) return;
    const width = Math.max(200, svg.clientWidth || 400);
    const duration = Math.max(durationNs, histogram.length * bucketNs * 0.5, 1);
    const t0 = Math.max(0, Math.floor(startNs / bucketNs) * bucketNs);
    const x = d3.scaleLinear().domain([t0 < duration ? t0 : 0, duration]).range([0, width]);
    const y = d3
      .scaleLinear()
      .domain([0, d3.max(histogram) || 1])
      .range([height - 12, 0]);
    const root = d3.select(svg);
    root.selectAll('*').remove();
    root.attr('viewBox', `0 0 ${width} ${height}`).attr('height', height);
    const bw = Math.max(1, x(bucketNs) - x(0) - 0.5);
    root
      .append('g')
      .selectAll('rect')
      .data(histogram.map((v, i) => ({ v, i })).filter((d) => d.v > 0))
      .join('rect')
      .attr('x', (d) => x(d.i * bucketNs))
      .attr('width', bw)
      .attr('y', (d) => y(d.v))
      .attr('height', (d) => height - 12 - y(d.v))
      .style('fill', 'var(--c-abort)');
    root
      .append('line')
      .attr('x1', 0)
      .attr('x2', width)
      .attr('y1', height - 12)
      .attr('y2', height - 12)
      .style('stroke', 'var(--border)');
    root
      .append('text')
      .attr('x', 0)
      .attr('y', height - 1)
      .style('fill', 'var(--muted)')
      .style('font-size', '10px')
      .text(fmtTick(x.domain()[0], duration));
    root
      .append('text')
      .attr('x', width)
      .attr('y', height - 1)
      .attr('text-anchor', 'end')
      .style('fill', 'var(--muted)')
      .style('font-size', '10px')
      .text(fmtTick(duration, duration));
  }, [histogram, bucketNs, durationNs, startNs, height]);
  return <svg ref={ref} className="st-mini" style={{ width: '100%', display: 'block' }} role="img" aria-label="Conflicts of this group over time" />;
}
