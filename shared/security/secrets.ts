/**
 * Server secrets (O4, S2, C5, X2): the operator token and the HMAC key, each from the
 * configuration (PETREL_ADMIN_TOKEN, PETREL_HMAC_KEY) or else generated into the data dir on first
 * start: `<dataDir>/secrets.json` = { adminToken?, hmacKey?, createdAt }, mode 0600.
 *
 * The file holds only what the configuration does not give, and never a token the relay does not
 * accept: a generated token that a configured one replaced is removed from it (the CLI reads the
 * file, issue 14 point 7). Created atomically and at most once: a temporary file (0600, fsync'd) is
 * hard-linked to the final name, which fails if another process got there first, in which case its
 * file is read. An HMAC key is never generated over an existing file that lacks one: API key hashes
 * were made under some key, and a new one would silently void them.
 */
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
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
  hmacKeySource: "config" | "file";
  path: string;
  /** True when this call created the file or added a generated secret to it. */
  generated: boolean;
}

/** What the configuration gives: the token as is, the key in base64url (PETREL_HMAC_KEY). */
export interface ConfiguredSecrets {
  adminToken?: string | undefined;
  hmacKey?: string | undefined;
}

interface SecretsFile {
  adminToken?: string;
  hmacKey?: string;
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
  if (typeof f !== "object" || f === null || (f.adminToken === undefined && f.hmacKey === undefined))
    throw new SecretsError(`${path}: secrets file lacks adminToken and hmacKey`);
  if (f.adminToken !== undefined && (typeof f.adminToken !== "string" || f.adminToken.length < 16))
    throw new SecretsError(`${path}: adminToken is too short`);
  if (
    f.hmacKey !== undefined &&
    (typeof f.hmacKey !== "string" || Buffer.from(f.hmacKey, "base64url").length < 32)
  )
    throw new SecretsError(`${path}: hmacKey is too short`);
  return { ...f, createdAt: typeof f.createdAt === "string" ? f.createdAt : new Date().toISOString() };
}

/** Writes `content` to a new temporary file beside `path` (mode 0600), fsync'd; returns its name. */
function writeTemp(path: string, content: string): string {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return tmp;
}

/** Replaces the file's content atomically (temporary file, fsync, rename). */
function replace(path: string, content: string): void {
  renameSync(writeTemp(path, content), path);
}

/** Creates the file only if it does not exist yet (link of a complete temporary file). */
function writeOnce(path: string, content: string): boolean {
  const tmp = writeTemp(path, content);
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

const encode = (f: SecretsFile) => `${JSON.stringify(f, null, 2)}\n`;

/** The file's secrets as they are (the CLI's read: it never creates or changes the file). */
export function readServerSecrets(dataDir: string): Omit<SecretsFile, "createdAt"> {
  const { adminToken, hmacKey } = readSecrets(join(dataDir, SECRETS_FILE));
  return { ...(adminToken ? { adminToken } : {}), ...(hmacKey ? { hmacKey } : {}) };
}

/**
 * The relay's secrets: configured ones as given, the others from `<dataDir>/secrets.json`
 * (generated on first need). The dir must exist.
 */
export function loadServerSecrets(dataDir: string, configured: ConfiguredSecrets = {}): ServerSecrets {
  const path = join(dataDir, SECRETS_FILE);
  let generated = false;
  let file: SecretsFile | undefined;
  if (existsSync(path)) {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    file = readSecrets(path);
  }
  if (file && !configured.hmacKey && !file.hmacKey)
    throw new SecretsError(
      `${path}: no hmacKey, and PETREL_HMAC_KEY is unset: set it to the key the API keys were made under`,
    );
  // What the file should hold: only secrets the configuration does not give; a token the
  // configuration replaced goes, a missing one is generated.
  const adminToken = configured.adminToken
    ? file?.adminToken === configured.adminToken
      ? file.adminToken
      : undefined
    : (file?.adminToken ?? randomBytes(24).toString("base64url"));
  const hmacKey = file?.hmacKey ?? (configured.hmacKey ? undefined : randomBytes(32).toString("base64url"));
  const wanted: SecretsFile = {
    ...(adminToken ? { adminToken } : {}),
    ...(hmacKey ? { hmacKey } : {}),
    createdAt: file?.createdAt ?? new Date().toISOString(),
  };
  if (!file) {
    if (adminToken || hmacKey) {
      generated = writeOnce(path, encode(wanted));
      if (generated) syncDir(dataDir);
      else return loadServerSecrets(dataDir, configured); // another process wrote it first
    }
  } else if (wanted.adminToken !== file.adminToken || wanted.hmacKey !== file.hmacKey) {
    replace(path, encode(wanted));
    syncDir(dataDir);
    generated = wanted.adminToken !== undefined && file.adminToken === undefined;
  }
  const token = configured.adminToken ?? wanted.adminToken;
  const key = configured.hmacKey ?? wanted.hmacKey;
  if (!token || !key) throw new SecretsError(`${path}: no adminToken or hmacKey`); // unreachable
  return {
    adminToken: token,
    adminTokenSource: configured.adminToken ? "config" : "file",
    hmacKey: new Uint8Array(Buffer.from(key, "base64url")),
    hmacKeySource: configured.hmacKey ? "config" : "file",
    path,
    generated,
  };
}
