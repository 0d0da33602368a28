/**
 * The dashboard's static files for the Node and Deno entries: the app's own files in
 * edge-api/web/assets/ and vendored libraries from node_modules (no build step at run time).
 * A fixed table of names — nothing else on disk can be asked for. Read once, then kept.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AssetLoader } from "./edge-api/web/index.tsx";

const own = (name: string) => fileURLToPath(new URL(`./edge-api/web/assets/${name}`, import.meta.url));
const require = createRequire(import.meta.url);

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

/** Asset name → file. */
const FILES: Record<string, () => string> = {
  "app.js": () => own("app.js"),
  "app.css": () => own("app.css"),
  "dashboard.js": () => own("dashboard.js"),
  "activity.js": () => own("activity.js"),
  // chart.js exports no subpath for its UMD build: resolve the package, then its dist folder.
  "vendor/chart.umd.js": () => join(dirname(require.resolve("chart.js")), "chart.umd.min.js"),
};

export function fileAssets(): AssetLoader {
  const cache = new Map<string, { body: Uint8Array; type: string }>();
  return async (name) => {
    const hit = cache.get(name);
    if (hit) return hit;
    const path = FILES[name];
    if (!path) return undefined;
    const body = await readFile(path()).catch(() => undefined);
    if (!body) return undefined;
    const asset = {
      body: new Uint8Array(body),
      type: TYPES[name.split(".").pop() ?? ""] ?? "application/octet-stream",
    };
    cache.set(name, asset);
    return asset;
  };
}
