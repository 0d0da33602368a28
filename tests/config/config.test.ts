import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, checkClusterSettings, describeConfig, loadConfig } from "../../shared/config/load.ts";

function file(content: string): string {
  const p = join(mkdtempSync(join(tmpdir(), "petrel-cfg-")), "petrel.json");
  writeFileSync(p, content);
  return p;
}

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("configuration (O2)", () => {
  it("runs the embedded mode with no settings at all", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      dataDir: "./data",
      host: "0.0.0.0",
      submissionPort: 587,
      smtpsPort: 465,
      bouncePort: 25,
      httpPort: 8080,
      smtpOutPort: 25,
      kafkaBrokers: [],
      dnsServers: [],
      partitions: 8,
    });
    expect(c.clickhouseUrl).toBeUndefined();
    expect(c.tlsKey).toBeUndefined();
  });

  it("overlays defaults with the file and the file with the environment", () => {
    const path = file(
      JSON.stringify({ httpPort: 9000, submissionPort: 2587, dnsServers: ["127.0.0.1:5353"] }),
    );
    const c = loadConfig({ PETREL_CONFIG: path, PETREL_HTTP_PORT: "9100" });
    expect(c.httpPort).toBe(9100);
    expect(c.submissionPort).toBe(2587);
    expect(c.dnsServers).toEqual(["127.0.0.1:5353"]);
  });

  it("parses comma lists with host:port", () => {
    const c = loadConfig({
      PETREL_KAFKA_BROKERS: "127.0.0.1:9092, kafka-2:9093",
      PETREL_DNS_SERVERS: "[::1]:53,10.0.0.2,::1",
    });
    expect(c.kafkaBrokers).toEqual(["127.0.0.1:9092", "kafka-2:9093"]);
    expect(c.dnsServers).toEqual(["[::1]:53", "10.0.0.2", "::1"]);
  });

  it.each([
    [{ PETREL_HTTP_PORT: "eighty" }, "PETREL_HTTP_PORT"],
    [{ PETREL_SUBMISSION_PORT: "70000" }, "PETREL_SUBMISSION_PORT"],
    [{ PETREL_CLICKHOUSE_URL: "not a url" }, "PETREL_CLICKHOUSE_URL"],
    [{ PETREL_KAFKA_BROKERS: "a b:1" }, "PETREL_KAFKA_BROKERS"],
    [{ PETREL_LOG_LEVEL: "loud" }, "PETREL_LOG_LEVEL"],
    [{ PETREL_DNS_SERVERS: "dns.example:53" }, "PETREL_DNS_SERVERS"],
    [{ PETREL_DNS_SERVERS: "127.0.0.1:99999" }, "PETREL_DNS_SERVERS"],
    [{ PETREL_PARTITONS: "4" }, "PETREL_PARTITONS"],
  ])("names the key of a bad value: %o", (env, key) => {
    const e = errorOf(env as Record<string, string>);
    expect(e.key).toBe(key);
    expect(e.message).toContain(key);
  });

  it("names the key of a bad value in the file, and rejects unknown file keys", () => {
    const bad = file(JSON.stringify({ httpPort: "x" }));
    expect(errorOf({ PETREL_CONFIG: bad }).key).toMatch(/^httpPort/);
    const unknown = file(JSON.stringify({ htpPort: 1 }));
    expect(errorOf({ PETREL_CONFIG: unknown }).key).toBe("htpPort");
    expect(errorOf({ PETREL_CONFIG: file("{nope") }).key).toBe("PETREL_CONFIG");
    expect(errorOf({ PETREL_CONFIG: "/nonexistent/petrel.json" }).key).toBe("PETREL_CONFIG");
  });

  it("refuses two listeners on one port, naming both keys", () => {
    const e = errorOf({ PETREL_SUBMISSION_PORT: "2525", PETREL_SMTPS_PORT: "2525" });
    expect(e.key).toBe("PETREL_SMTPS_PORT");
    expect(e.message).toContain("PETREL_SUBMISSION_PORT");
    expect(errorOf({ PETREL_HTTP_PORT: "465" }).key).toBe("PETREL_HTTP_PORT");
    expect(() => loadConfig({ PETREL_SUBMISSION_PORT: "0", PETREL_SMTPS_PORT: "0" })).not.toThrow();
  });

  it("grows the analytics window up to its maximum, never below its floor, naming the key", () => {
    expect(loadConfig({})).toMatchObject({ analyticsFlushMs: 1_000, analyticsFlushMaxMs: 5_000 });
    // A floor set above the default ceiling raises the ceiling: a fixed window, as before.
    expect(loadConfig({ PETREL_ANALYTICS_FLUSH_MS: "8000" }).analyticsFlushMaxMs).toBe(8_000);
    expect(loadConfig({ PETREL_ANALYTICS_FLUSH_MAX_MS: "1000" }).analyticsFlushMaxMs).toBe(1_000);
    const e = errorOf({ PETREL_ANALYTICS_FLUSH_MS: "2000", PETREL_ANALYTICS_FLUSH_MAX_MS: "1500" });
    expect(e.key).toBe("PETREL_ANALYTICS_FLUSH_MAX_MS");
    expect(e.message).toContain("PETREL_ANALYTICS_FLUSH_MS");
  });

  it("masks the admin token when printed", () => {
    const c = loadConfig({ PETREL_ADMIN_TOKEN: "s3cret-token-0123456789" });
    expect(describeConfig(c).adminToken).toBe("***");
    expect(JSON.stringify(describeConfig(c))).not.toContain("s3cret");
  });
});

describe("cluster settings (X2: every secret shared through configuration)", () => {
  const KEY = Buffer.alloc(32, 5).toString("base64url");
  const CLUSTER = {
    PETREL_KAFKA_BROKERS: "127.0.0.1:9092",
    PETREL_HMAC_KEY: KEY,
    PETREL_ADMIN_TOKEN: "cluster-token-0123456789",
    PETREL_TLS_KEY: "/etc/petrel/tls.key",
    PETREL_TLS_CERT: "/etc/petrel/tls.crt",
    PETREL_CLICKHOUSE_URL: "http://clickhouse:8123",
  };
  const clusterError = (env: Record<string, string>): ConfigError => {
    try {
      checkClusterSettings(loadConfig(env));
    } catch (e) {
      if (e instanceof ConfigError) return e;
      throw e;
    }
    throw new Error("expected a ConfigError");
  };

  it("accepts a cluster with every shared setting, and the embedded mode with none", () => {
    expect(() => checkClusterSettings(loadConfig(CLUSTER))).not.toThrow();
    expect(() => checkClusterSettings(loadConfig({}))).not.toThrow();
    expect(loadConfig(CLUSTER).hmacKey).toBe(KEY);
  });

  it.each([
    "PETREL_HMAC_KEY",
    "PETREL_ADMIN_TOKEN",
    "PETREL_TLS_KEY",
    "PETREL_TLS_CERT",
    "PETREL_CLICKHOUSE_URL",
  ])("refuses a cluster without %s, naming it", (missing) => {
    const env: Record<string, string> = { ...CLUSTER };
    delete env[missing];
    const e = clusterError(env);
    expect(e.key).toBe(missing);
    expect(e.message).toContain("PETREL_KAFKA_BROKERS");
  });

  it("checks the HMAC key's form", () => {
    expect(errorOf({ PETREL_HMAC_KEY: "short" }).key).toBe("PETREL_HMAC_KEY");
    expect(errorOf({ PETREL_HMAC_KEY: `${KEY}=` }).key).toBe("PETREL_HMAC_KEY");
  });

  it("masks every secret when printed, a PEM key given as text too", () => {
    const pemKey = "-----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PRIVATE KEY-----\n";
    const c = loadConfig({ ...CLUSTER, PETREL_VERP_KEY: "verp-secret-0123456789", PETREL_TLS_KEY: pemKey });
    const d = describeConfig(c);
    expect(d).toMatchObject({ hmacKey: "***", adminToken: "***", verpKey: "***", tlsKey: "***" });
    expect(d.tlsCert).toBe("/etc/petrel/tls.crt");
    const text = JSON.stringify(d);
    for (const secret of [KEY, "verp-secret", "MIIsecret", "cluster-token"])
      expect(text).not.toContain(secret);
  });

  it("stops `npm start` with exit 78 and the key's name, before writing any secret", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "petrel-cluster-"));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      ...CLUSTER,
      PETREL_DATA_DIR: dataDir,
    };
    delete env.PETREL_HMAC_KEY;
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "main.ts"],
        { env, cwd: join(import.meta.dirname, "../.."), timeout: 30_000 },
        (err, _stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
      );
    });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/^petrel: config PETREL_HMAC_KEY: required with PETREL_KAFKA_BROKERS/);
    expect(existsSync(join(dataDir, "secrets.json"))).toBe(false);
  }, 40_000);
});
