/**
 * What a Petrel cluster needs besides its nodes, all on loopback: one Apache Kafka broker (assembled
 * from Maven Central, tests/kafka/broker.ts), SeaweedFS as the S3 store (tests/helpers/seaweedfs.ts),
 * a ClickHouse HTTP endpoint (a real server when PETREL_TEST_CLICKHOUSE_URL is set, else the chDB
 * stand-in of tests/clickhouse/standin.ts), and the settings every node must share (X2): the
 * brokers, the ClickHouse URL and credentials, the S3 bucket, the admin token, the HMAC key and one
 * TLS certificate. Used by `npm run cluster:local` and the multi-node tests.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startClickHouseEndpoint } from "../clickhouse/standin.ts";
import { selfSignedPair } from "../helpers/daemon.ts";
import { startSeaweed } from "../helpers/seaweedfs.ts";
import { startKafkaBroker } from "../kafka/broker.ts";

export interface ClusterServices {
  /** PETREL_* settings every node gets. */
  settings: Record<string, string>;
  adminToken: string;
  stop(): Promise<void>;
}

export async function startClusterServices(
  o: { kafkaBrokers?: string; partitions?: number; log?(line: string): void } = {},
): Promise<ClusterServices> {
  const log = o.log ?? (() => {});
  const stops: (() => Promise<void>)[] = [];
  const dir = mkdtempSync(join(tmpdir(), "petrel-cluster-"));
  stops.push(async () => rmSync(dir, { recursive: true, force: true }));
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    let brokers = o.kafkaBrokers;
    if (!brokers) {
      const broker = await startKafkaBroker();
      stops.push(() => broker.stop());
      brokers = broker.brokers;
      log(`kafka broker ${brokers} (pid ${broker.pid})`);
    }
    const s3 = await startSeaweed("petrel-content");
    stops.push(() => s3.stop());
    log(`seaweedfs s3 ${s3.settings.endpoint} (pid ${s3.pid})`);
    const ch = await startClickHouseEndpoint();
    stops.push(() => ch.stop());
    log(`clickhouse ${ch.kind} ${ch.url}`);
    await selfSignedPair(dir, "localhost");
    const adminToken = randomBytes(24).toString("base64url");
    const settings: Record<string, string> = {
      PETREL_KAFKA_BROKERS: brokers,
      PETREL_PARTITIONS: String(o.partitions ?? 8),
      PETREL_CLICKHOUSE_URL: ch.url,
      PETREL_CLICKHOUSE_USER: ch.username,
      PETREL_CLICKHOUSE_PASSWORD: ch.password,
      PETREL_S3_BUCKET: s3.settings.bucket,
      PETREL_S3_ENDPOINT: s3.settings.endpoint ?? "",
      PETREL_S3_REGION: s3.settings.region,
      PETREL_S3_ACCESS_KEY_ID: s3.settings.accessKeyId ?? "",
      PETREL_S3_SECRET_ACCESS_KEY: s3.settings.secretAccessKey ?? "",
      PETREL_S3_FORCE_PATH_STYLE: String(s3.settings.forcePathStyle),
      PETREL_S3_PREFIX: s3.settings.prefix || "content",
      PETREL_ADMIN_TOKEN: adminToken,
      PETREL_HMAC_KEY: randomBytes(32).toString("base64url"),
      PETREL_TLS_KEY: join(dir, "key.pem"),
      PETREL_TLS_CERT: join(dir, "cert.pem"),
    };
    return { settings, adminToken, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
