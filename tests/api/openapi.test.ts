/**
 * /openapi.json (X4, O3) is generated from the schemas that validate the input: every served
 * route is in it with its method, operation id, parameters, body and `x-petrel-auth`.
 */
import { describe, expect, it } from "vitest";
import { createApp } from "../../edge-api/app.ts";
import { V1_ROUTES } from "../../edge-api/v1/index.ts";

const app = createApp({ version: "9.9.9", readiness: () => ({ ready: true, checks: {} }) });
// biome-ignore lint/suspicious/noExplicitAny: the document is inspected field by field
const doc: any = await (await app.request("http://127.0.0.1/openapi.json")).json();

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1 with this version and the two security schemes", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.version).toBe("9.9.9");
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["bearer", "session"]);
  });

  it("holds the health routes", () => {
    for (const p of ["/healthz", "/readyz", "/metrics", "/openapi.json"])
      expect(doc.paths[p]?.get).toBeDefined();
  });

  it("holds every /v1 route of the route table, and no other /v1 route", () => {
    const documented = Object.entries(doc.paths)
      .filter(([p]) => p.startsWith("/v1"))
      .flatMap(([p, ops]) => Object.keys(ops as object).map((m) => `${m} ${p}`))
      .sort();
    expect(documented).toEqual(V1_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    for (const r of V1_ROUTES) {
      const op = doc.paths[r.path][r.method];
      expect(op.operationId).toBe(r.id);
      expect(op["x-petrel-auth"]).toEqual(r.requirement);
      const named = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      // Path parameters exactly; the read routes also document query parameters (in: "query").
      const inPath = (op.parameters ?? []).filter((p: { in: string }) => p.in === "path");
      expect(inPath.map((p: { name: string }) => p.name).sort()).toEqual(named);
      expect(op.responses["400"].content["application/json"].schema.$ref).toBe("#/components/schemas/Error");
    }
  });

  it("describes the bodies with the validating schemas", () => {
    const add = doc.components.schemas.AddMember;
    expect(add.required.sort()).toEqual(["email", "role"]);
    expect(add.properties.role.enum).toEqual(["admin", "regular", "custom"]);
    expect(add.properties.permissions.items.enum).toContain("smtp.activity");
    const key = doc.components.schemas.CreateApiKey;
    expect(key.properties.scopes.items.enum).toContain("billing:write");
    expect(doc.paths["/v1/members"].post.requestBody.content["application/json"].schema.$ref).toBe(
      "#/components/schemas/AddMember",
    );
    expect(doc.paths["/v1/admin/zone"].get.responses["200"].content["text/plain"]).toBeDefined();
    expect(doc.paths["/v1/smtp-users/{username}"].delete.responses["204"]).toBeDefined();
  });

  it("marks operator routes bearer-only and sign-in public", () => {
    expect(doc.paths["/v1/admin/accounts"].post.security).toEqual([{ bearer: [] }]);
    expect(doc.paths["/v1/members"].get.security).toEqual([{ bearer: [] }, { session: [] }]);
    expect(doc.paths["/v1/session"].post.security).toBeUndefined();
  });
});
