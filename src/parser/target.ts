/**
 * The request-target (RFC 9112 §3.2) and the Host field (RFC 9110 §7.2):
 * which form of target a method may use, and what a host may be.
 *
 * @module
 */

import { HOST_CHAR } from './constants.js';
import { COLON } from './text.js';

/**
 * RFC 9112 §3.2: origin-form for most methods, absolute-form for any
 * (proxies), authority-form only for CONNECT, asterisk-form only for
 * OPTIONS. Returns a reason when the form does not fit the method.
 */
export function checkTargetForm(method: string, target: string): string | null {
  if (method === 'CONNECT') {
    // authority-form = uri-host ":" port (RFC 9112 §3.2.3)
    const colon = target.lastIndexOf(':');
    if (colon <= 0 || !/^[0-9]{1,5}$/.test(target.slice(colon + 1)) || !validHost(target)) {
      return 'CONNECT needs an authority-form target host:port';
    }
    return null;
  }
  const first = target.charCodeAt(0);
  if (first === 0x2f) return null; // origin-form
  if (target === '*') return method === 'OPTIONS' ? null : 'asterisk-form is only for OPTIONS';
  // absolute-form: scheme ":" ... (RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ))
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(target);
  if (scheme !== null) {
    // An http(s) URI with an empty host MUST be rejected (RFC 9110 §4.2.1, §4.2.2).
    if (/^https?$/i.test(scheme[1]!) && httpHostOf(target.slice(scheme[0].length)) === '') return 'an http URI needs a host';
    return null;
  }
  return 'request-target must start with "/" or be an absolute URI';
}

/** The host of `//authority/...` (userinfo and port removed); '' when there is none. */
function httpHostOf(rest: string): string {
  if (!rest.startsWith('//')) return '';
  let authority = rest.slice(2);
  const cut = authority.search(/[/?#]/);
  if (cut !== -1) authority = authority.slice(0, cut);
  authority = authority.slice(authority.lastIndexOf('@') + 1);
  if (authority.startsWith('[')) return authority.slice(0, authority.indexOf(']') + 1);
  const colon = authority.indexOf(':');
  return colon === -1 ? authority : authority.slice(0, colon);
}

/**
 * A reg-name or an IPv4 address with an optional port (RFC 3986 §3.2.2):
 * the Host of nearly every request, checked by one expression, which reads
 * a string cut from the head faster than a loop of charCodeAt does.
 */
const NAME_HOST = /^[0-9A-Za-z\-._~%!$&'()*+,;=]*(?::[0-9]*)?$/;

/** Host = uri-host [ ":" port ] (RFC 9110 §7.2); empty is allowed. */
export function validHost(value: string): boolean {
  return NAME_HOST.test(value) || hostSyntax(value);
}

/**
 * The whole Host rule, character by character: for any value NAME_HOST
 * does not take (an IP-literal, or invalid). Exported for the test that
 * checks both give the same answer.
 *
 * @example hostSyntax('[::1]:80') === true; hostSyntax('a/b') === false
 */
export function hostSyntax(value: string): boolean {
  let colon = -1;
  let bracket = false;
  for (let k = 0; k < value.length; k++) {
    const c = value.charCodeAt(k);
    if (HOST_CHAR[c] !== 1) return false;
    if (c === COLON && colon === -1) colon = k;
    else if (c === 0x5b || c === 0x5d) bracket = true;
  }
  if (!bracket) {
    // reg-name or IPv4, with an optional all-digit port: no regex needed.
    if (colon === -1) return true;
    for (let k = colon + 1; k < value.length; k++) {
      const c = value.charCodeAt(k);
      if (c < 0x30 || c > 0x39) return false;
    }
    return true;
  }
  // Brackets only around an IP-literal (RFC 3986 §3.2.2).
  return /^\[[0-9A-Fa-f:.]+\](:[0-9]*)?$/.test(value) || /^\[v[0-9A-Fa-f]+\.[^\]]+\](:[0-9]*)?$/.test(value);
}
