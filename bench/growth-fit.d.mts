// Types of bench/growth-fit.mjs, for test/growth-fit.test.ts.
export interface Point { x: number; y: number }
export interface Fit { coef: number[]; predict: (x: number) => number; r2: number; maxResidual: { value: number; x: number } }
export const LINEAR_R2: number;
export const MAX_RESIDUAL: number;
export const QUADRATIC_SHARE: number;
export const FLAT_RATIO: number;
export function fitPolynomial(points: Point[], degree: 1 | 2): Fit | null;
export function linearity(points: Point[]): { line: Fit | null; quad: Fit | null; xMax: number; quadShare: number | null; linear: boolean; quadratic: boolean };
export function flatness(points: Point[]): { min: number; max: number; ratio: number; flat: boolean; rise: number; grows: boolean };
export function steps(points: Point[]): { ratio: number | null; xGrowth: number | null; normalised: number | null }[];
