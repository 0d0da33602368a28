/** S1/X2: the TLS pair from the configuration, as paths or as PEM text (one pair for every node). */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
