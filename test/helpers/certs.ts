// Test certificates made at test time with openssl: a private CA, a server certificate for
// 127.0.0.1 and localhost, and a client certificate (mTLS), all signed by that CA. Made once per
// test process and shared; files in a temp folder, PEM contents alongside for in-process servers.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './dito.js';

export interface CertFiles {
  /** Paths (for Dito's config). */
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second CA that signed nothing here: verification against it must fail. */
  otherCaCert: string;
  /** PEM contents (for test servers and clients). */
  pem: {
    ca: Buffer;
    serverCert: Buffer;
    serverKey: Buffer;
    clientCert: Buffer;
    clientKey: Buffer;
    otherCa: Buffer;
  };
}

let made: CertFiles | undefined;

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=Dito Test ${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
}

function makeLeaf(dir: string, name: string, subject: string, extensions: string): void {
  openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    ],
    dir,
  );
  writeFileSync(join(dir, `${name}.ext`), extensions);
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
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
}

/** The shared test PKI (made on first use, about 100 ms). */
export function testCerts(): CertFiles {
  if (made !== undefined) return made;
  const dir = tempDir('dito-certs-');
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  makeLeaf(
    dir,
    'server',
    '/CN=localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
  );
  makeLeaf(dir, 'client', '/CN=dito-client', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  const path = (file: string) => join(dir, file);
  made = {
    caCert: path('ca.crt'),
    caKey: path('ca.key'),
    serverCert: path('server.crt'),
    serverKey: path('server.key'),
    clientCert: path('client.crt'),
    clientKey: path('client.key'),
    otherCaCert: path('other-ca.crt'),
    pem: {
      ca: readFileSync(path('ca.crt')),
      serverCert: readFileSync(path('server.crt')),
      serverKey: readFileSync(path('server.key')),
      clientCert: readFileSync(path('client.crt')),
      clientKey: readFileSync(path('client.key')),
      otherCa: readFileSync(path('other-ca.crt')),
    },
  };
  return made;
}
