/**
 * The benchmark's chart as a self-contained SVG: throughput (higher is better) and p99 latency
 * (lower is better) as grouped bars, one colour per system, each bar labelled with its value.
 * Hand-written rather than a charting library: two bar panels are ~100 lines of SVG, and a
 * library would pull a headless browser or canvas binding into the benchmark's dependencies.
 */
import { SYSTEM_IDS, SYSTEM_NAMES, type SystemId } from './systems.js';
import { ACKS, type Acks, PARTITION_COUNTS, type SystemResults } from './workloads.js';
import { fmt, measured } from './report.js';

const IDS: readonly SystemId[] = SYSTEM_IDS;
const COLORS: Record<SystemId, string> = {
  'kafka': '#7f7f7f', 'kafka-fsync': '#3b3b3b', 'ledgerstream': '#1f77b4', 'ledgerstream-s3': '#2ca02c',
  'ledgerstream-object-wal': '#ff7f0e', 'ledgerstream-cluster': '#6baed6',
};

interface Group {
  label: string;
  get(r: SystemResults): number;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Rounds up to a readable axis top (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × a power of ten). */
function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function panel(x0: number, y0: number, w: number, h: number, title: string, groups: Group[],
  results: Partial<Record<SystemId, SystemResults>>): string {
  const ids = IDS.filter((id) => results[id]);
  const value = (g: Group, id: SystemId): number => {
    try {
      const v = g.get(results[id]!);
      return Number.isFinite(v) ? v : NaN;
    } catch {
      return NaN;
    }
  };
  const top = niceMax(Math.max(0, ...groups.flatMap((g) => ids.map((id) => value(g, id))).filter(Number.isFinite)));
  const plotTop = y0 + 30;
  const plotH = h - 80;
  const plotLeft = x0 + 50;
  const plotW = w - 60;
  const groupW = plotW / groups.length;
  const barW = Math.min(22, (groupW - 10) / Math.max(1, ids.length));
  const out = [`<text x="${x0 + w / 2}" y="${y0 + 14}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`];
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    const y = plotTop + plotH - (plotH * i) / 4;
    out.push(`<line x1="${plotLeft}" x2="${plotLeft + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${plotLeft - 6}" y="${y + 4}" text-anchor="end" font-size="10">${fmt(v)}</text>`);
  }
  groups.forEach((g, gi) => {
    const gx = plotLeft + gi * groupW + (groupW - barW * ids.length) / 2;
    ids.forEach((id, si) => {
      const v = value(g, id);
      const bh = Number.isFinite(v) ? (plotH * Math.min(v, top)) / top : 0;
      const x = gx + si * barW;
      const y = plotTop + plotH - bh;
      out.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${COLORS[id]}"><title>${esc(`${SYSTEM_NAMES[id]}: ${fmt(v)}`)}</title></rect>`);
      out.push(`<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(y - 3).toFixed(1)}" text-anchor="middle" font-size="8">${Number.isFinite(v) ? fmt(v) : 'n/a'}</text>`);
    });
    const lines = g.label.split('\n');
    lines.forEach((l, li) => out.push(`<text x="${(plotLeft + gi * groupW + groupW / 2).toFixed(1)}" y="${plotTop + plotH + 14 + li * 12}" text-anchor="middle" font-size="10">${esc(l)}</text>`));
  });
  return out.join('\n');
}

const short = (partitions: number, acks: Acks) => `${partitions}p acks=${acks === 'all' ? '-1' : acks}`;

export function chart(results: Partial<Record<SystemId, SystemResults>>, rate: number, caption: string): string {
  const combos = PARTITION_COUNTS.flatMap((partitions) => ACKS.map((acks) => ({ partitions, acks })));
  const find = (r: SystemResults, mode: 'fixed' | 'max', partitions: number, acks: Acks) =>
    r.produce.find((p) => p.mode === mode && p.partitions === partitions && p.acks === acks)!;
  const throughput: Group[] = [
    ...combos.map((c) => ({ label: `produce\n${short(c.partitions, c.acks)}`, get: (r: SystemResults) => find(r, 'max', c.partitions, c.acks).mbPerS })),
    { label: 'consume\njust written', get: (r) => measured(r.consume).mbPerS },
    { label: 'consume\ncatch-up', get: (r) => measured(r.catchUp).mbPerS },
    { label: 'kafkajs\nproduce', get: (r) => measured(r.kafkajs).produceMbPerS },
  ];
  const latency: Group[] = [
    ...combos.map((c) => ({ label: `produce\n${short(c.partitions, c.acks)}`, get: (r: SystemResults) => find(r, 'fixed', c.partitions, c.acks).p99Ms })),
    { label: 'end to end\nacks=-1', get: (r) => measured(r.e2e).p99Ms },
    { label: 'agent fleet\nproduce', get: (r) => measured(r.fleet).produce.p99Ms ?? NaN },
  ];
  const width = 1100;
  const height = 420;
  const legend = IDS.filter((id) => results[id]).map((id, i) =>
    `<rect x="${20 + i * 170}" y="${height - 28}" width="12" height="12" fill="${COLORS[id]}"/><text x="${36 + i * 170}" y="${height - 18}" font-size="11">${esc(SYSTEM_NAMES[id])}</text>`).join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    panel(0, 10, 640, 360, 'Throughput, MB/s (higher is better)', throughput, results),
    panel(640, 10, 460, 360, `p99 latency, ms (lower is better); produce at ${rate.toLocaleString('en-US')} records/s`, latency, results),
    legend,
    `<text x="${width - 10}" y="${height - 18}" text-anchor="end" font-size="10" fill="#555">${esc(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
