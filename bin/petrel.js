#!/usr/bin/env node
// The `petrel` operator CLI (O4): registers tsx so Node can load the TypeScript sources, then
// runs shared/cli/main.ts.
import { register } from "tsx/esm/api";

register();
await import("../shared/cli/main.ts");
