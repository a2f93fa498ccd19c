/**
 * A small linter for the regular expressions of src/ (issue #8): finds the
 * shapes that make a backtracking engine super-linear, and lists every
 * expression literal of a TypeScript tree so that none escapes the audit.
 *
 * It reads the subset of JavaScript regex syntax this project writes —
 * classes, escapes, groups (capturing, `(?:`, lookarounds), alternation,
 * anchors and the quantifiers `* + ? {n} {n,} {n,m}` (lazy or not) — and
 * reports:
 * - `adjacent`: two quantified atoms that can follow each other (only
 *   optional atoms between them), at least one unbounded, where a
 *   character the first can end with is one the second can begin with:
 *   `[\t ]*x*[\t ]*` backtracks polynomially; `[a-z0-9]*(?::[0-9]*)?`
 *   does not (the group begins with ":", which the class cannot take).
 * - `nested`: a repeated group that holds a quantifier, or whose branches
 *   overlap: `(a+)+`, `(a|ab)*` backtrack exponentially. Except a
 *   delimited repeat: one branch that ends with a single character no other
 *   atom of it can match, as `(?:[a-z]+:[^\n]*\n)*`. Each repeat then holds
 *   that character exactly once, at its end, so the repeats can only split
 *   one way, and the atoms inside are linted as a sequence of their own.
 * - `unanchored`: an expression without `^` or the sticky flag that starts
 *   with an unbounded quantifier: the search retries it at every position,
 *   so `/\s+$/` is quadratic.
 *
 * Conservative (a group's set is the union of its atoms), so it may flag a
 * safe expression; the audit table in test/redos.test.ts then says why it
 * is linear and measures it.
 *
 * @example lintRegex('[\\t ]*x*[\\t ]*\\r', '') // [{ kind: 'adjacent', ... }]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

export interface Finding {
  kind: 'adjacent' | 'nested' | 'unanchored';
  detail: string;
}

/** A set of UTF-16 code units, approximated: bytes 0-255 exactly, anything above as one flag. */
class CharSet {
  readonly bits = new Uint8Array(256);
  high = false;
  add(lo: number, hi = lo): this {
    for (let c = lo; c <= Math.min(hi, 255); c++) this.bits[c] = 1;
    if (hi > 255) this.high = true;
    return this;
  }
  union(o: CharSet): this {
    for (let c = 0; c < 256; c++) if (o.bits[c] === 1) this.bits[c] = 1;
    if (o.high) this.high = true;
    return this;
  }
  negate(): CharSet {
    const n = new CharSet();
    for (let c = 0; c < 256; c++) n.bits[c] = this.bits[c] === 1 ? 0 : 1;
    n.high = true;
    return n;
  }
  overlaps(o: CharSet): boolean {
    if (this.high && o.high) return true;
    for (let c = 0; c < 256; c++) if (this.bits[c] === 1 && o.bits[c] === 1) return true;
    return false;
  }
  caseFold(): void {
    for (let c = 0x41; c <= 0x5a; c++) if (this.bits[c] === 1 || this.bits[c + 0x20] === 1) this.bits[c] = this.bits[c + 0x20] = 1;
  }
}

interface Atom {
  set: CharSet;
  min: number;
  max: number; // Infinity: unbounded
  zeroWidth: boolean;
  branches: Atom[][] | null; // a group's alternatives
}

const DIGIT = (): CharSet => new CharSet().add(0x30, 0x39);
const WORD = (): CharSet => new CharSet().add(0x30, 0x39).add(0x41, 0x5a).add(0x61, 0x7a).add(0x5f);
const SPACE = (): CharSet => new CharSet().add(0x09, 0x0d).add(0x20).add(0xa0).add(0x100, 0xffff);

/** Reads a regex source into alternatives of atom sequences. */
class Reader {
  i = 0;
  constructor(readonly s: string, readonly fold: boolean) {}

  alternatives(): Atom[][] {
    const out: Atom[][] = [this.sequence()];
    while (this.s[this.i] === '|') {
      this.i++;
      out.push(this.sequence());
    }
    return out;
  }

  private sequence(): Atom[] {
    const seq: Atom[] = [];
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') {
      const atom = this.atom();
      this.quantifier(atom);
      if (this.fold) atom.set.caseFold();
      seq.push(atom);
    }
    return seq;
  }

  private atom(): Atom {
    const s = this.s;
    const c = s[this.i]!;
    const plain = (set: CharSet, zeroWidth = false): Atom => ({ set, min: 1, max: 1, zeroWidth, branches: null });
    if (c === '^' || c === '$') {
      this.i++;
      return plain(new CharSet(), true);
    }
    if (c === '.') {
      this.i++;
      return plain(new CharSet().add(0x0a).add(0x0d).negate());
    }
    if (c === '[') return plain(this.charClass());
    if (c === '(') {
      this.i++;
      let zeroWidth = false;
      if (s.startsWith('?:', this.i)) this.i += 2;
      else if (s.startsWith('?=', this.i) || s.startsWith('?!', this.i)) {
        this.i += 2;
        zeroWidth = true;
      } else if (s.startsWith('?<=', this.i) || s.startsWith('?<!', this.i)) {
        this.i += 3;
        zeroWidth = true;
      }
      const branches = this.alternatives();
      if (s[this.i] !== ')') throw new Error(`unbalanced group in /${s}/`);
      this.i++;
      const set = new CharSet();
      for (const b of branches) for (const a of b) set.union(a.set);
      return { set: zeroWidth ? new CharSet() : set, min: 1, max: 1, zeroWidth, branches: zeroWidth ? null : branches };
    }
    if (c === '\\') {
      const e = s[this.i + 1]!;
      if (e === 'b' || e === 'B') {
        this.i += 2;
        return plain(new CharSet(), true);
      }
      return plain(this.escape());
    }
    this.i++;
    return plain(new CharSet().add(c.charCodeAt(0)));
  }

  /** An escape at `\\`: its character set; advances past it. */
  private escape(): CharSet {
    const s = this.s;
    const e = s[this.i + 1]!;
    this.i += 2;
    switch (e) {
      case 'd': return DIGIT();
      case 'D': return DIGIT().negate();
      case 'w': return WORD();
      case 'W': return WORD().negate();
      case 's': return SPACE();
      case 'S': return SPACE().negate();
      case 't': return new CharSet().add(0x09);
      case 'n': return new CharSet().add(0x0a);
      case 'r': return new CharSet().add(0x0d);
      case 'f': return new CharSet().add(0x0c);
      case 'v': return new CharSet().add(0x0b);
      case '0': return new CharSet().add(0);
      case 'x': {
        const v = parseInt(s.slice(this.i, this.i + 2), 16);
        this.i += 2;
        return new CharSet().add(v);
      }
      case 'u': {
        const v = parseInt(s.slice(this.i, this.i + 4), 16);
        this.i += 4;
        return new CharSet().add(v);
      }
      default: return new CharSet().add(e.charCodeAt(0));
    }
  }

  private charClass(): CharSet {
    const s = this.s;
    this.i++; // [
    const negated = s[this.i] === '^';
    if (negated) this.i++;
    const set = new CharSet();
    let first = true;
    while (this.i < s.length && (s[this.i] !== ']' || first)) {
      first = false;
      const lo = this.classChar();
      if (s[this.i] === '-' && s[this.i + 1] !== ']' && lo.single !== null) {
        this.i++;
        const hi = this.classChar();
        if (hi.single === null) throw new Error(`bad range in /${s}/`);
        set.add(lo.single, hi.single);
      } else set.union(lo.set);
    }
    this.i++; // ]
    return negated ? set.negate() : set;
  }

  private classChar(): { set: CharSet; single: number | null } {
    const s = this.s;
    if (s[this.i] === '\\') {
      const e = s[this.i + 1]!;
      const set = this.escape();
      const single = 'dDwWsS'.includes(e) ? null : set.bits.indexOf(1);
      return { set, single: single === -1 ? null : single };
    }
    const code = s.charCodeAt(this.i++);
    return { set: new CharSet().add(code), single: code };
  }

  private quantifier(atom: Atom): void {
    const s = this.s;
    const c = s[this.i];
    if (c === '*') [atom.min, atom.max] = [0, Infinity];
    else if (c === '+') [atom.min, atom.max] = [1, Infinity];
    else if (c === '?') [atom.min, atom.max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(s.slice(this.i));
      if (m === null) return;
      atom.min = Number(m[1]);
      atom.max = m[2] === undefined ? atom.min : m[3] === '' ? Infinity : Number(m[3]);
      this.i += m[0].length - 1;
    } else return;
    this.i++;
    if (s[this.i] === '?') this.i++; // lazy
  }
}

const variable = (a: Atom): boolean => a.max > a.min;
const hasVariable = (branches: Atom[][]): boolean => branches.some((b) => b.some((a) => variable(a) || (a.branches !== null && hasVariable(a.branches))));

/** Flattens groups that occur exactly once with a single branch, so that their atoms meet their neighbours. */
function flatten(seq: Atom[]): Atom[] {
  const out: Atom[] = [];
  for (const a of seq) {
    if (a.branches !== null && a.branches.length === 1 && a.min === 1 && a.max === 1) out.push(...flatten(a.branches[0]!));
    else out.push(a);
  }
  return out;
}

/** A multi-branch or repeated group behaves as one atom that is variable when anything in it is. */
const effectivelyVariable = (a: Atom): boolean => variable(a) || (a.branches !== null && hasVariable(a.branches));
const unbounded = (a: Atom): boolean => a.max === Infinity || (a.branches !== null && a.branches.some((b) => b.some(unbounded)));

/**
 * One branch ending with a single character (not quantified, not a group)
 * that no other atom of the branch, flattened, can match: the delimiter of
 * each repeat.
 */
function delimited(branches: Atom[][]): boolean {
  if (branches.length !== 1) return false;
  const flat = flatten(branches[0]!);
  const last = flat.at(-1);
  if (last === undefined || last.branches !== null || last.zeroWidth || last.min !== 1 || last.max !== 1) return false;
  return flat.slice(0, -1).every((a) => a.zeroWidth || !a.set.overlaps(last.set));
}

/** True when the atom can match the empty string. */
function canBeEmpty(a: Atom): boolean {
  return a.min === 0 || a.zeroWidth || (a.branches !== null && a.branches.some((b) => b.every(canBeEmpty)));
}

/** The characters a match of the sequence can begin with (`fromEnd`: end with). */
function edgeChars(seq: Atom[], fromEnd: boolean): CharSet {
  const out = new CharSet();
  const order = fromEnd ? [...seq].reverse() : seq;
  for (const a of order) {
    out.union(atomEdge(a, fromEnd));
    if (!canBeEmpty(a)) break;
  }
  return out;
}

/** The characters a match of the atom can begin with (`fromEnd`: end with). */
function atomEdge(a: Atom, fromEnd: boolean): CharSet {
  if (a.branches === null) return a.set;
  const out = new CharSet();
  for (const b of a.branches) out.union(edgeChars(b, fromEnd));
  return out;
}

function lintSequence(seq: Atom[], findings: Finding[]): void {
  const flat = flatten(seq);
  for (let k = 0; k < flat.length; k++) {
    const a = flat[k]!;
    if (a.branches !== null) {
      for (const b of a.branches) lintSequence(b, findings);
      if (a.max > 1) {
        if (hasVariable(a.branches)) {
          if (!delimited(a.branches)) findings.push({ kind: 'nested', detail: 'a repeated group holds a quantifier' });
        }
        else {
          const sets = a.branches.map((b) => b.reduce((u, x) => u.union(x.set), new CharSet()));
          for (let i = 0; i < sets.length; i++) for (let j = i + 1; j < sets.length; j++) {
            if (sets[i]!.overlaps(sets[j]!)) findings.push({ kind: 'nested', detail: 'a repeated group has overlapping branches' });
          }
        }
      }
    }
    if (!effectivelyVariable(a)) continue;
    // Every atom that can directly follow `a`: skip zero-width and optional
    // ones. Where `a` can end and `b` can begin is what must not overlap: a
    // group's inner characters beyond those are checked inside it.
    const end = atomEdge(a, true);
    for (let j = k + 1; j < flat.length; j++) {
      const b = flat[j]!;
      if (b.zeroWidth) continue;
      if (effectivelyVariable(b) && (unbounded(a) || unbounded(b)) && end.overlaps(atomEdge(b, false))) {
        findings.push({ kind: 'adjacent', detail: `quantified atoms ${k} and ${j} can match the same character` });
      }
      if (!canBeEmpty(b)) break;
    }
  }
}

/** The super-linear shapes of one expression (see the module comment). */
export function lintRegex(source: string, flags: string): Finding[] {
  const reader = new Reader(source, flags.includes('i'));
  const branches = reader.alternatives();
  if (reader.i !== source.length) throw new Error(`could not read /${source}/ at ${reader.i}`);
  const findings: Finding[] = [];
  for (const b of branches) lintSequence(b, findings);
  if (!flags.includes('y')) {
    for (const b of branches) {
      const first = flatten(b)[0];
      if (first !== undefined && !first.zeroWidth && unbounded(first)) {
        findings.push({ kind: 'unanchored', detail: 'starts with an unbounded quantifier and is retried at every position' });
      }
    }
  }
  return findings;
}

/** One regular expression found in the sources. */
export interface FoundRegex {
  file: string;
  line: number;
  source: string;
  flags: string;
  /** `/source/flags` as written. */
  text: string;
}

/** Every regex literal and `new RegExp(...)` / `RegExp(...)` call under `dir` (.ts files). */
export function findRegexes(dir: string): FoundRegex[] {
  const files = (d: string): string[] => readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
  const out: FoundRegex[] = [];
  for (const file of files(dir)) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node): void => {
      const line = sf.getLineAndCharacterOfPosition(n.getStart()).line + 1;
      if (n.kind === ts.SyntaxKind.RegularExpressionLiteral) {
        const text = n.getText();
        const cut = text.lastIndexOf('/');
        out.push({ file, line, source: text.slice(1, cut), flags: text.slice(cut + 1), text });
      } else if ((ts.isNewExpression(n) || ts.isCallExpression(n)) && n.expression.getText() === 'RegExp') {
        out.push({ file, line, source: '', flags: '', text: n.getText() });
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return out;
}
