/** OpenAPI document of the HTTP API (X4, O3). Routes under /v1 add their paths as they land. */
export function openApiDocument(version: string) {
  const error = {
    type: "object",
    required: ["code", "message"],
    properties: { code: { type: "string" }, message: { type: "string" } },
  };
  return {
    openapi: "3.1.0",
    info: { title: "Petrel API", version },
    components: { schemas: { Error: error } },
    paths: {
      "/healthz": {
        get: { summary: "Liveness", responses: { "200": { description: "The process is alive." } } },
      },
      "/readyz": {
        get: {
          summary: "Readiness to accept mail",
          responses: {
            "200": { description: "Ready: bus, actors and analytics store are up." },
            "503": { description: "Still starting or shutting down; `checks` says which part is not ready." },
          },
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics",
          responses: { "200": { description: "Text exposition format." } },
        },
      },
      "/openapi.json": {
        get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1 document." } } },
      },
    },
  };
}
