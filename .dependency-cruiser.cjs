/**
 * The house rules of the folders (README "Layout"), checked by tests/architecture/layers.test.ts.
 * Floors, lowest first: shared/ (the ground) ← actors/ ← ingress/ and edge-api/ ← the composition
 * root beside the entry files (relay*.ts, main*.ts). A folder imports only its own floor and the ones
 * below; ingress/ and edge-api/ do not import each other; nothing imports an entry file; no cycles.
 */
const ROOT_FILES = "^(relay|relay-app|relay-assets|main|main\\.deno)\\.tsx?$";
module.exports = {
  forbidden: [
    {
      name: "shared-is-the-ground",
      comment: "shared/ imports nothing above it (ingress/, actors/, edge-api/, the composition root).",
      severity: "error",
      from: { path: "^shared/" },
      to: { path: ["^(ingress|actors|edge-api)/", ROOT_FILES] },
    },
    {
      name: "actors-below-the-surfaces",
      comment:
        "actors/ stand on shared/ only: the SMTP and HTTP surfaces and the composition root are above them.",
      severity: "error",
      from: { path: "^actors/" },
      to: { path: ["^(ingress|edge-api)/", ROOT_FILES] },
    },
    {
      name: "surfaces-apart",
      comment: "ingress/ (SMTP) and edge-api/ (HTTP) do not import each other.",
      severity: "error",
      from: { path: "^ingress/" },
      to: { path: ["^edge-api/", ROOT_FILES] },
    },
    {
      name: "surfaces-apart-http",
      comment: "edge-api/ (HTTP) and ingress/ (SMTP) do not import each other.",
      severity: "error",
      from: { path: "^edge-api/" },
      to: { path: ["^ingress/", ROOT_FILES] },
    },
    {
      name: "no-circular",
      comment: "No import cycles.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|tests|data|test-artifacts)/" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: [".ts", ".tsx", ".js", ".d.ts"] },
  },
};
