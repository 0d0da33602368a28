/**
 * The one configuration schema (O2). Every key has an environment variable, a description and
 * a default; `loadConfig` merges defaults ← config file (PETREL_CONFIG, JSON) ← environment,
 * rejects unknown keys and names the key of any invalid value. The resulting object is passed
 * down explicitly; no module imports configuration globally.
 */
import { isIP } from "node:net";
import { hostname } from "node:os";
import { z } from "zod";
import { edgeConfigKeys, HMAC_KEY_PATTERN } from "./edge.ts";
import { key, parseKeys } from "./key.ts";

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
/** A resolver must be an IP address: resolving the resolver's own name would need a resolver. */
function isIpPort(s: string): boolean {
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(s) ?? /^([0-9.]+)(?::(\d{1,5}))?$/.exec(s);
  if (m) return isIP(m[1]!) !== 0 && (m[2] === undefined || Number(m[2]) <= 65535);
  return isIP(s) === 6;
}
const ipPort = list.pipe(
  z.array(z.string().refine(isIpPort, "expected an IP address, optionally with :port ([v6]:port)")),
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

export const configKeys = {
  dataDir: key(
    "PETREL_DATA_DIR",
    z.string().min(1).default("./data"),
    "Directory for the embedded log, chDB, content and generated secrets.",
  ),
  diskMinFreeBytes: key(
    "PETREL_DISK_MIN_FREE_BYTES",
    z.coerce
      .number()
      .int()
      .min(0)
      .default(256 * 1024 * 1024),
    "Free-space floor of the data dir (and of the local content store's volume): below it new messages get 452 4.3.1, leaving the rest for delivery, bounces and the log (Postfix's queue_minfree); 0 = no floor.",
  ),
  diskCheckIntervalMs: key(
    "PETREL_DISK_CHECK_INTERVAL_MS",
    z.coerce.number().int().min(50).max(3_600_000).default(5_000),
    "How often the free space of those volumes is measured (statfs); accepting resumes at the first measure above the floor.",
  ),
  analyticsFlushMs: key(
    "PETREL_ANALYTICS_FLUSH_MS",
    z.coerce.number().int().min(10).max(60_000).default(1_000),
    "How long the analytics sink gathers status events before one insert into ClickHouse (or 5,000 events, whichever comes first): an event shows in Activity about this much later. Every insert makes a part of `events` and of each statistics view, so shorter means more merging: 200 ms cost ~1 CPU-ms per accepted message more than 1,000 (BENCHMARKS.md).",
  ),
  analyticsFlushMaxMs: key(
    "PETREL_ANALYTICS_FLUSH_MAX_MS",
    z.coerce.number().int().min(10).max(60_000).optional(),
    "The longest the analytics sink gathers under a heavy stream: after each insert of 200 events or more (about 100 messages delivered in the window) the window doubles, up to this; after a lighter one it halves back to PETREL_ANALYTICS_FLUSH_MS. Each insert costs chDB about 0.1 CPU-s whatever its size, so a busy relay spends less on analytics while Activity trails by up to this much. Unset = 5,000, or PETREL_ANALYTICS_FLUSH_MS when that is longer; set, at least PETREL_ANALYTICS_FLUSH_MS (equal = a fixed window).",
  ),
  host: key("PETREL_HOST", z.string().min(1).default("0.0.0.0"), "Bind address of every listener."),
  hostname: key(
    "PETREL_HOSTNAME",
    z.string().min(1).optional(),
    "Name in SMTP banners and EHLO, and the SMTP server customers are told to connect to; unset = the machine's name in banners, and the dashboard warns that the server name is not configured.",
  ),
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
    "PEM private key: a path, or the PEM text itself (a secret); unset = self-signed pair in the data dir (refused with Kafka).",
  ),
  tlsCert: key(
    "PETREL_TLS_CERT",
    z.string().min(1).optional(),
    "PEM certificate (chain): a path, or the PEM text itself; unset = self-signed pair in the data dir (refused with Kafka).",
  ),
  dnsServers: key(
    "PETREL_DNS_SERVERS",
    ipPort.default([]),
    "Comma list of DNS resolvers as IP or IP:port ([v6]:port); empty = system resolvers.",
  ),
  smtpOutPort: key("PETREL_SMTP_OUT_PORT", port.default(25), "Port used for outbound delivery to MX hosts."),
  deliveryConcurrency: key(
    "PETREL_DELIVERY_CONCURRENCY",
    z.coerce.number().int().min(1).max(1000).default(10),
    "D5: simultaneous deliveries (and connections) per recipient domain.",
  ),
  deliveryPrefetch: key(
    "PETREL_DELIVERY_PREFETCH",
    z.coerce.number().int().min(0).max(16).default(2),
    "D5: attempts per connection of a recipient domain handed to the delivery workers ahead, read and signed, each taking the next connection that comes free (0 = none); connections stay at PETREL_DELIVERY_CONCURRENCY.",
  ),
  deliveryMaxHeldBytes: key(
    "PETREL_DELIVERY_MAX_HELD_BYTES",
    z.coerce
      .number()
      .int()
      .min(1024 * 1024)
      .default(256 * 1024 * 1024),
    "D5: message bytes this node's delivery attempts in flight may hold in memory at once, a quarter of it per recipient domain (each reads its message whole; a prefetched one keeps it while it waits for a connection); an attempt that would go past it waits before reading its message, one alone always runs.",
  ),
  dkimThreads: key(
    "PETREL_DKIM_THREADS",
    z.coerce.number().int().min(0).max(64).default(1),
    "D3: worker threads that make DKIM signatures (RSA signing is the costliest step of a delivery); 0 = sign on the main thread.",
  ),
  deliveryBatchRecipients: key(
    "PETREL_DELIVERY_BATCH_RECIPIENTS",
    z.coerce.number().int().min(1).max(1000).default(50),
    "D1: recipients of one message for one recipient domain sent in one SMTP transaction (one MAIL FROM, one DKIM signature, one RCPT each); 1 = one transaction per recipient.",
  ),
  deliveryMaxRetryHours: key(
    "PETREL_DELIVERY_MAX_RETRY_HOURS",
    z.coerce.number().min(0.01).max(720).default(72),
    "D6: how long a deferred recipient is retried before it becomes a soft bounce.",
  ),
  deliveryBackoffBaseSeconds: key(
    "PETREL_DELIVERY_BACKOFF_BASE_SECONDS",
    z.coerce.number().min(1).default(60),
    "D6: delay before the first retry; doubles on each further retry (±20 % jitter).",
  ),
  deliveryBackoffMaxSeconds: key(
    "PETREL_DELIVERY_BACKOFF_MAX_SECONDS",
    z.coerce
      .number()
      .min(1)
      .default(4 * 3600),
    "D6: upper bound of the delay between two attempts.",
  ),
  deliveryCircuitOpenSeconds: key(
    "PETREL_DELIVERY_CIRCUIT_OPEN_SECONDS",
    z.coerce.number().min(1).default(300),
    "D6: how long a domain found unreachable 5 attempts in a row (every MX refused, or its MX lookup failed for now) is left alone (its circuit open).",
  ),
  deliveryTimeoutSeconds: key(
    "PETREL_DELIVERY_TIMEOUT_SECONDS",
    z.coerce.number().min(1).default(300),
    "D2: per-command timeout of outbound SMTP (RFC 5321 §4.5.3.2); connect timeout is a tenth.",
  ),
  hmacKey: key(
    "PETREL_HMAC_KEY",
    z.string().regex(HMAC_KEY_PATTERN, "expected 32 random bytes in base64url (43 characters)").optional(),
    "Server key (a secret) of API key hashes, the SMTP AUTH cache and the VERP key unless set; the same on every node; unset = generated into <dataDir>/secrets.json (refused with Kafka).",
  ),
  verpKey: key(
    "PETREL_VERP_KEY",
    z.string().min(16).optional(),
    "D4: key of the VERP Return-Path MAC; unset = derived from the HMAC key.",
  ),
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
  ...edgeConfigKeys,
  // — S3 content store (X2): content goes to S3 when the bucket is set —
  s3Bucket: key(
    "PETREL_S3_BUCKET",
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "expected an S3 bucket name (3-63 of a-z 0-9 . -)")
      .optional(),
    "X2: S3 bucket for message content; set = content in S3, unset = local files in the data dir.",
  ),
  s3Endpoint: key(
    "PETREL_S3_ENDPOINT",
    z.url({ protocol: /^https?$/ }).optional(),
    "X2: endpoint URL of an S3-compatible server (MinIO, SeaweedFS, Ceph ...); unset = AWS S3 of the region.",
  ),
  s3Region: key(
    "PETREL_S3_REGION",
    z.string().min(1).default("us-east-1"),
    "X2: S3 region (signs requests).",
  ),
  s3AccessKeyId: key(
    "PETREL_S3_ACCESS_KEY_ID",
    z.string().min(1).optional(),
    "X2: S3 access key id; unset (with the secret) = the AWS SDK's default credentials (AWS_* env, instance role).",
  ),
  s3SecretAccessKey: key(
    "PETREL_S3_SECRET_ACCESS_KEY",
    z.string().min(1).optional(),
    "X2: S3 secret access key, set together with PETREL_S3_ACCESS_KEY_ID.",
  ),
  s3ForcePathStyle: key(
    "PETREL_S3_FORCE_PATH_STYLE",
    z
      .union([z.boolean(), z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1")])
      .default(false),
    "X2: path-style URLs (<endpoint>/<bucket>/<key>), as most self-hosted S3 servers need; false = virtual-hosted.",
  ),
  s3Prefix: key(
    "PETREL_S3_PREFIX",
    z
      .string()
      .regex(
        /^([A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*)?$/,
        "expected key path segments (A-Z a-z 0-9 . _ -) joined by /, no slash at either end",
      )
      .default("content"),
    "X2: key prefix of the content objects (<prefix>/<message id>.<random>); empty = the bucket's root.",
  ),
  contentCacheMb: key(
    "PETREL_CONTENT_CACHE_MB",
    z.coerce.number().int().min(0).max(65536).default(64),
    "X1/X2: MiB of recently stored messages a node keeps in memory, so that it delivers what it accepted without reading it back (a GetObject in S3; in the local store only messages of 16 KiB or more); 0 = off.",
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
    "Operator API token (a secret); unset = generated into <dataDir>/secrets.json (refused with Kafka).",
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
      .min(0.001)
      .max(24 * 30)
      .default(24),
    "Hours between periodic DNS re-verifications of an account's sending domains (C4).",
  ),
  // — SMTP submission limits (S3–S6, S13, S14; seed 001 "Service limits") —
  smtpMaxRecipients: key(
    "PETREL_SMTP_MAX_RECIPIENTS",
    z.coerce.number().int().min(1).default(50),
    "S5: recipients per message.",
  ),
  smtpMaxMessageBytes: key(
    "PETREL_SMTP_MAX_MESSAGE_BYTES",
    z.coerce
      .number()
      .int()
      .min(1024)
      .default(20 * 1024 * 1024),
    "S6: largest message accepted, attachments included (advertised as SIZE).",
  ),
  smtpSessionsPerUser: key(
    "PETREL_SMTP_SESSIONS_PER_USER",
    z.coerce.number().int().min(1).default(10),
    "S4: simultaneous sessions per SMTP user.",
  ),
  smtpSessionsPerAccount: key(
    "PETREL_SMTP_SESSIONS_PER_ACCOUNT",
    z.coerce.number().int().min(1).default(20),
    "S4: simultaneous sessions per account.",
  ),
  smtpSessionsPerIp: key(
    "PETREL_SMTP_SESSIONS_PER_IP",
    z.coerce.number().int().min(1).default(100),
    "S4: simultaneous connections per client IP.",
  ),
  smtpSessionLeaseMs: key(
    "PETREL_SMTP_SESSION_LEASE_MS",
    z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
    "S4: lease of a user/account session slot and of a per-IP connection slot; renewed while the session lives, lapses when it or its node dies.",
  ),
  smtpSessionCreditIdleMs: key(
    "PETREL_SMTP_SESSION_CREDIT_IDLE_MS",
    z.coerce.number().int().min(0).max(3_600_000).default(2_000),
    "S4: a node holds each SMTP user's session slots, and each client IP's connection slots, as one block leased from the account or client IP actor (issue 16), so opening and closing a session or a connection is a local count; a slot its sessions no longer use goes back after this long unused, until then another node may find the limit reached (the limits never overshoot). 0 = a closed session's or connection's slot goes back at once (an actor ask per close).",
  ),
  smtpQuotaCreditBlock: key(
    "PETREL_SMTP_QUOTA_CREDIT_BLOCK",
    z.coerce.number().int().min(0).max(100_000).default(100),
    "S8: recipients of monthly quota a node takes from the account actor at once as credit (a lease of smtpSessionLeaseMs; unused credit is handed back), so a recipient's reservation is a local decrement; near the end of the quota it reserves one by one. 0 = one actor ask per recipient.",
  ),
  smtpAuthMaxFailures: key(
    "PETREL_SMTP_AUTH_MAX_FAILURES",
    z.coerce.number().int().min(1).default(5),
    "S3: failed AUTHs from one IP before it is blocked.",
  ),
  smtpAuthWindowMs: key(
    "PETREL_SMTP_AUTH_WINDOW_MS",
    z.coerce
      .number()
      .int()
      .min(1)
      .default(15 * 60_000),
    "S3: window the failures are counted in.",
  ),
  smtpAuthBlockMs: key(
    "PETREL_SMTP_AUTH_BLOCK_MS",
    z.coerce
      .number()
      .int()
      .min(1)
      .default(15 * 60_000),
    "S3: how long a blocked IP stays blocked.",
  ),
  smtpIdleTimeoutMs: key(
    "PETREL_SMTP_IDLE_TIMEOUT_MS",
    z.coerce.number().int().min(100).default(60_000),
    "S13: idle time (no command, no data) before a session is closed.",
  ),
  smtpMaxSessionMs: key(
    "PETREL_SMTP_MAX_SESSION_MS",
    z.coerce
      .number()
      .int()
      .min(100)
      .default(30 * 60_000),
    "S13: total lifetime of one session.",
  ),
  smtpMaxBadCommands: key(
    "PETREL_SMTP_MAX_BAD_COMMANDS",
    z.coerce.number().int().min(1).default(10),
    "S13: unknown or refused commands before the session is closed.",
  ),
  smtpMaxHeaderBytes: key(
    "PETREL_SMTP_MAX_HEADER_BYTES",
    z.coerce
      .number()
      .int()
      .min(1024)
      .default(256 * 1024),
    "S13: largest header block of a message.",
  ),
  smtpMinDataRate: key(
    "PETREL_SMTP_MIN_DATA_RATE",
    z.coerce.number().int().min(1).default(1024),
    "S13: least average DATA bytes per second, checked once the idle timeout has passed; slower = 421.",
  ),
  smtpGreetingDelayMs: key(
    "PETREL_SMTP_GREETING_DELAY_MS",
    z.coerce.number().int().min(0).max(30_000).default(0),
    "S13: pause before the 220 greeting; a client that talks during it gets 421 (0 = greet at once).",
  ),
  sandboxDomain: key(
    "PETREL_SANDBOX_DOMAIN",
    z.string().min(1).default("sandbox.petrel.test"),
    "S14: reserved domain of test recipients (simulated outcomes, no quota).",
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

/** The name in SMTP banners and EHLO: `PETREL_HOSTNAME`, else the machine's name. */
export function smtpName(config: Pick<Config, "hostname">): string {
  return config.hostname ?? hostname();
}
export type ConfigKey = keyof Keys;

/** Every key's default: the one place defaults live (parts that need one read it from here). */
export const CONFIG_DEFAULTS: Config = parseKeys(configKeys, {});
