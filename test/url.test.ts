import t from 'tap';
import { decodeComponentLenient, parseQuery, setOwn } from '../src/message/url.js';
import { canonicalName, headersObject } from '../src/message/headers.js';

t.test('querydict', async (t) => {
  t.same(parseQuery('foo=bar&baz'), { foo: 'bar', baz: null }, "the seed's example");
  t.same(parseQuery(''), {});
  t.same(parseQuery('a=1&a=2'), { a: '2' }, 'last repeat wins');
  t.same(parseQuery('a=&=b'), { a: '', '': 'b' });
  t.same(parseQuery('&&x=1&'), { x: '1' }, 'empty pieces skipped');
  t.same(parseQuery('q=a+b%20c'), { q: 'a b c' }, 'plus and percent');
  t.same(parseQuery('e=%C3%A9t%C3%A9'), { e: 'été' }, 'UTF-8');
  t.same(parseQuery('bad=%zz%4&ok=%41'), { bad: '%zz%4', ok: 'A' }, 'malformed escapes kept literally');
  t.same(parseQuery('x=%FF'), { x: '\ufffd' }, 'invalid UTF-8 becomes U+FFFD');
  t.same(parseQuery('k=v=w'), { k: 'v=w' }, 'split at the first =');
  const proto = parseQuery('__proto__=x');
  t.equal(Object.getPrototypeOf(proto), Object.prototype, 'prototype untouched');
  t.equal(Object.getOwnPropertyDescriptor(proto, '__proto__')?.value, 'x', '__proto__ is an own key');
});

t.test('decodeComponentLenient', async (t) => {
  t.equal(decodeComponentLenient('a+b', false), 'a+b', 'plus kept without plus mode');
  t.equal(decodeComponentLenient('plain', true), 'plain');
  t.equal(decodeComponentLenient('%', true), '%');
  t.equal(decodeComponentLenient('é%41😀', false), 'éA😀', 'non-ASCII text passes through');
});

t.test('setOwn', async (t) => {
  const o: Record<string, number> = {};
  setOwn(o, 'a', 1);
  setOwn(o, '__proto__', 2);
  t.same(Object.keys(o), ['a', '__proto__']);
});

t.test('header names and folding', async (t) => {
  t.equal(canonicalName('content-TYPE'), 'Content-Type');
  t.equal(canonicalName('x-forwarded-for'), 'X-Forwarded-For');
  t.equal(canonicalName('WWW-Authenticate'), 'Www-Authenticate');
  t.same(headersObject([['a', '1'], ['A', '2'], ['cookie', 'x=1'], ['COOKIE', 'y=2']]), { A: '1, 2', Cookie: 'x=1; y=2' });
  const h = headersObject([['__proto__', 'v']]);
  t.equal(Object.getPrototypeOf(h), Object.prototype);
  t.equal(Object.getOwnPropertyDescriptor(h, '__proto__')?.value, 'v');
});
