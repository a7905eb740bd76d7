/**
 * TLS for SSL and SASL_SSL listeners from Kafka's settings: the keystore (a PEM file holding the
 * private key and certificate chain, the same as PEM text, or PKCS12), the truststore client
 * certificates must chain to, `ssl.client.auth`, and TLS 1.2/1.3 only. A setting that cannot be
 * read is a ConfigError naming it. The files are checked every sslFilesCheckIntervalMs and a
 * renewed certificate is served to new connections without a restart.
 */
import { readFileSync, statSync } from 'node:fs';
import {
  type ConnectionOptions, createSecureContext, type SecureContextOptions, type TlsOptions,
} from 'node:tls';
import { ConfigError } from '../config/config-error.js';

export interface TlsSettings {
  sslKeystoreType: string;
  sslKeystoreLocation: string;
  sslKeystorePassword: string;
  sslKeyPassword: string;
  sslKeystoreCertificateChain: string;
  sslKeystoreKey: string;
  sslTruststoreType: string;
  sslTruststoreLocation: string;
  sslTruststorePassword: string;
  sslTruststoreCertificates: string;
  sslClientAuth: string;
  sslEnabledProtocols: string[];
}

const PEM_KEY = /-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/;
const PEM_CERTS = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function read(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(setting, `cannot read ${path}: ${(err as Error).message}`);
  }
}

function keystoreOptions(s: TlsSettings): SecureContextOptions {
  if (s.sslKeystoreType === 'PKCS12') {
    if (s.sslKeystoreLocation === '') throw new ConfigError('sslKeystoreLocation',
      'required for a PKCS12 keystore');
    return { pfx: read('sslKeystoreLocation', s.sslKeystoreLocation),
      passphrase: s.sslKeystorePassword };
  }
  const text = s.sslKeystoreLocation !== ''
    ? read('sslKeystoreLocation', s.sslKeystoreLocation).toString('utf8')
    : `${s.sslKeystoreKey}\n${s.sslKeystoreCertificateChain}`;
  const setting = s.sslKeystoreLocation !== '' ? 'sslKeystoreLocation' : 'sslKeystoreKey';
  if (s.sslKeystoreLocation === '' && (s.sslKeystoreKey === '' ||
    s.sslKeystoreCertificateChain === '')) {
    throw new ConfigError('sslKeystoreLocation',
      'an SSL or SASL_SSL listener needs a keystore (or sslKeystoreKey and ' +
        'sslKeystoreCertificateChain)');
  }
  const key = PEM_KEY.exec(text)?.[0];
  const certs = text.match(PEM_CERTS);
  if (key === undefined) throw new ConfigError(setting, 'holds no PEM private key');
  if (certs === null) throw new ConfigError(s.sslKeystoreLocation !== '' ? setting :
    'sslKeystoreCertificateChain', 'holds no PEM certificate');
  return { key, cert: certs.join('\n'), ...(s.sslKeyPassword !== '' ?
    { passphrase: s.sslKeyPassword } : {}) };
}

function truststoreOptions(s: TlsSettings): SecureContextOptions {
  if (s.sslTruststoreLocation === '' && s.sslTruststoreCertificates === '') {
    if (s.sslClientAuth !== 'none') {
      throw new ConfigError('sslTruststoreLocation',
        `required with sslClientAuth ${s.sslClientAuth}: client certificates are checked against ` +
          `it`);
    }
    return {};
  }
  if (s.sslTruststoreType === 'PKCS12') {
    throw new ConfigError('sslTruststoreType',
      'PKCS12 truststores are not read: give the CA certificates as PEM');
  }
  const text = s.sslTruststoreLocation !== ''
    ? read('sslTruststoreLocation', s.sslTruststoreLocation).toString('utf8') :
      s.sslTruststoreCertificates;
  const certs = text.match(PEM_CERTS);
  if (certs === null) {
    throw new ConfigError(s.sslTruststoreLocation !== '' ? 'sslTruststoreLocation' :
      'sslTruststoreCertificates', 'holds no PEM certificate');
  }
  return { ca: certs };
}

/** TLS 1.2 and 1.3 only; ConfigError for anything else. */
export function protocolRange(s: Pick<TlsSettings, 'sslEnabledProtocols'>): Pick<TlsOptions,
  'minVersion' | 'maxVersion'> {
  const allowed = ['TLSv1.2', 'TLSv1.3'] as const;
  const enabled = s.sslEnabledProtocols;
  for (const p of enabled) {
    if (!(allowed as readonly string[]).includes(p)) {
      throw new ConfigError('sslEnabledProtocols', `${p} is not allowed: TLSv1.2 and TLSv1.3 only`);
    }
  }
  if (enabled.length === 0) throw new ConfigError('sslEnabledProtocols', 'names no protocol');
  const has12 = enabled.includes('TLSv1.2');
  const has13 = enabled.includes('TLSv1.3');
  return { minVersion: has12 ? 'TLSv1.2' : 'TLSv1.3', maxVersion: has13 ? 'TLSv1.3' : 'TLSv1.2' };
}

/** The options of a TLS server for these settings; throws ConfigError naming a bad setting. */
export function tlsServerOptions(s: TlsSettings): TlsOptions {
  const options: TlsOptions = {
    ...keystoreOptions(s), ...truststoreOptions(s), ...protocolRange(s),
    requestCert: s.sslClientAuth !== 'none',
    // Checked by the listener instead, so that "requested" admits a client without a certificate
    // yet still refuses one whose certificate does not chain to the truststore.
    rejectUnauthorized: false,
  };
  try {
    createSecureContext(options);
  } catch (err) {
    throw new ConfigError('sslKeystoreLocation',
      `the keystore and truststore do not make a TLS context: ${(err as Error).message}`);
  }
  return options;
}

/**
 * The options of a TLS client to a peer broker's listener (inter-broker): this broker's keystore
 * as its client certificate (sent when the peer asks: mTLS), the truststore to check the peer's
 * certificate (the system's CAs without one), and the host name checked against the certificate
 * unless `ssl.endpoint.identification.algorithm` is empty, as in Kafka.
 */
export function tlsClientOptions(s: TlsSettings & { sslEndpointIdentificationAlgorithm: string }):
  ConnectionOptions {
  const hasKeystore = s.sslKeystoreLocation !== '' || s.sslKeystoreKey !== '';
  const trust = s.sslTruststoreLocation !== '' || s.sslTruststoreCertificates !== ''
    ? truststoreOptions(s) : {};
  return {
    ...(hasKeystore ? keystoreOptions(s) : {}), ...trust, ...protocolRange(s),
    rejectUnauthorized: true,
    ...(s.sslEndpointIdentificationAlgorithm === '' ? { checkServerIdentity: () => undefined }
      : {}),
  };
}

/** The files the TLS options were read from, with their modification times. */
export function tlsFileStamps(s: TlsSettings): string {
  return [s.sslKeystoreLocation, s.sslTruststoreLocation].filter((p) => p !== '').map((p) => {
    try {
      const st = statSync(p);
      return `${p}:${st.mtimeMs}:${st.size}`;
    } catch {
      return `${p}:missing`;
    }
  }).join('|');
}
