// urllib.repy's functions: the original test vectors (tests/testurllib.repy),
// adjusted where the port decided differently (docs/client.md "urllib").
import t from 'tap';
import { quote, quoteParameters, quotePlus, unquote, unquoteParameters, unquotePlus, unquoteToBytes } from '../src/message/url.js';
import { ValueError } from '../src/errors.js';

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

t.test('testurllib.repy: malformed escapes raise ValueError', async (t) => {
  for (const s of ['foo%', 'foo%4', 'foo%4g']) {
    t.throws(() => unquote(s), ValueError, s);
    t.throws(() => unquotePlus(s), ValueError, `${s} (plus)`);
    t.throws(() => unquoteToBytes(s), ValueError, `${s} (bytes)`);
  }
  // Python's int() let the original accept these; the port wants two hex digits.
  t.throws(() => unquote('% 1'), ValueError);
  t.throws(() => unquote('%+1'), ValueError);
  t.throws(() => unquote('%%41'), ValueError);
  t.throws(() => unquote('%g1'), ValueError);
});

t.test('testurllib.repy: quote, with bytes as the original (~ kept: RFC 3986)', async (t) => {
  t.equal(quote('foo'), 'foo');
  // The original's strings were bytes: the same bytes give the same escapes...
  t.equal(quote(latin1('foo\xfb')), 'foo%FB');
  t.equal(quote(latin1('/home/foo bar')), '/home/foo%20bar');
  t.equal(quote('/home/foo bar'), '/home/foo%20bar');
  // ...except "~", unreserved in RFC 3986 (the original gave %7Ef%20oo%FB).
  t.equal(quote(latin1('~f oo\xfb')), '~f%20oo%FB');
  t.equal(quotePlus(latin1('~f oo\xfb')), '~f+oo%FB', 'quote_plus (the original gave %7Ef+oo%FB)');
});

t.test('strings are text: quoted as UTF-8', async (t) => {
  t.equal(quote('foo\xfb'), 'foo%C3%BB', 'û is U+00FB, two bytes in UTF-8');
  t.equal(quote('~f oo\xfb'), '~f%20oo%C3%BB');
  t.equal(quote('é'), '%C3%A9');
  t.equal(quote('😀'), '%F0%9F%98%80');
  t.equal(quotePlus('a b/c'), 'a+b%2Fc', 'nothing safe by default in quotePlus');
  t.equal(quotePlus('a b/c', '/'), 'a+b/c');
  t.equal(quote('a&b=c?d#e'), 'a%26b%3Dc%3Fd%23e');
  t.equal(quote('a/b', ''), 'a%2Fb');
  t.equal(quote('a:b@c', ':@'), 'a:b@c');
  t.equal(quote('é', 'é'), '%C3%A9', 'non-ASCII safe characters cannot be kept');
  t.equal(quote('-._~AZaz09'), '-._~AZaz09', 'unreserved characters');
  t.equal(quote('\0\r\n'), '%00%0D%0A');
  t.equal(quote(''), '');
});

t.test('testurllib.repy: unquote, and the inverse cases', async (t) => {
  t.equal(unquote('foo'), 'foo');
  t.same(unquoteToBytes('foo%FB'), latin1('foo\xfb'), 'exact bytes');
  t.same(unquoteToBytes('%7Ef%20oo%FB'), latin1('~f oo\xfb'));
  t.equal(unquote('/home/foo%20bar'), '/home/foo bar');
  t.same(unquoteToBytes(quotePlus(latin1('~f oo\xfb')).replace(/\+/g, ' ')), latin1('~f oo\xfb'));
  t.equal(unquotePlus('%7Ef+oo%C3%BB'), '~f oo\xfb');
  t.equal(unquote('foo%FB'), 'foo\ufffd', 'bytes that are not UTF-8 become U+FFFD in a string');
  t.equal(unquote('%C3%A9t%C3%A9'), 'été');
  t.equal(unquote('%c3%a9'), 'é', 'lower-case hex');
  t.equal(unquote('%2541'), '%41', 'not rescanned');
  t.equal(unquote('é%41'), 'éA', 'text around escapes passes through');
  t.equal(unquote('a+b'), 'a+b');
  t.equal(unquotePlus('a+b%2B'), 'a b+');
  for (const s of ['', 'x', 'a b/c?d', '~f oo\xfb', 'été 😀 &=%+']) {
    t.equal(unquote(quote(s)), s, `round trip ${JSON.stringify(s)}`);
    t.equal(unquotePlus(quotePlus(s)), s, `plus round trip ${JSON.stringify(s)}`);
  }
});

t.test('argument types', async (t) => {
  t.throws(() => quote(5 as never), TypeError);
  t.throws(() => quote('x', 5 as never), TypeError);
  t.throws(() => quotePlus('x', null as never), TypeError);
  t.throws(() => unquote(null as never), TypeError);
  t.throws(() => unquotePlus(1 as never), TypeError);
  t.throws(() => unquoteToBytes([] as never), TypeError);
  t.throws(() => unquoteParameters({} as never), TypeError);
});

t.test('quoteParameters', async (t) => {
  t.equal(quoteParameters({ first: '1st', second: '2nd' }), 'first=1st&second=2nd', 'the httpretrieve post test');
  t.equal(quoteParameters({}), '');
  t.equal(quoteParameters({ 'a b': 'c/d e', 'x&y': '=' }), 'a%20b=c/d%20e&x%26y=%3D', 'space is %20 and / kept, as the original');
  t.equal(quoteParameters({ é: 'ü' }), '%C3%A9=%C3%BC');
  // The original raised NameError (an undefined name in its own message) for a non-dict.
  for (const bad of [null, undefined, 'a=b', 5, ['a', 'b'], Buffer.from('x')]) t.throws(() => quoteParameters(bad as never), TypeError, String(bad));
  t.throws(() => quoteParameters({ a: 1 } as never), TypeError, 'non-string value');
  t.throws(() => quoteParameters({ a: null } as never), TypeError, 'null value');
});

t.test('unquoteParameters', async (t) => {
  t.same(unquoteParameters('first=1st&second=2nd'), { first: '1st', second: '2nd' });
  t.same(unquoteParameters('a=1&b=x+y%21&a=2'), { a: '2', b: 'x y!' }, 'plus-decoded, last wins');
  t.same(unquoteParameters('a=&=b'), { a: '', '': 'b' });
  t.same(unquoteParameters(''), {}, 'the original raised ValueError; the port gives {} so that quoteParameters({}) round-trips');
  for (const bad of ['a', 'a=b=c', 'a=1&&b=2', 'a=1&', '&', 'a=%4']) t.throws(() => unquoteParameters(bad), ValueError, bad);
  const o = { first: '1st', 'a b': 'c/d e&f', é: 'ü+' };
  t.same(unquoteParameters(quoteParameters(o)), o, 'round trip');
  const proto = unquoteParameters('__proto__=x');
  t.equal(Object.getPrototypeOf(proto), Object.prototype);
  t.equal(Object.getOwnPropertyDescriptor(proto, '__proto__')?.value, 'x');
});
