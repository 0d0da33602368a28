/** The S3 settings (X2): parsed from the PETREL_S3_* variables, a bad value names its key. */
import { describe, expect, it } from "vitest";
import { ConfigError, describeConfig, loadConfig } from "../../shared/config/load.ts";

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("S3 settings (X2)", () => {
  it("leaves content local by default", () => {
    const c = loadConfig({});
    expect(c.s3Bucket).toBeUndefined();
    expect(c).toMatchObject({
      s3Region: "us-east-1",
      s3ForcePathStyle: false,
      s3Prefix: "content",
      contentCacheMb: 64,
    });
  });

  it("reads every PETREL_S3_ variable", () => {
    const c = loadConfig({
      PETREL_S3_ENDPOINT: "http://127.0.0.1:8333",
      PETREL_S3_BUCKET: "petrel-mail",
      PETREL_S3_REGION: "eu-west-3",
      PETREL_S3_ACCESS_KEY_ID: "AKIAEXAMPLE",
      PETREL_S3_SECRET_ACCESS_KEY: "s3cr3t",
      PETREL_S3_FORCE_PATH_STYLE: "true",
      PETREL_S3_PREFIX: "relay/eu/content",
      PETREL_CONTENT_CACHE_MB: "0",
    });
    expect(c).toMatchObject({
      contentCacheMb: 0,
      s3Endpoint: "http://127.0.0.1:8333",
      s3Bucket: "petrel-mail",
      s3Region: "eu-west-3",
      s3AccessKeyId: "AKIAEXAMPLE",
      s3SecretAccessKey: "s3cr3t",
      s3ForcePathStyle: true,
      s3Prefix: "relay/eu/content",
    });
    expect(describeConfig(c).s3SecretAccessKey).toBe("***");
    expect(loadConfig({ PETREL_S3_FORCE_PATH_STYLE: "0" }).s3ForcePathStyle).toBe(false);
  });

  it.each([
    ["PETREL_S3_BUCKET", "Not_A_Bucket"],
    ["PETREL_S3_ENDPOINT", "not a url"],
    ["PETREL_S3_ENDPOINT", "ftp://s3.example"],
    ["PETREL_S3_FORCE_PATH_STYLE", "yes please"],
    ["PETREL_S3_PREFIX", "/leading/slash"],
    ["PETREL_S3_PREFIX", "trailing/"],
    ["PETREL_S3_PREFIX", "a//b"],
    ["PETREL_CONTENT_CACHE_MB", "-1"],
    ["PETREL_CONTENT_CACHE_MB", "lots"],
  ])("refuses %s=%s, naming the key", (name, value) => {
    expect(errorOf({ [name]: value }).key).toBe(name);
  });

  it("tells a config that still names the cache by its old name the new one", () => {
    const e = errorOf({ PETREL_S3_CACHE_MB: "32" });
    expect(e.key).toBe("PETREL_S3_CACHE_MB");
    expect(e.message).toContain("PETREL_CONTENT_CACHE_MB");
  });

  it("names the missing half of a key pair", () => {
    expect(errorOf({ PETREL_S3_ACCESS_KEY_ID: "AKIAEXAMPLE" }).key).toBe("PETREL_S3_SECRET_ACCESS_KEY");
    expect(errorOf({ PETREL_S3_SECRET_ACCESS_KEY: "s3cr3t" }).key).toBe("PETREL_S3_ACCESS_KEY_ID");
  });

  it("takes an empty prefix from the config file", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const p = join(mkdtempSync(join(tmpdir(), "petrel-cfg-")), "petrel.json");
    writeFileSync(p, JSON.stringify({ s3Bucket: "petrel-mail", s3Prefix: "" }));
    expect(loadConfig({ PETREL_CONFIG: p }).s3Prefix).toBe("");
  });
});
