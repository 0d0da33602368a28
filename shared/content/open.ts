/**
 * Picks the content store from the configuration (X1/X2): S3 when `s3Bucket` is set, else the
 * local files under `<dataDir>/content`; either keeps `contentCacheMb` of what it stored lately in
 * memory for the deliveries (recent.ts).
 */
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { LocalContentStore } from "./local.ts";
import { S3ContentStore } from "./s3.ts";
import type { ContentStore } from "./store.ts";

type ContentConfig = Pick<
  Config,
  | "s3Bucket"
  | "s3Endpoint"
  | "s3Region"
  | "s3AccessKeyId"
  | "s3SecretAccessKey"
  | "s3ForcePathStyle"
  | "s3Prefix"
  | "contentCacheMb"
>;

export async function openContentStore(config: ContentConfig, dataDir: string): Promise<ContentStore> {
  if (!config.s3Bucket)
    return LocalContentStore.open(join(dataDir, "content"), {
      cacheBytes: config.contentCacheMb * 1024 * 1024,
    });
  return S3ContentStore.open({
    bucket: config.s3Bucket,
    endpoint: config.s3Endpoint,
    region: config.s3Region,
    accessKeyId: config.s3AccessKeyId,
    secretAccessKey: config.s3SecretAccessKey,
    forcePathStyle: config.s3ForcePathStyle,
    prefix: config.s3Prefix,
    cacheBytes: config.contentCacheMb * 1024 * 1024,
  });
}
