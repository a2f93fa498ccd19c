/**
 * A throwaway certificate authority for the HTTPS tests, made with the
 * `openssl` command into a temporary directory (removed when the test
 * ends): a CA, and certificates it signed for the cases the tests need.
 * EC P-256 keys, so that making them takes milliseconds.
 *
 * - `server`: localhost, 127.0.0.1 and ::1 (what every peer connects to);
 * - `other`: only `other.test` (a wrong host name for 127.0.0.1, the right
 *   one for an SNI test);
 * - `expired`: localhost and 127.0.0.1, valid in 2020 only;
 * - `selfSigned`: localhost and 127.0.0.1, signed by itself (not the CA);
 * - `client`: a client certificate, CN=alice;
 * - `stranger`: a client certificate, CN=mallory, self-signed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

export interface Pem {
  key: string;
  cert: string;
  /** Paths of the same files (for curl, Python, nginx). */
  keyFile: string;
  certFile: string;
}

export interface Ca {
  dir: string;
  /** The CA certificate (PEM) and its path. */
  ca: string;
  caFile: string;
  server: Pem;
  other: Pem;
  expired: Pem;
  selfSigned: Pem;
  client: Pem;
  stranger: Pem;
}

/** True when the openssl command runs (else the HTTPS tests skip, saying why). */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Makes the CA and its certificates; the directory goes away when `t` ends. */
export function makeCa(t: Test): Ca {
  const dir = mkdtempSync(join(tmpdir(), 'repy-http-ca-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ecKey = (name: string): void => ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);

  ecKey('ca');
  ssl('req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '2', '-subj', '/CN=repy-http test CA', '-out', 'ca.crt',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');

  // `openssl ca` (not `x509 -req`) so that the expired certificate can have dates in the past.
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'ca.cnf'), [
    '[ca]', 'default_ca = test', '[test]', `dir = ${dir}`, 'database = $dir/index.txt', 'serial = $dir/serial',
    'new_certs_dir = $dir', 'certificate = $dir/ca.crt', 'private_key = $dir/ca.key', 'default_md = sha256',
    'policy = any', 'copy_extensions = copy', 'unique_subject = no', '[any]', 'commonName = supplied', '',
  ].join('\n'));

  const signed = (name: string, cn: string, ext: string[], dates: string[] = ['-days', '2']): Pem => {
    ecKey(name);
    ssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`, ...ext.flatMap((e) => ['-addext', e]));
    ssl('ca', '-batch', '-config', 'ca.cnf', '-notext', '-in', `${name}.csr`, '-out', `${name}.crt`, ...dates);
    return pem(dir, name);
  };
  const serverExt = (names: string): string[] => [`subjectAltName=${names}`, 'extendedKeyUsage=serverAuth'];

  const server = signed('server', 'localhost', serverExt('DNS:localhost,IP:127.0.0.1,IP:::1'));
  const other = signed('other', 'other.test', serverExt('DNS:other.test'));
  const expired = signed('expired', 'localhost', serverExt('DNS:localhost,IP:127.0.0.1'), ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z']);
  const client = signed('client', 'alice', ['extendedKeyUsage=clientAuth']);

  ecKey('self');
  ssl('req', '-x509', '-new', '-key', 'self.key', '-sha256', '-days', '2', '-subj', '/CN=localhost', '-out', 'self.crt',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  ecKey('stranger');
  ssl('req', '-x509', '-new', '-key', 'stranger.key', '-sha256', '-days', '2', '-subj', '/CN=mallory', '-out', 'stranger.crt',
    '-addext', 'extendedKeyUsage=clientAuth');

  return {
    dir, ca: readFileSync(join(dir, 'ca.crt'), 'utf8'), caFile: join(dir, 'ca.crt'),
    server, other, expired, client, selfSigned: pem(dir, 'self'), stranger: pem(dir, 'stranger'),
  };
}

function pem(dir: string, name: string): Pem {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), keyFile, certFile };
}
