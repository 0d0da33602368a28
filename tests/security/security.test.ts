/** Password hashing, random tokens, keyed hashes (S2, C3, C5) and the server secrets file (O4). */
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { hashPassword, needsRehash, parseHash, verifyPassword } from "../../shared/security/password.ts";
import { loadServerSecrets, readServerSecrets, SecretsError } from "../../shared/security/secrets.ts";
import {
  apiKeyId,
  authCacheKey,
  digestsEqual,
  generateApiKey,
  generatePassword,
  generateSmtpUsername,
  keyedHash,
} from "../../shared/security/tokens.ts";

const run = promisify(execFile);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "petrel-secrets-"));
  dirs.push(d);
  return d;
};

const CHEAP = { ln: 10, r: 8, p: 1 };

describe("password hashing", () => {
  it("salts every hash, keeps its parameters, and verifies only the right password", async () => {
    const a = await hashPassword("s3cret", CHEAP);
    const b = await hashPassword("s3cret", CHEAP);
    expect(a).toMatch(/^scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword("s3cret", a)).toBe(true);
    expect(await verifyPassword("s3cret", b)).toBe(true);
    expect(await verifyPassword("s3cret ", a)).toBe(false);
    expect(await verifyPassword("", a)).toBe(false);
    expect(needsRehash(a)).toBe(true);
    expect(needsRehash(await hashPassword("x"))).toBe(false);
  });

  it.each([
    ["", "empty"],
    ["bcrypt$2b$10$abc", "another scheme"],
    [
      "scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "cost beyond the bound",
    ],
    ["scrypt$ln=10,r=8,p=1$short$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "short salt"],
  ])("refuses the malformed hash %j (%s)", async (stored) => {
    expect(parseHash(stored)).toBeUndefined();
    expect(await verifyPassword("anything", stored)).toBe(false);
  });
});

describe("tokens", () => {
  it("generates usernames, passwords and API keys in their formats, without repeats", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const u = generateSmtpUsername();
      const p = generatePassword();
      const k = generateApiKey();
      expect(u).toMatch(/^ptl_[a-z2-7]{16}$/);
      // Never a leading "-": swaks took a generated password for an option (a CI run saw it).
      expect(p).toMatch(/^[a-z2-7][A-Za-z0-9_-]{31}$/);
      expect(k.key).toMatch(/^pk_[a-z2-7]{12}_[A-Za-z0-9_-]{32}$/);
      expect(apiKeyId(k.key)).toBe(k.id);
      for (const s of [u, p, k.key]) {
        expect(seen.has(s)).toBe(false);
        seen.add(s);
      }
    }
  });

  it.each([
    ["pk_abcdefghijkl_0123456789abcdefghijABCDEFGHIJ-_", "abcdefghijkl"],
    ["pk_abcdefghijkl_short", undefined],
    ["pk_ABCDEFGHIJKL_0123456789abcdefghijABCDEFGHIJ-_", undefined],
    ["sk_abcdefghijkl_0123456789abcdefghijABCDEFGHIJ-_", undefined],
    ["", undefined],
  ])("apiKeyId(%j) = %j", (key, id) => {
    expect(apiKeyId(key)).toBe(id);
  });

  it("computes HMAC-SHA256 (RFC 4231 test case 2) and compares digests in constant time", () => {
    const key = new TextEncoder().encode("Jefe");
    const mac = keyedHash(key, "what do ya want for nothing?");
    expect(mac).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    expect(digestsEqual(mac, mac)).toBe(true);
    expect(digestsEqual(mac, mac.replace(/^5/, "6"))).toBe(false);
    expect(digestsEqual(mac, mac.slice(2))).toBe(false);
    expect(digestsEqual("", "")).toBe(false);
  });

  it("keys the AUTH cache on the user's generation and the server key", () => {
    const k1 = new Uint8Array(32).fill(1);
    const k2 = new Uint8Array(32).fill(2);
    const base = authCacheKey(k1, "ptl_x", "pw", 1);
    expect(authCacheKey(k1, "ptl_x", "pw", 1)).toBe(base);
    expect(authCacheKey(k1, "ptl_x", "pw", 2)).not.toBe(base);
    expect(authCacheKey(k1, "ptl_x", "pw2", 1)).not.toBe(base);
    expect(authCacheKey(k2, "ptl_x", "pw", 1)).not.toBe(base);
  });
});

describe("server secrets file", () => {
  it("is generated once with mode 0600 and read back unchanged", () => {
    const dir = tempDir();
    const first = loadServerSecrets(dir);
    expect(first.generated).toBe(true);
    expect(first.adminTokenSource).toBe("file");
    expect(first.adminToken.length).toBeGreaterThanOrEqual(32);
    expect(first.hmacKey.length).toBe(32);
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
    const again = loadServerSecrets(dir);
    expect(again.generated).toBe(false);
    expect(again.adminToken).toBe(first.adminToken);
    expect(Buffer.from(again.hmacKey).equals(Buffer.from(first.hmacKey))).toBe(true);
  });

  it("lets PETREL_ADMIN_TOKEN override the token, keeps the HMAC key, and drops the replaced token from the file", () => {
    const dir = tempDir();
    const first = loadServerSecrets(dir);
    const over = loadServerSecrets(dir, { adminToken: "configured-token-0123456789" });
    expect(over).toMatchObject({ adminToken: "configured-token-0123456789", adminTokenSource: "config" });
    expect(Buffer.from(over.hmacKey).equals(Buffer.from(first.hmacKey))).toBe(true);
    // Issue 14 point 7: the CLI reads the file; a token the relay refuses must not be there.
    const file = JSON.parse(readFileSync(first.path, "utf8"));
    expect(file.adminToken).toBeUndefined();
    expect(file.hmacKey).toBe(Buffer.from(first.hmacKey).toString("base64url"));
    expect(readServerSecrets(dir)).toEqual({ hmacKey: file.hmacKey });
    // Unset again: a fresh token is generated into the file (the old one is gone for good).
    const back = loadServerSecrets(dir);
    expect(back.adminTokenSource).toBe("file");
    expect(back.adminToken).not.toBe(first.adminToken);
    expect(readServerSecrets(dir).adminToken).toBe(back.adminToken);
  });

  it("writes no token when PETREL_ADMIN_TOKEN is set on first start", () => {
    const dir = tempDir();
    const s = loadServerSecrets(dir, { adminToken: "configured-token-0123456789" });
    expect(s.adminToken).toBe("configured-token-0123456789");
    expect(Object.keys(JSON.parse(readFileSync(s.path, "utf8"))).sort()).toEqual(["createdAt", "hmacKey"]);
  });

  it("takes PETREL_HMAC_KEY from the configuration, and writes no file when both are configured", () => {
    const key = Buffer.alloc(32, 7).toString("base64url");
    const dir = tempDir();
    const s = loadServerSecrets(dir, { adminToken: "configured-token-0123456789", hmacKey: key });
    expect(s).toMatchObject({ adminTokenSource: "config", hmacKeySource: "config", generated: false });
    expect(Buffer.from(s.hmacKey).toString("base64url")).toBe(key);
    expect(existsSync(s.path)).toBe(false);
    // Over an existing file, the configured key wins.
    const other = tempDir();
    loadServerSecrets(other);
    const configured = loadServerSecrets(other, { hmacKey: key });
    expect(Buffer.from(configured.hmacKey).toString("base64url")).toBe(key);
  });

  it("never generates an HMAC key over a file that lacks one", () => {
    const dir = tempDir();
    const key = Buffer.alloc(32, 9).toString("base64url");
    const s = loadServerSecrets(dir, { hmacKey: key });
    expect(JSON.parse(readFileSync(s.path, "utf8")).hmacKey).toBeUndefined();
    expect(() => loadServerSecrets(dir)).toThrow(/PETREL_HMAC_KEY/);
  });

  it("tightens a readable file to 0600 and refuses a damaged one", () => {
    const dir = tempDir();
    const s = loadServerSecrets(dir);
    chmodSync(s.path, 0o644);
    loadServerSecrets(dir);
    expect(statSync(s.path).mode & 0o777).toBe(0o600);
    writeFileSync(s.path, "{}");
    expect(() => loadServerSecrets(dir)).toThrow(SecretsError);
  });

  it("gives every process racing on a fresh data dir the same secrets", async () => {
    const dir = tempDir();
    const outs = await Promise.all(
      Array.from({ length: 4 }, () =>
        run(process.execPath, ["--import", "tsx", "tests/security/secrets-child.ts", dir]),
      ),
    );
    const parsed = outs.map(
      (o) => JSON.parse(o.stdout) as { adminToken: string; hmacKey: string; generated: boolean },
    );
    expect(new Set(parsed.map((p) => p.adminToken)).size).toBe(1);
    expect(new Set(parsed.map((p) => p.hmacKey)).size).toBe(1);
    expect(parsed.filter((p) => p.generated)).toHaveLength(1);
  });
});
