// The statistics behind the "how cost grows" verdicts (bench/growth.mjs):
// least-squares fits of cost = a + b·x and a + b·x + c·x², the step ratios
// between neighbouring points, and the spread of a cost that should be flat.
// Pure functions, so that test/growth-fit.test.ts can check them on
// synthetic data.

/** A fit is called linear at R² ≥ this … */
export const LINEAR_R2 = 0.95;
/** … and with no point further than this from the line (relative). */
export const MAX_RESIDUAL = 0.15;
/** A quadratic term is called significant when c·x_max² is at least this share of the cost at x_max. */
export const QUADRATIC_SHARE = 0.1;
/** A cost is called flat when its largest value over its smallest is at most this. */
export const FLAT_RATIO = 1.25;

/** Solves the n×n system `m·v = r` by Gaussian elimination with partial pivoting (null when singular). */
function solve(m, r) {
  const n = r.length;
  const a = m.map((row, i) => [...row, r[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let i = col + 1; i < n; i++) if (Math.abs(a[i][col]) > Math.abs(a[pivot][col])) pivot = i;
    if (Math.abs(a[pivot][col]) < 1e-12) return null;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    for (let i = col + 1; i < n; i++) {
      const f = a[i][col] / a[col][col];
      for (let j = col; j <= n; j++) a[i][j] -= f * a[col][j];
    }
  }
  const v = Array(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = a[i][n];
    for (let j = i + 1; j < n; j++) s -= a[i][j] * v[j];
    v[i] = s / a[i][i];
  }
  return v;
}

/**
 * Fits y = c₀ + c₁·x (+ c₂·x²) to `points` ([{x, y}], y > 0) by least
 * squares on the relative error (weights 1/y²): the points span decades of
 * x, and unweighted squares would let the largest x alone set the line.
 * Returns { coef, predict(x), r2 (weighted), maxResidual: { value, x } }
 * (the largest |y − ŷ| / ŷ), or null with too few points.
 */
export function fitPolynomial(points, degree) {
  const ps = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && p.y > 0);
  const k = degree + 1;
  if (ps.length < k) return null;
  // x scaled to [0, 1] so that x² of a 1 MiB request does not swamp the normal equations.
  const scale = Math.max(...ps.map((p) => Math.abs(p.x))) || 1;
  const m = Array.from({ length: k }, () => Array(k).fill(0));
  const r = Array(k).fill(0);
  for (const p of ps) {
    const w = 1 / (p.y * p.y);
    const u = p.x / scale;
    const pow = Array.from({ length: k }, (_, i) => u ** i);
    for (let i = 0; i < k; i++) {
      r[i] += w * pow[i] * p.y;
      for (let j = 0; j < k; j++) m[i][j] += w * pow[i] * pow[j];
    }
  }
  const v = solve(m, r);
  if (v === null) return null;
  const coef = v.map((c, i) => c / scale ** i);
  const predict = (x) => coef.reduce((s, c, i) => s + c * x ** i, 0);
  let sw = 0;
  let swy = 0;
  for (const p of ps) {
    sw += 1 / (p.y * p.y);
    swy += 1 / p.y;
  }
  const mean = swy / sw;
  let ssRes = 0;
  let ssTot = 0;
  let maxResidual = { value: 0, x: ps[0].x };
  for (const p of ps) {
    const w = 1 / (p.y * p.y);
    const f = predict(p.x);
    ssRes += w * (p.y - f) ** 2;
    ssTot += w * (p.y - mean) ** 2;
    const rel = Math.abs(p.y - f) / Math.abs(f);
    if (rel > maxResidual.value) maxResidual = { value: rel, x: p.x };
  }
  // Equal costs leave nothing to explain: R² 1 (rounding would make it 0/0, or anything).
  const constant = ssTot <= 1e-12 * sw * mean * mean;
  return { coef, predict, r2: constant ? 1 : 1 - ssRes / ssTot, maxResidual };
}

/**
 * Is `points`' cost linear in x? The straight-line fit, the quadratic fit,
 * and the quadratic term's share of the cost at the largest x:
 * c·x_max² / (a + b·x_max + c·x_max²), negative when the growth bends down.
 */
export function linearity(points) {
  const line = fitPolynomial(points, 1);
  const quad = fitPolynomial(points, 2);
  const xMax = Math.max(...points.map((p) => p.x));
  const quadShare = quad === null ? null : (quad.coef[2] * xMax * xMax) / quad.predict(xMax);
  const linear = line !== null && line.r2 >= LINEAR_R2 && line.maxResidual.value <= MAX_RESIDUAL;
  const quadratic = quadShare !== null && quadShare >= QUADRATIC_SHARE;
  return { line, quad, xMax, quadShare, linear, quadratic };
}

/**
 * For a cost that should not depend on x: the largest over the smallest
 * (`flat` when within FLAT_RATIO), and the largest rise, the most any point
 * costs over any point of smaller x (`grows` when above FLAT_RATIO). A cost
 * that only falls as x grows has a rise of at most 1.
 */
export function flatness(points) {
  const ys = points.map((p) => p.y).filter((y) => Number.isFinite(y) && y > 0);
  const min = Math.min(...ys);
  const max = Math.max(...ys);
  const ratio = ys.length === 0 ? NaN : max / min;
  let rise = ys.length === 0 ? NaN : 1;
  for (let j = 1; j < ys.length; j++) for (let i = 0; i < j; i++) rise = Math.max(rise, ys[j] / ys[i]);
  return { min, max, ratio, flat: ratio <= FLAT_RATIO, rise, grows: !(rise <= FLAT_RATIO) };
}

/**
 * For each point after the first: the step ratio y_i / y_{i−1}, the growth
 * of x, x_i / x_{i−1} (null from x = 0), and the step divided by the growth
 * of x. For a cost a + b·x with a, b ≥ 0 that normalised step is at most 1;
 * above 1 the cost grew faster than x between those two points.
 */
export function steps(points) {
  return points.map((p, i) => {
    if (i === 0) return { ratio: null, xGrowth: null, normalised: null };
    const prev = points[i - 1];
    const ratio = p.y / prev.y;
    const xGrowth = prev.x > 0 ? p.x / prev.x : null;
    return { ratio, xGrowth, normalised: xGrowth === null ? null : ratio / xGrowth };
  });
}
