/**
 * S1 TLS material: the configured PEM key and certificate (each a path or the PEM text itself, so
 * every node of a cluster can be given the same pair through its environment, X2), or a
 * self-signed pair generated once into `<dataDir>/tls/` (with a warning), never smtp-server's
 * built-in demo certificate.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generate } from "selfsigned";

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  /** True when the pair was generated now (the caller logs a warning). */
  generated: boolean;
  selfSigned: boolean;
}

export async function loadTls(o: {
  dataDir: string;
  hostname: string;
  tlsKey?: string | undefined;
  tlsCert?: string | undefined;
}): Promise<TlsMaterial> {
  if (o.tlsKey && o.tlsCert) {
    return {
      key: await pem(o.tlsKey),
      cert: await pem(o.tlsCert),
      generated: false,
      selfSigned: false,
    };
  }
  if (o.tlsKey || o.tlsCert) throw new Error("PETREL_TLS_KEY and PETREL_TLS_CERT must be set together");
  const dir = join(o.dataDir, "tls");
  const keyPath = join(dir, "self-signed.key.pem");
  const certPath = join(dir, "self-signed.cert.pem");
  if (existsSync(keyPath) && existsSync(certPath)) {
    return {
      key: await readFile(keyPath),
      cert: await readFile(certPath),
      generated: false,
      selfSigned: true,
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
  });
  await writeFile(`${keyPath}.tmp`, pems.private, { mode: 0o600 });
  await writeFile(`${certPath}.tmp`, pems.cert);
  await rename(`${keyPath}.tmp`, keyPath);
  await rename(`${certPath}.tmp`, certPath);
  return { key: Buffer.from(pems.private), cert: Buffer.from(pems.cert), generated: true, selfSigned: true };
}

/**
 * A configured PEM: the text itself when it holds a PEM header (an environment variable may carry
 * its line breaks as literal `\n`), else the path of a file.
 */
export async function pem(value: string): Promise<Buffer> {
  if (!value.includes("-----BEGIN")) return readFile(value);
  return Buffer.from(value.includes("\n") ? value : value.replaceAll("\\n", "\n"));
}
