import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, describeConfig, loadConfig } from "../../shared/config/load.ts";

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

  it("masks the admin token when printed", () => {
    const c = loadConfig({ PETREL_ADMIN_TOKEN: "s3cret-token-0123456789" });
    expect(describeConfig(c).adminToken).toBe("***");
    expect(JSON.stringify(describeConfig(c))).not.toContain("s3cret");
  });
});
