// A small stand-in for Node's global Buffer, so that the parser modules
// (dist/parser/*.js, unchanged) run in the browser. It has exactly what the
// parser uses: from (latin1 strings, ArrayBuffer views, copies), allocUnsafe,
// isBuffer, concat, latin1Slice, indexOf/lastIndexOf with a byte or a byte
// string, copy, toString('latin1' | 'utf8'). Loaded before the parser.
if (typeof globalThis.Buffer === 'undefined') {
  const decoder = new TextDecoder('utf-8');
  class Buffer extends Uint8Array {
    static from(x, offset, length) {
      if (typeof x === 'string') {
        const out = new Buffer(x.length);
        for (let i = 0; i < x.length; i++) out[i] = x.charCodeAt(i) & 0xff;
        return out;
      }
      if (x instanceof ArrayBuffer) return new Buffer(x, offset ?? 0, length ?? x.byteLength - (offset ?? 0));
      const out = new Buffer(x.length);
      out.set(x);
      return out;
    }
    static allocUnsafe(n) { return new Buffer(n); }
    static alloc(n) { return new Buffer(n); }
    static isBuffer(x) { return x instanceof Buffer; }
    static concat(list, total) {
      const n = total ?? list.reduce((a, b) => a + b.length, 0);
      const out = new Buffer(n);
      let at = 0;
      for (const b of list) {
        out.set(b.subarray(0, Math.min(b.length, n - at)), at);
        at += b.length;
        if (at >= n) break;
      }
      return out;
    }
    latin1Slice(start, end) {
      let s = '';
      for (let i = start; i < end; i += 4096) s += String.fromCharCode.apply(null, this.subarray(i, Math.min(end, i + 4096)));
      return s;
    }
    toString(encoding, start = 0, end = this.length) {
      return encoding === 'latin1' || encoding === 'binary' ? this.latin1Slice(start, end) : decoder.decode(this.subarray(start, end));
    }
    indexOf(needle, from = 0) {
      if (typeof needle === 'number') return super.indexOf(needle, from);
      const n = typeof needle === 'string' ? Buffer.from(needle) : needle;
      outer: for (let i = Math.max(0, from); i + n.length <= this.length; i++) {
        for (let k = 0; k < n.length; k++) if (this[i + k] !== n[k]) continue outer;
        return i;
      }
      return -1;
    }
    lastIndexOf(needle, from = this.length) {
      if (typeof needle === 'number') return super.lastIndexOf(needle, from);
      const n = typeof needle === 'string' ? Buffer.from(needle) : needle;
      outer: for (let i = Math.min(from, this.length - n.length); i >= 0; i--) {
        for (let k = 0; k < n.length; k++) if (this[i + k] !== n[k]) continue outer;
        return i;
      }
      return -1;
    }
    copy(target, targetStart = 0, sourceStart = 0, sourceEnd = this.length) {
      const part = this.subarray(sourceStart, Math.min(sourceEnd, sourceStart + target.length - targetStart));
      target.set(part, targetStart);
      return part.length;
    }
    equals(other) {
      if (other.length !== this.length) return false;
      for (let i = 0; i < this.length; i++) if (this[i] !== other[i]) return false;
      return true;
    }
  }
  globalThis.Buffer = Buffer;
}
