/** S1/X2: the TLS pair from the configuration, as paths or as PEM text (one pair for every node). */
import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "selfsigned";
import { afterAll, describe, expect, it } from "vitest";
import { loadTls } from "../../ingress/tls.ts";

const dir = mkdtempSync(join(tmpdir(), "petrel-tls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("configured TLS pair", () => {
  it("reads paths, PEM text, and PEM text whose line breaks came as literal \\n", async () => {
    const made = await loadTls({ dataDir: dir, hostname: "relay.test" });
    expect(made.generated).toBe(true);
    const key = made.key.toString();
    const cert = made.cert.toString();
    writeFileSync(join(dir, "k.pem"), key);
    writeFileSync(join(dir, "c.pem"), cert);
    const other = mkdtempSync(join(dir, "node-b-"));
    for (const [tlsKey, tlsCert] of [
      [join(dir, "k.pem"), join(dir, "c.pem")],
      [key, cert],
      [key.replaceAll("\n", "\\n"), cert.replaceAll("\n", "\\n")],
    ] as const) {
      const t = await loadTls({ dataDir: other, hostname: "relay.test", tlsKey, tlsCert });
      expect({ generated: t.generated, selfSigned: t.selfSigned }).toEqual({
        generated: false,
        selfSigned: false,
      });
      expect(t.key.toString()).toBe(key);
      expect(t.cert.toString()).toBe(cert);
    }
  });
});

describe("generated self-signed certificate (issue 14 point 8)", () => {
  it("names the hostname and localhost as DNS entries, 127.0.0.1 and ::1 as IP entries", async () => {
    const t = await loadTls({ dataDir: mkdtempSync(join(dir, "gen-")), hostname: "Relay.Example.com" });
    const x = new X509Certificate(t.cert);
    expect(x.subjectAltName?.split(", ")).toEqual([
      "DNS:relay.example.com",
      "DNS:localhost",
      "IP Address:127.0.0.1",
      "IP Address:0:0:0:0:0:0:0:1",
    ]);
    expect(x.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(x.checkIP("::1")).toBe("::1");
    expect(x.checkHost("localhost", { subject: "never" })).toBe("localhost");
    // The fingerprint as `openssl x509 -fingerprint -sha256` prints it: 32 colon-separated hex pairs.
    expect(t.sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(t.sha256).toBe(x.fingerprint256);
  });

  it("an address as hostname is an IP entry; a kept pair is reused with the same fingerprint", async () => {
    const d = mkdtempSync(join(dir, "ip-"));
    const t = await loadTls({ dataDir: d, hostname: "192.0.2.7" });
    expect(new X509Certificate(t.cert).subjectAltName?.split(", ")).toEqual([
      "DNS:localhost",
      "IP Address:192.0.2.7",
      "IP Address:127.0.0.1",
      "IP Address:0:0:0:0:0:0:0:1",
    ]);
    const again = await loadTls({ dataDir: d, hostname: "192.0.2.7" });
    expect({ generated: again.generated, sha256: again.sha256 }).toEqual({
      generated: false,
      sha256: t.sha256,
    });
  });

  it("a kept pair without the loopback names (generated before) is generated again", async () => {
    const d = mkdtempSync(join(dir, "old-"));
    const old = await generate([{ name: "commonName", value: "relay.test" }], {
      keyType: "rsa",
      keySize: 2048,
      extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: "relay.test" }] }],
    });
    mkdirSync(join(d, "tls"));
    writeFileSync(join(d, "tls", "self-signed.key.pem"), old.private);
    writeFileSync(join(d, "tls", "self-signed.cert.pem"), old.cert);
    const t = await loadTls({ dataDir: d, hostname: "relay.test" });
    expect(t.generated).toBe(true);
    expect(new X509Certificate(t.cert).checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(readFileSync(join(d, "tls", "self-signed.cert.pem")).equals(t.cert)).toBe(true);
  });

  it("a configured pair reports its own fingerprint and is not self-signed", async () => {
    const made = await loadTls({ dataDir: mkdtempSync(join(dir, "cfg-")), hostname: "relay.test" });
    const t = await loadTls({
      dataDir: mkdtempSync(join(dir, "cfg2-")),
      hostname: "relay.test",
      tlsKey: made.key.toString(),
      tlsCert: made.cert.toString(),
    });
    expect({ selfSigned: t.selfSigned, sha256: t.sha256 }).toEqual({
      selfSigned: false,
      sha256: made.sha256,
    });
  });
});
