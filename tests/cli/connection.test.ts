/** O4 / issue 14 point 7: the CLI's operator token is the relay's, never a stale generated one. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connection } from "../../shared/cli/run.ts";
import { loadServerSecrets } from "../../shared/security/secrets.ts";

const dir = mkdtempSync(join(tmpdir(), "petrel-cli-conn-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the CLI's operator token", () => {
  it("is the data dir's generated token, and none once the relay's token comes from its configuration", () => {
    const generated = loadServerSecrets(dir); // a first start without PETREL_ADMIN_TOKEN
    expect(connection({}, { PETREL_DATA_DIR: dir }).token).toBe(generated.adminToken);
    loadServerSecrets(dir, { adminToken: "configured-token-0123456789" }); // restarted with one
    expect(() => connection({}, { PETREL_DATA_DIR: dir })).toThrow(
      /the relay's PETREL_ADMIN_TOKEN comes from its configuration/,
    );
    const env = { PETREL_DATA_DIR: dir, PETREL_ADMIN_TOKEN: "configured-token-0123456789" };
    expect(connection({}, env).token).toBe("configured-token-0123456789");
  });
});
