// Test certificates made at test time with the `openssl` CLI: a private CA, a server certificate
// for 127.0.0.1 and localhost, a client certificate signed by the same CA (mTLS), and a second,
// unrelated CA (for "wrong CA" cases). EC P-256 keys keep a whole set to about 100–200 ms.
// Two entry points: `makeCerts()` (a fresh set each call) and `testCerts()` (one shared set).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  /** Folder holding every file below. */
  dir: string;
  /** The CA that signed the server and client certificates (`caCert` is the same path). */
  caFile: string;
  caCert: string;
  caKey: string;
  /** Server certificate (SAN: IP 127.0.0.1, DNS localhost) and its key. */
  serverCert: string;
  serverKey: string;
  /** Client certificate (CN dito-client, clientAuth) signed by the CA, and its key. */
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here: trusting only it must fail verification. */
  otherCaFile: string;
  otherCaCert: string;
  otherCaKey: string;
  /** PEM contents, for in-process test servers and clients. */
  pem: {
    ca: Buffer;
    serverCert: Buffer;
    serverKey: Buffer;
    clientCert: Buffer;
    clientKey: Buffer;
    otherCa: Buffer;
  };
}

/** Kept for callers written against the earlier name. */
export type CertFiles = TestCerts;

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(dir: string, name: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
}

function selfSignedCa(dir: string, name: string, subject: string): void {
  newKey(dir, name);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-sha256',
      '-days',
      '2',
      '-subj',
      subject,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

function signedLeaf(dir: string, name: string, subject: string, extensions: string): void {
  newKey(dir, name);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      // An explicit serial: no shared serial file to race on between processes.
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

function generate(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'dito-certs-'));
  selfSignedCa(dir, 'ca', '/CN=Dito Test CA');
  selfSignedCa(dir, 'other-ca', '/CN=Unrelated Test CA');
  signedLeaf(
    dir,
    'server',
    '/CN=localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
  );
  signedLeaf(dir, 'client', '/CN=dito-client', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  const path = (file: string) => join(dir, file);
  return {
    dir,
    caFile: path('ca.crt'),
    caCert: path('ca.crt'),
    caKey: path('ca.key'),
    serverCert: path('server.crt'),
    serverKey: path('server.key'),
    clientCert: path('client.crt'),
    clientKey: path('client.key'),
    otherCaFile: path('other-ca.crt'),
    otherCaCert: path('other-ca.crt'),
    otherCaKey: path('other-ca.key'),
    pem: {
      ca: readFileSync(path('ca.crt')),
      serverCert: readFileSync(path('server.crt')),
      serverKey: readFileSync(path('server.key')),
      clientCert: readFileSync(path('client.crt')),
      clientKey: readFileSync(path('client.key')),
      otherCa: readFileSync(path('other-ca.crt')),
    },
  };
}

/** A fresh set of certificates in a new temp folder (for tests that replace files on disk). */
export async function makeCerts(): Promise<TestCerts> {
  return generate();
}

let shared: TestCerts | undefined;

/** One set shared by every caller in this test process (made on first use). */
export function testCerts(): TestCerts {
  shared ??= generate();
  return shared;
}
