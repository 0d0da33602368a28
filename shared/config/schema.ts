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

/** A plan of the catalog (C6): JSON in the env var, an array in the config file. */
const planSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "plan names are lower-case words"),
  monthlyRecipients: z.number().int().min(0),
  priceCents: z.number().int().min(0),
  currency: z.string().regex(/^[A-Z]{3}$/, "ISO 4217 code"),
});
const planCatalog = z.preprocess(
  (v) => {
    if (typeof v !== "string") return v;
    try {
      return JSON.parse(v);
    } catch {
      return v; // reported by the array schema as not an array
    }
  },
  z
    .array(planSchema)
    .min(1)
    .refine((plans) => new Set(plans.map((p) => p.name)).size === plans.length, "plan names must be unique"),
);
const DEFAULT_PLANS = [
  { name: "free", monthlyRecipients: 1_000, priceCents: 0, currency: "USD" },
  { name: "starter", monthlyRecipients: 20_000, priceCents: 1_500, currency: "USD" },
  { name: "pro", monthlyRecipients: 100_000, priceCents: 5_000, currency: "USD" },
  { name: "business", monthlyRecipients: 500_000, priceCents: 20_000, currency: "USD" },
];

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
  providerMxHost: key(
    "PETREL_PROVIDER_MX_HOST",
    z.string().min(1).optional(),
    "MX host of every return-path target in the provider zone (D7 bounces); unset = mx.<providerDomain>.",
  ),
  providerSpf: key(
    "PETREL_PROVIDER_SPF",
    list
      .pipe(z.array(z.string().regex(/^(ip4:|ip6:|include:|a:|mx:|a$|mx$)\S*$/, "expected an SPF mechanism")))
      .default(["mx"]),
    "Comma list of SPF mechanisms (ip4:, ip6:, include:, a, mx) of the return-path targets; ends in -all.",
  ),
  providerNameServers: key(
    "PETREL_PROVIDER_NS",
    list.default([]),
    "Comma list of the provider zone's name servers in the exported zone; empty = ns1.<providerDomain>.",
  ),
  adminToken: key(
    "PETREL_ADMIN_TOKEN",
    z.string().min(16).optional(),
    "Operator API token; unset = generated into the data dir.",
  ),
  plans: key(
    "PETREL_PLANS",
    planCatalog.default(DEFAULT_PLANS),
    "Plan catalog (C6): JSON array of {name, monthlyRecipients, priceCents, currency}; default free/starter/pro/business.",
  ),
  accountRetentionDays: key(
    "PETREL_ACCOUNT_RETENTION_DAYS",
    z.coerce.number().int().min(0).max(3650).default(90),
    "Days a cancelled account's data is kept after its last period ends, then erased (C6).",
  ),
  domainReverifyHours: key(
    "PETREL_DOMAIN_REVERIFY_HOURS",
    z.coerce
      .number()
      .min(0.01)
      .max(24 * 30)
      .default(24),
    "Hours between periodic DNS re-verifications of an account's sending domains (C4).",
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
