/**
 * Server secrets (O4, S2, C5), generated into the data dir on first start:
 * `<dataDir>/secrets.json` = { adminToken, hmacKey (base64url, 32 bytes), createdAt }, mode 0600.
 * Written atomically and at most once: a temporary file (0600, fsync'd) is hard-linked to the
 * final name, which fails if another process got there first, in which case its file is read.
 * A configured admin token (PETREL_ADMIN_TOKEN) overrides the file's; the HMAC key always comes
 * from the file, so API key hashes survive a token change.
 */
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";

export const SECRETS_FILE = "secrets.json";

export interface ServerSecrets {
  adminToken: string;
  adminTokenSource: "config" | "file";
  /** Server key of the keyed hashes (API keys, AUTH cache). */
  hmacKey: Uint8Array;
  path: string;
  /** True when this call created the file. */
  generated: boolean;
}

interface SecretsFile {
  adminToken: string;
  hmacKey: string;
  createdAt: string;
}

export class SecretsError extends Error {
  override readonly name = "SecretsError";
}

function readSecrets(path: string): SecretsFile {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new SecretsError(`${path}: unreadable secrets file: ${(e as Error).message}`);
  }
  const f = data as Partial<SecretsFile>;
  if (typeof f?.adminToken !== "string" || f.adminToken.length < 16 || typeof f.hmacKey !== "string") {
    throw new SecretsError(`${path}: secrets file lacks adminToken or hmacKey`);
  }
  if (Buffer.from(f.hmacKey, "base64url").length < 32)
    throw new SecretsError(`${path}: hmacKey is too short`);
  return f as SecretsFile;
}

function writeOnce(path: string, content: string): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    unlinkSync(tmp);
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some platforms cannot fsync a directory; the file itself is durable.
  }
}

/** Reads the secrets file of `dataDir` (creating it on first start). The dir must exist. */
export function loadServerSecrets(dataDir: string, configuredAdminToken?: string): ServerSecrets {
  const path = join(dataDir, SECRETS_FILE);
  let generated = false;
  let exists = true;
  try {
    statSync(path);
  } catch {
    exists = false;
  }
  if (!exists) {
    const fresh: SecretsFile = {
      adminToken: randomBytes(24).toString("base64url"),
      hmacKey: randomBytes(32).toString("base64url"),
      createdAt: new Date().toISOString(),
    };
    generated = writeOnce(path, `${JSON.stringify(fresh, null, 2)}\n`);
    if (generated) syncDir(dataDir);
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const file = readSecrets(path);
  return {
    adminToken: configuredAdminToken ?? file.adminToken,
    adminTokenSource: configuredAdminToken ? "config" : "file",
    hmacKey: new Uint8Array(Buffer.from(file.hmacKey, "base64url")),
    path,
    generated,
  };
}
