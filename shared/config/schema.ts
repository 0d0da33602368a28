/**
 * The one configuration schema (O2). Every key has an environment variable, a description and
 * a default; `loadConfig` merges defaults ← config file (PETREL_CONFIG, JSON) ← environment,
 * rejects unknown keys and names the key of any invalid value. The resulting object is passed
 * down explicitly; no module imports configuration globally.
 */
import { hostname } from "node:os";
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65535);
const list = z.preprocess(
  (v) =>
    typeof v === "string"
      ? v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : v,
  z.array(z.string().min(1)),
);
const hostPort = list.pipe(
  z.array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:,]+)(:\d{1,5})?$/, "expected host or host:port")),
);

interface KeySpec {
  env: string;
  doc: string;
  schema: z.ZodType;
}

function key<S extends z.ZodType>(env: string, schema: S, doc: string) {
  return { env, schema, doc } satisfies KeySpec;
}

export const configKeys = {
  dataDir: key(
    "PETREL_DATA_DIR",
    z.string().min(1).default("./data"),
    "Directory for the embedded log, chDB, content and generated secrets.",
  ),
  host: key("PETREL_HOST", z.string().min(1).default("0.0.0.0"), "Bind address of every listener."),
  hostname: key("PETREL_HOSTNAME", z.string().min(1).default(hostname()), "Name in SMTP banners and EHLO."),
  submissionPort: key("PETREL_SUBMISSION_PORT", port.default(587), "SMTP submission port (STARTTLS)."),
  smtpsPort: key("PETREL_SMTPS_PORT", port.default(465), "SMTPS port (implicit TLS)."),
  bouncePort: key(
    "PETREL_BOUNCE_PORT",
    port.default(25),
    "Inbound port for delayed bounces to return-path hosts.",
  ),
  httpPort: key("PETREL_HTTP_PORT", port.default(8080), "HTTP port: API, dashboard, health and metrics."),
  tlsKey: key(
    "PETREL_TLS_KEY",
    z.string().min(1).optional(),
    "PEM private key path; unset = self-signed pair in the data dir.",
  ),
  tlsCert: key(
    "PETREL_TLS_CERT",
    z.string().min(1).optional(),
    "PEM certificate path; unset = self-signed pair in the data dir.",
  ),
  dnsServers: key(
    "PETREL_DNS_SERVERS",
    hostPort.default([]),
    "Comma list of DNS resolvers (host or host:port); empty = system resolvers.",
  ),
  smtpOutPort: key("PETREL_SMTP_OUT_PORT", port.default(25), "Port used for outbound delivery to MX hosts."),
  kafkaBrokers: key(
    "PETREL_KAFKA_BROKERS",
    hostPort.default([]),
    "Comma list of Kafka brokers; set = cluster bus, empty = embedded log.",
  ),
  partitions: key(
    "PETREL_PARTITIONS",
    z.coerce.number().int().min(1).max(1024).default(8),
    "Partitions per bus topic (actor placement unit).",
  ),
  clickhouseUrl: key(
    "PETREL_CLICKHOUSE_URL",
    z.url().optional(),
    "ClickHouse server URL; unset = chDB in the data dir.",
  ),
  providerDomain: key(
    "PETREL_PROVIDER_DOMAIN",
    z.string().min(1).default("petrel.localhost"),
    "Operator's zone that customers' CNAMEs point into.",
  ),
  adminToken: key(
    "PETREL_ADMIN_TOKEN",
    z.string().min(16).optional(),
    "Operator API token; unset = generated into the data dir.",
  ),
  nodeId: key(
    "PETREL_NODE_ID",
    z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/)
      .optional(),
    "This node's id in a cluster; unset = hostname-pid.",
  ),
  logLevel: key(
    "PETREL_LOG_LEVEL",
    z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    "Log level.",
  ),
  shutdownGraceMs: key(
    "PETREL_SHUTDOWN_GRACE_MS",
    z.coerce.number().int().min(0).default(30_000),
    "How long shutdown waits for in-flight work.",
  ),
} as const;

type Keys = typeof configKeys;
export type Config = { [K in keyof Keys]: z.output<Keys[K]["schema"]> };
export type ConfigKey = keyof Keys;
