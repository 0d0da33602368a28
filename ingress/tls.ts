/**
 * S1 TLS material: the configured PEM key and certificate (each a path or the PEM text itself, so
 * every node of a cluster can be given the same pair through its environment, X2), or a
 * self-signed pair generated once into `<dataDir>/tls/` (with a warning), never smtp-server's
 * built-in demo certificate. The generated certificate names the hostname, `localhost`,
 * `127.0.0.1` and `::1` (DNS and IP subjectAltNames), so a client that pins it and connects by
 * address can verify it (issue 14 point 8); a kept one that does not is generated again.
 */
import { X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { generate } from "selfsigned";

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  /** True when the pair was generated now (the caller logs a warning). */
  generated: boolean;
  selfSigned: boolean;
  /** SHA-256 fingerprint of the certificate, colon-separated upper-case hex as `openssl x509 -fingerprint -sha256` prints it. */
  sha256: string;
}

/** The names every generated certificate carries besides the configured hostname. */
export const LOOPBACK_NAMES = ["localhost"] as const;
export const LOOPBACK_IPS = ["127.0.0.1", "::1"] as const;

/** The names a generated certificate carries: the hostname (a name or an address) and the loopback ones. */
function wanted(hostname: string): { dns: string[]; ips: string[] } {
  const h = hostname.toLowerCase();
  const dns = isIP(h) ? [...LOOPBACK_NAMES] : [...new Set([h, ...LOOPBACK_NAMES])];
  const ips = isIP(h) ? [...new Set([h, ...LOOPBACK_IPS])] : [...LOOPBACK_IPS];
  return { dns, ips };
}

/** subjectAltName entries of a generated certificate: names as DNS entries, addresses as IP entries. */
export function selfSignedAltNames(
  hostname: string,
): ({ type: 2; value: string } | { type: 7; ip: string })[] {
  const { dns, ips } = wanted(hostname);
  return [
    ...dns.map((value) => ({ type: 2 as const, value })),
    ...ips.map((ip) => ({ type: 7 as const, ip })),
  ];
}

/** True when the certificate is valid for the hostname and every loopback name and address. */
export function namesAll(cert: X509Certificate, hostname: string): boolean {
  const { dns, ips } = wanted(hostname);
  return (
    dns.every((h) => cert.checkHost(h, { subject: "never" }) !== undefined) &&
    ips.every((ip) => cert.checkIP(ip) !== undefined)
  );
}

/** The SHA-256 fingerprint of a PEM certificate (its first one, for a chain). */
export function sha256Fingerprint(cert: Buffer): string {
  return new X509Certificate(cert).fingerprint256;
}

export async function loadTls(o: {
  dataDir: string;
  hostname: string;
  tlsKey?: string | undefined;
  tlsCert?: string | undefined;
}): Promise<TlsMaterial> {
  if (o.tlsKey && o.tlsCert) {
    const cert = await pem(o.tlsCert);
    return {
      key: await pem(o.tlsKey),
      cert,
      generated: false,
      selfSigned: false,
      sha256: sha256Fingerprint(cert),
    };
  }
  if (o.tlsKey || o.tlsCert) throw new Error("PETREL_TLS_KEY and PETREL_TLS_CERT must be set together");
  const dir = join(o.dataDir, "tls");
  const keyPath = join(dir, "self-signed.key.pem");
  const certPath = join(dir, "self-signed.cert.pem");
  if (existsSync(keyPath) && existsSync(certPath)) {
    const cert = await readFile(certPath);
    const x509 = new X509Certificate(cert);
    // A pair generated before the loopback names, or for another hostname, is made again.
    if (namesAll(x509, o.hostname))
      return {
        key: await readFile(keyPath),
        cert,
        generated: false,
        selfSigned: true,
        sha256: x509.fingerprint256,
      };
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const now = new Date();
  const pems = await generate([{ name: "commonName", value: o.hostname }], {
    keyType: "rsa",
    keySize: 2048,
    algorithm: "sha256",
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + 825 * 24 * 3600 * 1000),
    extensions: [
      { name: "basicConstraints", cA: false, critical: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: selfSignedAltNames(o.hostname) },
    ],
  });
  await writeFile(`${keyPath}.tmp`, pems.private, { mode: 0o600 });
  await writeFile(`${certPath}.tmp`, pems.cert);
  await rename(`${keyPath}.tmp`, keyPath);
  await rename(`${certPath}.tmp`, certPath);
  const cert = Buffer.from(pems.cert);
  return {
    key: Buffer.from(pems.private),
    cert,
    generated: true,
    selfSigned: true,
    sha256: sha256Fingerprint(cert),
  };
}

/**
 * A configured PEM: the text itself when it holds a PEM header (an environment variable may carry
 * its line breaks as literal `\n`), else the path of a file.
 */
export async function pem(value: string): Promise<Buffer> {
  if (!value.includes("-----BEGIN")) return readFile(value);
  return Buffer.from(value.includes("\n") ? value : value.replaceAll("\\n", "\n"));
}
