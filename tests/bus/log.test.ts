/** The bus contract on the embedded durable log. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { busContract } from "./bus.case.ts";

busContract("embedded log", async () => {
  const dir = mkdtempSync(join(tmpdir(), "petrel-bus-"));
  const bus = await LogBus.open({ dir });
  return {
    bus,
    cleanup: async () => {
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
