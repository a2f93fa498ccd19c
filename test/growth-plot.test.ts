/**
 * The SVG writer of the "how cost grows" benchmark (bench/growth-plot.mjs,
 * issue #15), on a synthetic dataset: the text is well formed (every tag
 * closed, in order, under one <svg>), holds one circle per finite point and
 * never NaN, escapes every piece of text, keeps every point inside the
 * picture, and puts larger x to the right and larger y higher up. A real
 * XML parser (Python's xml.etree, when python3 is installed) reads it too.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { findBinary } from './helpers/peers-common.js';
import { escapeXml, formatTick, niceTicks, renderGrowthSvg, type PlotPanel } from '../bench/growth-plot.mjs';

/** The tags of an SVG text in order, as [name, kind] (kind: open | close | self); throws on text it cannot read. */
function tags(svg: string): { name: string; kind: 'open' | 'close' | 'self'; text: string }[] {
  const out: { name: string; kind: 'open' | 'close' | 'self'; text: string }[] = [];
  let i = 0;
  for (;;) {
    const lt = svg.indexOf('<', i);
    if (lt === -1) return out;
    const gt = svg.indexOf('>', lt);
    if (gt === -1) throw new Error(`a tag at ${lt} never ends`);
    const text = svg.slice(lt, gt + 1);
    if (text.slice(1).includes('<')) throw new Error(`a raw < inside ${text}`);
    const close = text.startsWith('</');
    const self = text.endsWith('/>');
    let end = close ? 2 : 1;
    while (end < text.length && text[end] !== ' ' && text[end] !== '>' && text[end] !== '/') end++;
    out.push({ name: text.slice(close ? 2 : 1, end), kind: close ? 'close' : self ? 'self' : 'open', text });
    i = gt + 1;
  }
}

/** Checks that every open tag is closed in order under one root; returns the root's name. */
function balanced(svg: string): string {
  const stack: string[] = [];
  let root = '';
  for (const tag of tags(svg)) {
    if (stack.length === 0 && root !== '') throw new Error(`${tag.text} after the root closed`);
    if (tag.kind === 'open') {
      if (root === '') root = tag.name;
      stack.push(tag.name);
    } else if (tag.kind === 'close') {
      const top = stack.pop();
      if (top !== tag.name) throw new Error(`</${tag.name}> closes <${top}>`);
    } else if (root === '') throw new Error('the root is self-closed');
  }
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(' ')}`);
  return root;
}

/** Every attribute `name="value"` of the circles of one series, as numbers. */
function circles(svg: string, series?: number): { cx: number; cy: number }[] {
  return tags(svg)
    .filter((g) => g.name === 'circle' && g.text.includes('class="point"') && (series === undefined || g.text.includes(`data-series="${series}"`)))
    .map((g) => {
      const attr = (n: string) => {
        const at = g.text.indexOf(` ${n}="`);
        return Number(g.text.slice(at + n.length + 3, g.text.indexOf('"', at + n.length + 3)));
      };
      return { cx: attr('cx'), cy: attr('cy') };
    });
}

/** The four panels of the benchmark, with made-up costs (a + b·x and a flat one). */
function syntheticPanels(): PlotPanel[] {
  const line = (xs: number[], a: number, b: number) => xs.map((x) => ({ x, y: a + b * x }));
  const headers = [1, 2, 5, 10, 20, 50, 100];
  const sizes = [0, 1, 4, 16, 64, 256, 1024];
  const depths = [1, 2, 4, 8, 16, 32, 64];
  const conns = [10, 100, 1000, 10000];
  return [
    {
      title: 'Header fields per request', xLabel: 'header fields', yLabel: 'µs per request', xScale: 'log',
      xTicks: [1, 10, 100].map((v) => ({ value: v, label: String(v) })),
      series: [{ name: 'server CPU', points: line(headers, 14, 0.4).map((p) => ({ ...p, lo: p.y * 0.9, hi: p.y * 1.2 })) }, { name: 'wall', hollow: true, points: line(headers, 16, 0.45) }],
      curve: { f: (x) => 14 + 0.4 * x },
      note: 'verdict: linear',
    },
    {
      title: 'Request content', xLabel: 'KiB', yLabel: 'µs per request', xScale: 'log', xZero: 0.25,
      xTicks: [{ value: 0, label: '0' }, ...[1, 16, 256].map((v) => ({ value: v }))],
      series: [{ name: 'server CPU', points: line(sizes, 20, 0.5) }, { name: 'wall', hollow: true, points: line(sizes, 22, 0.6) }],
      curve: { f: (k) => 20 + 0.5 * k },
    },
    {
      title: 'Pipelining depth', xScale: 'log',
      xTicks: depths.map((v) => ({ value: v })),
      series: [{ name: 'server CPU', points: depths.map((d) => ({ x: d, y: 12 / d + 3 })) }, { name: 'wall', hollow: true, points: depths.map((d) => ({ x: d, y: 14 / d + 3 })) }],
      curve: { f: (d) => 12 / d + 3 },
    },
    {
      title: 'Open connections', xScale: 'log',
      xTicks: [10, 100, 1000, 10000].map((v) => ({ value: v })),
      series: [{ name: 'server CPU', points: conns.map((x) => ({ x, y: 15 })) }, { name: 'wall', hollow: true, points: conns.map((x) => ({ x, y: 17 })) }],
    },
  ];
}

t.test('a synthetic figure is well formed, with one circle per point and nothing not a number', async (t) => {
  const svg = renderGrowthSvg({ title: 'How cost grows', subtitle: 'load average 0.10', desc: 'four sweeps', legend: [{ name: 'CPU', color: '#0072B2' }, { name: 'fit', line: true }], panels: syntheticPanels() });
  t.equal(balanced(svg), 'svg', 'every tag closes, in order, under one <svg>');
  t.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), 'an SVG document');
  t.equal(circles(svg).length, (7 + 7 + 7 + 4) * 2, 'one circle per point of every series');
  t.equal(circles(svg, 0).length, 25, 'the first series: 25 points');
  t.equal(tags(svg).filter((g) => g.kind === 'open' && g.name === 'g' && g.text.includes('class="panel"')).length, 4, 'four panels');
  t.equal(tags(svg).filter((g) => g.name === 'path' && g.text.includes('class="fit"')).length, 3, 'a fitted curve in each panel that has one');
  t.notMatch(svg, /NaN|Infinity|undefined/, 'no NaN, Infinity or undefined anywhere');
  t.equal(tags(svg).filter((g) => g.name === 'line' && g.text.includes('class="spread"')).length, 7, 'a whisker for each point with a spread');
  t.match(svg, /<title id="growth-title">How cost grows<\/title>/, 'a <title> for screen readers');
  t.match(svg, /<desc id="growth-desc">four sweeps<\/desc>/, 'and a <desc>');
  t.match(svg, /aria-labelledby="growth-title growth-desc"/, 'which label the picture');
  for (const label of ['load average 0.10', 'Header fields per request', 'Open connections', 'verdict: linear', 'header fields', '1,000', '10,000']) t.ok(svg.includes(`>${label}<`), `the text ${label}`);
});

t.test('every point lies inside the picture; x grows to the right and y upwards', async (t) => {
  const svg = renderGrowthSvg({ title: 't', panels: syntheticPanels(), width: 800, panelHeight: 250 });
  const height = Number(/height="(\d+)"/.exec(svg)![1]);
  t.equal(height, 40 + 2 * 250 + 8, 'two rows of panels under the title');
  const all = circles(svg);
  t.ok(all.every((c) => c.cx > 0 && c.cx < 800 && c.cy > 0 && c.cy < height), 'all circles inside the view box');
  // The first series of the first panel: x = 1 … 100 and y rising with it.
  const headers = circles(svg, 0).slice(0, 7);
  for (let i = 1; i < headers.length; i++) {
    t.ok(headers[i]!.cx > headers[i - 1]!.cx, `point ${i} is right of point ${i - 1}`);
    t.ok(headers[i]!.cy < headers[i - 1]!.cy, `and higher (a larger cost)`);
  }
  // Each whisker runs from hi (above) to lo (below) through its point.
  const whiskers = tags(svg).filter((g) => g.name === 'line' && g.text.includes('class="spread"')).map((g) => {
    const a = (n: string) => Number(new RegExp(` ${n}="([^"]+)"`).exec(g.text)![1]);
    return { x: a('x1'), lo: a('y1'), hi: a('y2') };
  });
  whiskers.forEach((w, i) => {
    t.equal(w.x, headers[i]!.cx, `whisker ${i} at its point's x`);
    t.ok(w.hi < headers[i]!.cy && headers[i]!.cy < w.lo, `and around its point`);
  });
  // The content panel draws x = 0 on the log scale, left of 1 KiB.
  const sizes = circles(svg, 0).slice(7, 14);
  t.ok(sizes[0]!.cx < sizes[1]!.cx, 'x = 0 is drawn left of the smallest positive x');
  t.ok(sizes[0]!.cx > 400, 'inside its own (second) panel');
  // The flat panel: every point at the same height.
  const flat = circles(svg, 0).slice(21);
  t.equal(new Set(flat.map((c) => c.cy)).size, 1, 'equal costs at equal heights');
  t.ok(flat[0]!.cy > 250, 'in the second row');
});

t.test('text is escaped, and points that are not finite numbers are left out', async (t) => {
  const nasty = `<script>alert("x")</script> & 'quotes'`;
  const svg = renderGrowthSvg({
    title: nasty,
    subtitle: nasty,
    desc: nasty,
    legend: [{ name: nasty, color: '#000', hollow: true }],
    panels: [{
      title: nasty, xLabel: nasty, yLabel: nasty, note: nasty, xScale: 'linear',
      xTicks: [{ value: 1, label: nasty }, { value: Number.NaN, label: 'nowhere' }],
      series: [
        { name: nasty, points: [{ x: 1, y: 2, label: nasty }, { x: Number.NaN, y: 3 }, { x: 2, y: Number.POSITIVE_INFINITY }, { x: 3, y: 4 }] },
        { name: 'empty', points: [{ x: Number.NaN, y: Number.NaN }] },
      ],
      curve: { f: (x) => (x > 2 ? Number.NaN : x) },
    }],
  });
  t.equal(balanced(svg), 'svg', 'still well formed');
  t.notOk(svg.includes('<script'), 'no raw tag from the text');
  t.notOk(svg.includes('"x"'), 'no raw double quote from the text');
  t.ok(svg.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;quotes&apos;'), 'the text, escaped');
  t.equal(circles(svg).length, 2, 'only the two finite points are drawn');
  t.notMatch(svg, /NaN|Infinity|undefined/, 'no NaN in the text');
  t.notOk(svg.includes('>nowhere<'), 'a tick at NaN is left out');
  const amps = svg.split('&').slice(1);
  t.ok(amps.every((s) => /^(amp|lt|gt|quot|apos);/.test(s)), 'every & starts an entity');
});

t.test('a figure with no measurable points still draws axes, without NaN', async (t) => {
  const svg = renderGrowthSvg({ title: 'empty', panels: [{ title: 'nothing', xScale: 'log', series: [] }, { title: 'one point', xScale: 'log', series: [{ name: 's', points: [{ x: 5, y: 0 }] }], curve: { f: () => 1 } }] });
  t.equal(balanced(svg), 'svg');
  t.notMatch(svg, /NaN|Infinity|undefined/);
  t.equal(circles(svg).length, 1, 'the one point');
  t.equal(tags(svg).filter((g) => g.name === 'path').length, 0, 'no curve over a single x');
});

t.test('tick helpers', async (t) => {
  t.same(niceTicks(87), [0, 20, 40, 60, 80, 100], 'steps of 2 × 10ⁿ up past the maximum');
  t.same(niceTicks(4.2), [0, 1, 2, 3, 4, 5], 'steps of 1');
  t.same(niceTicks(2400), [0, 500, 1000, 1500, 2000, 2500], 'steps of 5 × 10ⁿ');
  t.same(niceTicks(0), [0, 1], 'nothing to show: 0 and 1');
  t.same(niceTicks(Number.NaN), [0, 1]);
  t.equal(formatTick(1500), '1,500');
  t.equal(formatTick(0.25), '0.25');
  t.equal(formatTick(123.456), '123');
  t.equal(formatTick(Number.NaN), '');
  t.equal(escapeXml(`a<b>&"'`), 'a&lt;b&gt;&amp;&quot;&apos;');
});

const python = findBinary(['python3']);

t.test('a real XML parser reads the figure: the SVG namespace, every circle, the escaped text back as written', { skip: python === null ? 'python3 is not installed; install it with apt-get install python3' : false }, async (t) => {
  const nasty = `<b> & "q" 'a'`;
  const panels = syntheticPanels();
  panels[0]!.title = nasty;
  const svg = renderGrowthSvg({ title: nasty, desc: nasty, panels });
  const script = [
    'import sys, json, xml.etree.ElementTree as ET',
    'root = ET.fromstring(sys.stdin.buffer.read())',
    'ns = "{http://www.w3.org/2000/svg}"',
    'points = [c for c in root.iter(ns + "circle") if c.get("class") == "point"]',
    'title = root.find(ns + "title").text',
    'panel_title = root.find(ns + "g").find(ns + "title").text',
    'print(json.dumps({"tag": root.tag, "points": len(points), "title": title, "panel": panel_title}))',
  ].join('\n');
  const r = spawnSync(python!, ['-c', script], { input: svg, encoding: 'utf8', timeout: 20_000 });
  t.equal(r.status, 0, `python3 parsed it${r.stderr ? `: ${r.stderr}` : ''}`);
  const out = JSON.parse(r.stdout) as { tag: string; points: number; title: string; panel: string };
  t.equal(out.tag, '{http://www.w3.org/2000/svg}svg', 'an <svg> in the SVG namespace');
  t.equal(out.points, 50, 'every point');
  t.equal(out.title, nasty, 'the title, unescaped back to what was written');
  t.equal(out.panel, nasty, 'and the panel title');
});
