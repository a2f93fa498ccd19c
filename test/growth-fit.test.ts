/**
 * The statistics behind the "how cost grows" verdicts (bench/growth-fit.mjs,
 * issue #15), on synthetic costs whose shape is known: a line is called
 * linear with its coefficients found, a quadratic is caught, a step is
 * caught, a cost that bends down is not called quadratic, and a flat cost is
 * told from one that is not.
 */
import t from 'tap';
import { FLAT_RATIO, fitPolynomial, flatness, linearity, steps } from '../bench/growth-fit.mjs';

const HEADERS = [1, 2, 5, 10, 20, 50, 100];
const SIZES = [0, 1, 4, 16, 64, 256, 1024].map((k) => k * 1024);
const points = (xs: number[], f: (x: number) => number) => xs.map((x) => ({ x, y: f(x) }));
// Deterministic ±3 % noise.
const noise = [1.02, 0.97, 1.03, 0.99, 0.98, 1.01, 1.0];

t.test('a line is linear, its coefficients recovered, with no quadratic term', async (t) => {
  const l = linearity(points(HEADERS, (x) => 14 + 0.4 * x));
  t.ok(l.linear, 'linear');
  t.notOk(l.quadratic, 'no quadratic term');
  t.ok(Math.abs(l.line!.coef[0]! - 14) < 1e-9 && Math.abs(l.line!.coef[1]! - 0.4) < 1e-9, `a = 14, b = 0.4 (got ${l.line!.coef})`);
  t.ok(l.line!.r2 > 0.999999, 'R² 1');
  t.ok(Math.abs(l.quadShare!) < 1e-9, 'quadratic share 0');
  t.equal(l.xMax, 100);
});

t.test('content sizes up to 1 MiB (x² ~ 10¹²) fit without losing precision, x = 0 included', async (t) => {
  const l = linearity(points(SIZES, (x) => 20 + x / 2048));
  t.ok(l.linear && !l.quadratic);
  t.ok(Math.abs(l.line!.coef[1]! * 1024 - 0.5) < 1e-9, 'b = 0.5 µs per KiB');
  const q = linearity(points(SIZES, (x) => 20 + x / 2048 + (x / 1024) ** 2 / 1000));
  t.ok(q.quadratic, `a quadratic term of ${((q.quadShare ?? 0) * 100).toFixed(0)} % at 1 MiB is caught`);
  t.ok(Math.abs(q.quad!.coef[2]! * 1024 * 1024 - 1 / 1000) < 1e-9, 'and c recovered');
});

t.test('noise of a few per cent keeps a line linear', async (t) => {
  const l = linearity(HEADERS.map((x, i) => ({ x, y: (14 + 0.4 * x) * noise[i]! })));
  t.ok(l.linear, `R² ${l.line!.r2.toFixed(4)}, largest residual ${(l.line!.maxResidual.value * 100).toFixed(1)} %`);
  t.notOk(l.quadratic, `quadratic share ${((l.quadShare ?? 0) * 100).toFixed(1)} %`);
});

t.test('a quadratic cost is caught', async (t) => {
  const l = linearity(points(HEADERS, (x) => 14 + 0.4 * x + 0.01 * x * x));
  t.ok(l.quadratic, `quadratic share ${((l.quadShare ?? 0) * 100).toFixed(0)} %`);
  t.ok(l.quadShare! > 0.3);
  const st = steps(points(HEADERS, (x) => 14 + 0.4 * x + 0.01 * x * x));
  t.ok(st.some((s) => (s.normalised ?? 0) > 1), 'a step grows faster than x');
});

t.test('a step (the cost jumps by half from 20 fields on) is not a line', async (t) => {
  const l = linearity(points(HEADERS, (x) => (14 + 0.4 * x) * (x >= 20 ? 1.5 : 1)));
  t.notOk(l.linear, `largest residual ${(l.line!.maxResidual.value * 100).toFixed(0)} % at ${l.line!.maxResidual.x}`);
});

t.test('a cost that bends down (the per-write cost of pipelining with a cap) is not called quadratic', async (t) => {
  const l = linearity(points([1, 2, 4, 8, 16, 32, 64], (d) => 15 + 3 * d - 0.02 * d * d));
  t.ok(l.quadShare! < 0, 'a negative quadratic share');
  t.notOk(l.quadratic);
});

t.test('flat and not flat', async (t) => {
  const f = flatness(points([10, 100, 1000, 10000], (x) => 15 + (x % 7) / 10));
  t.ok(f.flat, `max / min ${f.ratio.toFixed(3)} ≤ ${FLAT_RATIO}`);
  const g = flatness(points([10, 100, 1000, 10000], (x) => 15 + x / 1000));
  t.notOk(g.flat, `max / min ${g.ratio.toFixed(2)}`);
  t.equal(g.min, 15.01);
  t.equal(g.max, 25);
  t.ok(g.grows, `it grows: the largest rise is ${g.rise.toFixed(2)}`);
  t.ok(Number.isNaN(flatness([]).ratio), 'nothing: NaN, not flat');
  t.ok(flatness([]).grows, 'and not known not to grow');
  const falling = flatness(points([10, 100, 1000, 10000], (x) => 10 - Math.log10(x)));
  t.ok(!falling.flat && !falling.grows, `a cost that only falls is not flat (max / min ${falling.ratio.toFixed(2)}) but does not grow either (rise ${falling.rise})`);
  const dip = flatness([{ x: 1, y: 10 }, { x: 2, y: 6 }, { x: 3, y: 9 }]);
  t.equal(dip.rise, 1.5, 'a rise after a dip counts, from the lowest point before it');
  t.ok(dip.grows);
});

t.test('step ratios, normalised by the growth of x', async (t) => {
  const st = steps(points([0, 1, 4], (x) => 10 + 2 * x));
  t.same(st[0], { ratio: null, xGrowth: null, normalised: null }, 'none for the first point');
  t.same(st[1], { ratio: 1.2, xGrowth: null, normalised: null }, 'no growth of x from 0');
  t.equal(st[2]!.xGrowth, 4);
  t.ok(Math.abs(st[2]!.ratio! - 18 / 12) < 1e-12 && st[2]!.normalised! <= 1, 'a + b·x: at most 1');
});

t.test('too few points, or points that say nothing, give no fit', async (t) => {
  t.equal(fitPolynomial([{ x: 1, y: 2 }], 1), null, 'one point, no line');
  t.equal(fitPolynomial([{ x: 1, y: 2 }, { x: 2, y: 3 }], 2), null, 'two points, no parabola');
  t.equal(fitPolynomial([{ x: 3, y: 2 }, { x: 3, y: 5 }], 1), null, 'one x twice: singular');
  t.equal(fitPolynomial([{ x: 1, y: Number.NaN }, { x: 2, y: 0 }, { x: 3, y: 4 }], 1), null, 'only one usable point');
  const l = linearity([{ x: 1, y: 2 }, { x: 2, y: 3 }]);
  t.ok(l.line !== null && l.quad === null && l.quadShare === null && !l.quadratic, 'a line through two points, no quadratic verdict');
  const same = fitPolynomial([{ x: 1, y: 5 }, { x: 2, y: 5 }, { x: 3, y: 5 }], 1);
  t.equal(same!.r2, 1, 'a constant is fitted exactly (R² 1, not 0/0)');
});
