import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates } from 'node:tls';
import { ConfigError, type TlsFiles } from '../config/config.js';

/** The PEM texts a node serves HTTPS with, and the CAs it trusts when it calls other nodes. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /**
   * Trusted for outgoing calls: TLS_CA, or else the node's own certificate, plus Node's built-in
   * CAs (an explicit list replaces the defaults, so they are added back here).
   */
  readonly ca: readonly string[];
}

/** Reads the files named by TLS_CERT, TLS_KEY and TLS_CA once, at start. */
export function loadTlsMaterial(files: TlsFiles | undefined): TlsMaterial | undefined {
  if (files === undefined) return undefined;
  const cert = readPem(files.certFile, 'TLS_CERT', 'CERTIFICATE');
  const key = readPem(files.keyFile, 'TLS_KEY', 'PRIVATE KEY');
  const trusted =
    files.caFile === undefined ? cert : readPem(files.caFile, 'TLS_CA', 'CERTIFICATE');
  try {
    // Catches a key that does not belong to the certificate now, before the node opens its log,
    // rather than when the server starts.
    createSecureContext({ cert, key });
  } catch (error) {
    throw new ConfigError(
      `TLS_CERT ${files.certFile} and TLS_KEY ${files.keyFile} do not make a usable pair (${(error as Error).message}); give the key of that certificate`,
    );
  }
  return { cert, key, ca: [...rootCertificates, trusted] };
}

function readPem(path: string, variable: string, kind: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}); give the path of a PEM file the node can read`,
    );
  }
  if (!text.includes(`-----BEGIN `) || !text.includes(kind)) {
    throw new ConfigError(`${variable}: ${path} holds no PEM ${kind}; give a PEM file`);
  }
  return text;
}
