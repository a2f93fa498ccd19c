// urlparse.repy's urlsplit: every case of the original test/test_urlparse.repy,
// each checked on all nine fields, plain, with a default scheme and with
// allowFragments=false; then the port's own decisions (docs/client.md).
import t from 'tap';
import { urlsplit, type SplitUrl } from '../src/message/url.js';
import { ValueError } from '../src/errors.js';

const EMPTY: SplitUrl = {
  scheme: '', netloc: '', path: '', query: '', fragment: '', username: null, password: null, hostname: null, port: null,
};

interface Case {
  input: string;
  expected: Partial<SplitUrl>;
  /** Differences of the allowFragments=false result (fragment is always ''). */
  nofragments?: Partial<SplitUrl>;
}

const CASES: Case[] = [
  {
    input: 'scheme://user:pass@host:8888/path?query#fragment',
    expected: { scheme: 'scheme', netloc: 'user:pass@host:8888', path: '/path', query: 'query', fragment: 'fragment', username: 'user', password: 'pass', hostname: 'host', port: 8888 },
    nofragments: { query: 'query#fragment' },
  },
  { input: 'scheme:/path?query#fragment', expected: { scheme: 'scheme', path: '/path', query: 'query', fragment: 'fragment' }, nofragments: { query: 'query#fragment' } },
  { input: '', expected: {} },
  // The "strange" URLs.
  { input: '://?#', expected: { path: '://' }, nofragments: { query: '#' } },
  { input: '@://?#', expected: { path: '@://' }, nofragments: { query: '#' } },
  { input: ':@//?#', expected: { path: ':@//' }, nofragments: { query: '#' } },
  { input: '://?@#', expected: { path: '://', query: '@' }, nofragments: { query: '@#' } },
  { input: 'foo1', expected: { path: 'foo1' } },
  { input: 'foo1:bar2', expected: { scheme: 'foo1', path: 'bar2' } },
  { input: 'foo1@bar2', expected: { path: 'foo1@bar2' } },
  { input: 'foo1?bar2', expected: { path: 'foo1', query: 'bar2' } },
  { input: 'foo1#bar2', expected: { path: 'foo1', fragment: 'bar2' }, nofragments: { path: 'foo1#bar2' } },
  { input: 'foo1/bar2', expected: { path: 'foo1/bar2' } },
  // The original defined two classes named StrangeUrl11, so "." was never run; both are here.
  { input: '.', expected: { path: '.' } },
  { input: '/.', expected: { path: '/.' } },
  { input: '..', expected: { path: '..' } },
  { input: '../..', expected: { path: '../..' } },
  { input: '../../foo', expected: { path: '../../foo' } },
  { input: '../../foo/bar/baz/..', expected: { path: '../../foo/bar/baz/..' } },
  { input: '/foo/bar/baz/..', expected: { path: '/foo/bar/baz/..' } },
  // The test's '' (v1 HEAD's #1226 fix gave '/'): the port keeps '' and the client sends '/'.
  { input: '//foo', expected: { netloc: 'foo', hostname: 'foo' } },
  { input: '//foo/bar', expected: { netloc: 'foo', path: '/bar', hostname: 'foo' } },
  { input: '//foo/bar?baz=1&q=2', expected: { netloc: 'foo', path: '/bar', query: 'baz=1&q=2', hostname: 'foo' } },
  { input: 'baz=1&q=2', expected: { path: 'baz=1&q=2' } },
  { input: 'baz=1&q=2#frag#frag', expected: { path: 'baz=1&q=2', fragment: 'frag#frag' }, nofragments: { path: 'baz=1&q=2#frag#frag' } },
  {
    input: 'baz=1&q=2#frag#frag?a',
    expected: { path: 'baz=1&q=2', fragment: 'frag#frag?a' },
    nofragments: { path: 'baz=1&q=2#frag#frag', query: 'a' },
  },
  { input: '?baz=1&q=2#frag#frag?a', expected: { query: 'baz=1&q=2', fragment: 'frag#frag?a' }, nofragments: { query: 'baz=1&q=2#frag#frag?a' } },
  {
    input: 'http://host/path?baz=1&q=2#frag#frag?a',
    expected: { scheme: 'http', netloc: 'host', path: '/path', query: 'baz=1&q=2', fragment: 'frag#frag?a', hostname: 'host' },
    nofragments: { query: 'baz=1&q=2#frag#frag?a' },
  },
];

t.test('test_urlparse.repy: all nine fields, three ways', async (t) => {
  for (const c of CASES) {
    const expected: SplitUrl = { ...EMPTY, ...c.expected };
    t.same(urlsplit(c.input), expected, `urlsplit(${JSON.stringify(c.input)})`);
    t.same(urlsplit(c.input, 'defaultscheme'), { ...expected, scheme: expected.scheme || 'defaultscheme' }, `default scheme: ${JSON.stringify(c.input)}`);
    t.same(urlsplit(c.input, '', false), { ...expected, fragment: '', ...c.nofragments }, `allowFragments=false: ${JSON.stringify(c.input)}`);
  }
});

t.test('test_urlparse.repy: an invalid port raises ValueError, three ways', async (t) => {
  const url = 'scheme://user:pass@host:88-88/path?query#fragment';
  t.throws(() => urlsplit(url), ValueError);
  t.throws(() => urlsplit(url, 'defaultscheme'), ValueError);
  t.throws(() => urlsplit(url, '', false), ValueError);
});

t.test("the port's decisions", async (t) => {
  // Ports: decimal digits, 0-65535 (the original's int() took '+80' and ' 80', and any size).
  for (const bad of ['http://h:', 'http://h:+80', 'http://h: 80', 'http://h:65536', 'http://h:1e3', 'http://h:0x50']) {
    t.throws(() => urlsplit(bad), ValueError, bad);
  }
  t.equal(urlsplit('http://h:65535').port, 65535);
  t.equal(urlsplit('http://h:0080/').port, 80);
  // IPv6 literals (the original split at the first ':').
  t.same(urlsplit('http://[::1]:8080/x'), { ...EMPTY, scheme: 'http', netloc: '[::1]:8080', path: '/x', hostname: '::1', port: 8080 });
  t.same(urlsplit('http://u@[FE80::1]/'), { ...EMPTY, scheme: 'http', netloc: 'u@[FE80::1]', path: '/', hostname: 'fe80::1', username: 'u' });
  t.throws(() => urlsplit('http://[::1/'), ValueError, 'unterminated literal');
  t.throws(() => urlsplit('http://[::1]x/'), ValueError, 'junk after the literal');
  t.throws(() => urlsplit('http://::1/'), ValueError, 'a bare IPv6 address reads as host ":" port');
  // The hostname is lower-cased (the docstring said so; the code did not); netloc is kept as written.
  t.same(urlsplit('HTTP://User:PW@Example.COM:81/P'), { ...EMPTY, scheme: 'http', netloc: 'User:PW@Example.COM:81', path: '/P', username: 'User', password: 'PW', hostname: 'example.com', port: 81 });
  // Userinfo ends at the last '@' (RFC 3986: no raw '@' in userinfo), as Python and WHATWG URL.
  t.same(urlsplit('http://a@b@c.example/'), { ...EMPTY, scheme: 'http', netloc: 'a@b@c.example', path: '/', username: 'a@b', hostname: 'c.example' });
  t.same(urlsplit('http://:pw@h/'), { ...EMPTY, scheme: 'http', netloc: ':pw@h', path: '/', password: 'pw', hostname: 'h' }, 'empty user → null');
  t.same(urlsplit('http://u:@h/'), { ...EMPTY, scheme: 'http', netloc: 'u:@h', path: '/', username: 'u', password: '', hostname: 'h' }, "empty password → ''");
  t.same(urlsplit('http://@/'), { ...EMPTY, scheme: 'http', netloc: '@', path: '/' });
  // A scheme is RFC 3986 scheme characters (the original's check was a no-op: 'a/b:c' had scheme 'a/b').
  t.same(urlsplit('a/b:c'), { ...EMPTY, path: 'a/b:c' });
  t.same(urlsplit('a b:c'), { ...EMPTY, path: 'a b:c' });
  t.equal(urlsplit('svn+ssh://h/').scheme, 'svn+ssh');
  t.equal(urlsplit('1a:b').scheme, '', 'a scheme starts with a letter');
  t.equal(urlsplit('host:8080/x').scheme, 'host', 'as the original and Python: host:port without // reads as a scheme');
  // ;params stay in the path; nothing is decoded.
  t.same(urlsplit('http://h/a;p=1/b%20c?x=%41'), { ...EMPTY, scheme: 'http', netloc: 'h', path: '/a;p=1/b%20c', query: 'x=%41', hostname: 'h' });
  t.equal(urlsplit('http://h#f', '', false).path, '#f', 'without fragments, # after the netloc is path');
  t.throws(() => urlsplit(5 as never), TypeError);
  t.throws(() => urlsplit('x', 5 as never), TypeError);
});
