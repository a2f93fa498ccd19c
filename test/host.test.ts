// The Host rule (RFC 9110 §7.2, RFC 3986 §3.2.2): the one-expression fast
// check of src/parser/target.ts gives the character-by-character rule's
// answer for every value, and the parser applies it.
import t from 'tap';
import { hostSyntax, validHost } from '../src/parser/target.js';
import { RequestParser } from '../src/parser/parser.js';

t.test('validHost agrees with the character rule on every short value', async (t) => {
  // Every string of up to 4 characters over an alphabet with each kind of
  // character the rule cares about: name, digit, ":", brackets, "v", ".",
  // percent, sub-delims, and ones a Host may not hold.
  const alphabet = ['a', 'F', '1', ':', '[', ']', 'v', '.', '%', '!', '/', ' ', '@', '\u00e9'];
  let values = [''];
  let all = [''];
  for (let len = 1; len <= 4; len++) {
    values = values.flatMap((v) => alphabet.map((c) => v + c));
    all = all.concat(values);
  }
  let valid = 0;
  const disagree: string[] = [];
  for (const v of all) {
    const expected = hostSyntax(v);
    if (validHost(v) !== expected) disagree.push(v);
    if (expected) valid++;
  }
  t.same(disagree, [], `${all.length} values, ${valid} valid`);
  t.ok(valid > 100 && valid < all.length / 2, 'both kinds are covered');
});

t.test('typical and edge Host values', async (t) => {
  const cases: [string, boolean][] = [
    ['', true], ['example.com', true], ['example.com:8080', true], ['127.0.0.1:44219', true], ['a:', true],
    ['[::1]', true], ['[::1]:80', true], ['[v1.x]', true], ['a:8x', false], ['a:1:2', false], ['a/b', false],
    ['a b', false], ['[::1', false], ['::1', false], ['[v1.a b]', false], ['user@host', false],
  ];
  for (const [v, ok] of cases) t.equal(validHost(v), ok, JSON.stringify(v));
});

t.test('the parser refuses an invalid Host after a valid one on the same connection', async (t) => {
  const p = new RequestParser();
  p.push(Buffer.from('GET / HTTP/1.1\r\nHost: a:80\r\n\r\nGET / HTTP/1.1\r\nHost: a:8x\r\n\r\n', 'latin1'));
  t.equal(p.next().type, 'head');
  t.equal(p.next().type, 'end');
  const ev = p.next();
  t.equal(ev.type, 'error');
  if (ev.type === 'error') t.equal(ev.error.code, 'HOST_INVALID');
});
