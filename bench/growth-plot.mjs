// The plot of the "how cost grows" benchmark (bench/growth.mjs): hand-written
// SVG text, no dependencies. A grid of small panels, one per sweep, each with
// axes and tick labels, the measured points of one or more series, and a
// fitted curve. Points with a value that is not a finite number are left out,
// so the text never holds NaN; every piece of text is escaped.
//
//   renderGrowthSvg({ title, desc, panels: [{ title, xLabel, yLabel, xScale, xTicks, xZero, series, curve, note }] })

/** Okabe–Ito colours, told apart with the common colour-vision deficiencies. */
export const COLORS = { blue: '#0072B2', orange: '#E69F00', vermillion: '#D55E00', grey: '#666666' };

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

/** Escapes text for SVG (XML) content and attribute values. */
export function escapeXml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
}

/** A coordinate: one decimal, never NaN (a non-finite value becomes 0). */
const num = (v) => (Number.isFinite(v) ? String(Math.round(v * 10) / 10) : '0');

/** A y tick label: thousands separators, at most two decimals, no trailing zeros. */
export function formatTick(v) {
  if (!Number.isFinite(v)) return '';
  return v.toLocaleString('en-US', { maximumFractionDigits: Math.abs(v) >= 100 ? 0 : 2 });
}

/** Round tick values from 0 up to at least `max`: steps of 1, 2 or 5 × 10ⁿ, about five of them. */
export function niceTicks(max) {
  if (!Number.isFinite(max) || max <= 0) return [0, 1];
  const rough = max / 5;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= rough);
  const ticks = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Math.round(v / step) * step);
  return ticks;
}

/**
 * The x scale of a panel: linear, or log, where x = 0 (which log cannot
 * show) is drawn at the pseudo value `zero` left of the smallest positive x.
 * Returns x ↦ [0, 1] over the padded domain.
 */
function xScaleOf(panel, xs) {
  const log = panel.xScale === 'log';
  const zero = panel.xZero ?? null;
  const t = (x) => {
    if (!log) return x;
    if (x === 0 && zero !== null) return Math.log10(zero);
    return x > 0 ? Math.log10(x) : NaN;
  };
  const tickXs = (panel.xTicks ?? []).map((k) => k.value);
  const ts = [...xs, ...tickXs].map(t).filter(Number.isFinite);
  let lo = ts.length > 0 ? Math.min(...ts) : 0;
  let hi = ts.length > 0 ? Math.max(...ts) : 1;
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  return { t, unit: (x) => (t(x) - lo) / (hi - lo), fromUnit: (u) => lo + u * (hi - lo), log };
}

/** One panel at (left, top), `w` × `h` pixels overall. */
function renderPanel(panel, left, top, w, h) {
  const m = { left: 62, right: 14, top: 30, bottom: panel.note ? 62 : 44 };
  const pw = w - m.left - m.right;
  const ph = h - m.top - m.bottom;
  const x0 = left + m.left;
  const y0 = top + m.top;
  const finite = (p) => Number.isFinite(p.x) && Number.isFinite(p.y);
  const series = (panel.series ?? []).map((s) => ({ ...s, points: (s.points ?? []).filter(finite) }));
  const allPoints = series.flatMap((s) => s.points);
  const xs = allPoints.map((p) => p.x);
  const sx = xScaleOf(panel, xs);
  // The fitted curve: sampled evenly along the drawn x axis between the first and last measured positive x.
  const curvePts = [];
  if (panel.curve && xs.length > 0) {
    const positive = panel.xScale === 'log' ? xs.filter((x) => x > 0) : xs;
    const a = positive.length > 0 ? sx.t(Math.min(...positive)) : 0;
    const b = positive.length > 0 ? sx.t(Math.max(...positive)) : 0;
    if (b > a) {
      for (let i = 0; i <= 64; i++) {
        const tv = a + ((b - a) * i) / 64;
        const x = sx.log ? 10 ** tv : tv;
        const y = panel.curve.f(x);
        if (Number.isFinite(y)) curvePts.push({ x, y });
      }
    }
  }
  const yMaxData = Math.max(0, ...allPoints.map((p) => (Number.isFinite(p.hi) ? Math.max(p.y, p.hi) : p.y)), ...curvePts.map((p) => p.y));
  const yTicks = niceTicks(yMaxData * 1.05);
  const yMax = yTicks[yTicks.length - 1];
  const px = (x) => x0 + sx.unit(x) * pw;
  const py = (y) => y0 + ph - (Math.min(Math.max(y, 0), yMax) / yMax) * ph;

  const out = [];
  out.push(`<g class="panel">`);
  out.push(`<title>${escapeXml(panel.title)}</title>`);
  out.push(`<text x="${num(x0 + pw / 2)}" y="${num(top + 18)}" text-anchor="middle" font-size="14" font-weight="600">${escapeXml(panel.title)}</text>`);
  // Grid and y ticks.
  for (const v of yTicks) {
    const y = py(v);
    out.push(`<line x1="${num(x0)}" y1="${num(y)}" x2="${num(x0 + pw)}" y2="${num(y)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${num(x0 - 6)}" y="${num(y + 4)}" text-anchor="end" font-size="11">${escapeXml(formatTick(v))}</text>`);
  }
  // x ticks.
  for (const k of panel.xTicks ?? []) {
    const u = sx.unit(k.value);
    if (!Number.isFinite(u)) continue;
    const x = x0 + u * pw;
    out.push(`<line x1="${num(x)}" y1="${num(y0 + ph)}" x2="${num(x)}" y2="${num(y0 + ph + 5)}" stroke="#333"/>`);
    out.push(`<text x="${num(x)}" y="${num(y0 + ph + 18)}" text-anchor="middle" font-size="11">${escapeXml(k.label ?? formatTick(k.value))}</text>`);
  }
  // Axes.
  out.push(`<line x1="${num(x0)}" y1="${num(y0 + ph)}" x2="${num(x0 + pw)}" y2="${num(y0 + ph)}" stroke="#333"/>`);
  out.push(`<line x1="${num(x0)}" y1="${num(y0)}" x2="${num(x0)}" y2="${num(y0 + ph)}" stroke="#333"/>`);
  out.push(`<text x="${num(x0 + pw / 2)}" y="${num(y0 + ph + 34)}" text-anchor="middle" font-size="12">${escapeXml(panel.xLabel ?? '')}</text>`);
  out.push(`<text transform="translate(${num(left + 16)} ${num(y0 + ph / 2)}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(panel.yLabel ?? '')}</text>`);
  if (panel.note) out.push(`<text x="${num(x0 + pw / 2)}" y="${num(y0 + ph + 52)}" text-anchor="middle" font-size="11" fill="${COLORS.grey}">${escapeXml(panel.note)}</text>`);
  // The fitted curve under the points.
  if (curvePts.length > 1) {
    const d = curvePts.map((p, i) => `${i === 0 ? 'M' : 'L'}${num(px(p.x))} ${num(py(p.y))}`).join(' ');
    out.push(`<path class="fit" d="${d}" fill="none" stroke="${COLORS.vermillion}" stroke-width="1.5"/>`);
  }
  series.forEach((s, i) => {
    const color = s.color ?? (i === 0 ? COLORS.blue : COLORS.orange);
    for (const p of s.points) {
      // The spread over the rounds, when given: a whisker from lo to hi.
      if (Number.isFinite(p.lo) && Number.isFinite(p.hi)) {
        out.push(`<line class="spread" x1="${num(px(p.x))}" y1="${num(py(p.lo))}" x2="${num(px(p.x))}" y2="${num(py(p.hi))}" stroke="${color}" stroke-width="1"/>`);
      }
      const fill = s.hollow ? 'white' : color;
      const label = p.label ?? `${p.x}: ${formatTick(p.y)}`;
      out.push(`<circle class="point" data-series="${i}" cx="${num(px(p.x))}" cy="${num(py(p.y))}" r="${s.hollow ? 3.5 : 4}" fill="${fill}" stroke="${color}" stroke-width="1.5"><title>${escapeXml(`${s.name}: ${label}`)}</title></circle>`);
    }
  });
  out.push('</g>');
  return out.join('\n');
}

/**
 * The whole figure: a title (and a grey `subtitle` line under it), a legend (`legend`: [{ name, color, hollow } |
 * { name, line: true }]), and `panels` in a grid of `columns`.
 * `desc` is the text alternative (the `<desc>` read by screen readers).
 */
export function renderGrowthSvg({ title, subtitle = '', desc, legend = [], panels, columns = 2, width = 960, panelHeight = 300 }) {
  const cols = Math.max(1, Math.min(columns, panels.length));
  const rows = Math.ceil(panels.length / cols);
  const sub = subtitle ? 18 : 0;
  const head = (legend.length > 0 ? 58 : 40) + sub;
  const height = head + rows * panelHeight + 8;
  const pw = width / cols;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="growth-title growth-desc" ${FONT} fill="#222">`);
  out.push(`<title id="growth-title">${escapeXml(title)}</title>`);
  out.push(`<desc id="growth-desc">${escapeXml(desc ?? '')}</desc>`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${num(width / 2)}" y="24" text-anchor="middle" font-size="16" font-weight="700">${escapeXml(title)}</text>`);
  if (subtitle) out.push(`<text x="${num(width / 2)}" y="42" text-anchor="middle" font-size="12" fill="${COLORS.grey}">${escapeXml(subtitle)}</text>`);
  // The legend, centred on one line (text width estimated at 6.5 px a character at 12 px).
  const itemWidth = (item) => 24 + String(item.name).length * 6.5 + 28;
  let lx = (width - legend.reduce((s, item) => s + itemWidth(item), 0)) / 2;
  for (const item of legend) {
    const ly = 44 + sub;
    if (item.line) out.push(`<line x1="${num(lx)}" y1="${ly}" x2="${num(lx + 18)}" y2="${ly}" stroke="${COLORS.vermillion}" stroke-width="1.5"/>`);
    else out.push(`<circle cx="${num(lx + 9)}" cy="${ly}" r="4" fill="${item.hollow ? 'white' : item.color}" stroke="${item.color}" stroke-width="1.5"/>`);
    out.push(`<text x="${num(lx + 24)}" y="${ly + 4}" font-size="12">${escapeXml(item.name)}</text>`);
    lx += itemWidth(item);
  }
  panels.forEach((p, i) => {
    out.push(renderPanel(p, (i % cols) * pw, head + Math.floor(i / cols) * panelHeight, pw, panelHeight));
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
