/**
 * A real single-node Apache Kafka broker (KRaft, combined broker + controller) for the tests.
 *
 * The jars come from Maven Central through Maven (tests/kafka/pom.xml → tests/kafka/target/lib),
 * so the only prerequisites are a JDK 17+ and Maven. Everything listens on 127.0.0.1 only.
 *
 *   npx tsx tests/kafka/broker.ts assemble   # fetch the jars only (CI install step)
 *   npx tsx tests/kafka/broker.ts run        # start, print PETREL_KAFKA_BROKERS=…, run until SIGINT/SIGTERM
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { freePort } from "../helpers/ports.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const POM = join(HERE, "pom.xml");
const LIB = join(HERE, "target", "lib");
const STAMP = ".pom-sha256";
const HOST = "127.0.0.1";

export interface KafkaBroker {
  /** Bootstrap address, e.g. "127.0.0.1:40123". */
  brokers: string;
  pid: number;
  /** Working directory: server.properties, data/, server.log. */
  dir: string;
  logFile: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Working directory; created if missing and kept on stop(). Default: a temp dir removed on stop(). */
  dir?: string;
  /** Client listener port; default a free port. */
  port?: number;
  /** How long to wait for the broker to serve requests. Default 120 s. */
  readyTimeoutMs?: number;
  /** Aborts a start in progress (the broker is killed and its temp dir removed). */
  signal?: AbortSignal;
}

// ---------------------------------------------------------------- assembly (Maven)

/**
 * Puts the broker's jars into tests/kafka/target/lib with `mvn dependency:copy-dependencies`.
 * Fast when they are there already (a stamp holds the pom's hash). Safe to run concurrently:
 * each run copies into its own directory and renames it into place.
 */
export async function assembleKafka(signal?: AbortSignal): Promise<string> {
  const hash = createHash("sha256")
    .update(await readFile(POM))
    .digest("hex");
  if (await stampMatches(hash)) return LIB;
  const staging = join(HERE, "target", `lib-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    await run(
      "mvn",
      [
        "-q",
        "-B",
        "-f",
        POM,
        "dependency:copy-dependencies",
        `-DoutputDirectory=${staging}`,
        "-DincludeScope=runtime",
      ],
      signal,
    );
    const jars = (await readdir(staging)).filter((f) => f.endsWith(".jar"));
    if (!jars.some((f) => /^kafka_2\.13-.*\.jar$/.test(f)))
      throw new Error(`mvn put no kafka jar in ${staging}`);
    await writeFile(join(staging, STAMP), hash);
    if (await stampMatches(hash)) return LIB; // another process won the race
    await rm(LIB, { recursive: true, force: true });
    try {
      await rename(staging, LIB);
    } catch (e) {
      if (!(await stampMatches(hash))) throw e;
    }
    return LIB;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function stampMatches(hash: string): Promise<boolean> {
  try {
    return (await readFile(join(LIB, STAMP), "utf8")).trim() === hash;
  } catch {
    return false;
  }
}

/** Runs a command to completion; on abort it is killed and awaited, so nothing outlives the call. */
function run(cmd: string, args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-64 * 1024);
    };
    proc.stdout.on("data", collect);
    proc.stderr.on("data", collect);
    const onAbort = () => {
      proc.kill("SIGTERM");
      setTimeout(() => proc.kill("SIGKILL"), 5000).unref();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    proc.once("error", (e) => {
      signal?.removeEventListener("abort", onAbort);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    proc.once("close", (code, sig) => {
      signal?.removeEventListener("abort", onAbort);
      if (signal?.aborted) reject(new Error(`${cmd} aborted`));
      else if (code === 0) resolve(output);
      else {
        const tailText = output.trim().split("\n").slice(-30).join("\n");
        reject(new Error(`${cmd} ${args.join(" ")} failed (${sig ?? `exit ${code}`})\n${tailText}`));
      }
    });
  });
}

// ---------------------------------------------------------------- configuration

/** A Kafka Uuid as text: 16 random bytes, URL-safe base64 without padding (never starting with "-"). */
function kafkaUuid(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

function serverProperties(o: { port: number; controllerPort: number; dataDir: string }): string {
  const props: Record<string, string | number | boolean> = {
    "process.roles": "broker,controller",
    "node.id": 1,
    "controller.quorum.voters": `1@${HOST}:${o.controllerPort}`,
    listeners: `PLAINTEXT://${HOST}:${o.port},CONTROLLER://${HOST}:${o.controllerPort}`,
    "advertised.listeners": `PLAINTEXT://${HOST}:${o.port}`,
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "log.dirs": o.dataDir,
    // One node, fast groups, no auto-created topics.
    "num.partitions": 1,
    "default.replication.factor": 1,
    "min.insync.replicas": 1,
    "offsets.topic.replication.factor": 1,
    "offsets.topic.num.partitions": 4,
    "transaction.state.log.replication.factor": 1,
    "transaction.state.log.min.isr": 1,
    "transaction.state.log.num.partitions": 4,
    "share.coordinator.state.topic.replication.factor": 1,
    "share.coordinator.state.topic.min.isr": 1,
    "auto.create.topics.enable": false,
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": 500,
    // Few threads: the machine has 2 cores and runs the tests too.
    "num.network.threads": 2,
    "num.io.threads": 2,
    "background.threads": 2,
    "num.recovery.threads.per.data.dir": 1,
    "log.cleaner.threads": 1,
    "log.cleaner.dedupe.buffer.size": 8 * 1024 * 1024,
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n")}\n`;
}

function log4jConfig(logFile: string): string {
  return [
    "status = warn",
    "shutdownHook = disable",
    "appender.file.type = File",
    "appender.file.name = FILE",
    `appender.file.fileName = ${logFile}`,
    "appender.file.layout.type = PatternLayout",
    "appender.file.layout.pattern = [%d] %p %m (%c)%n",
    "rootLogger.level = INFO",
    "rootLogger.appenderRef.file.ref = FILE",
    "logger.kafka.name = kafka",
    "logger.kafka.level = INFO",
    "logger.state.name = state.change.logger",
    "logger.state.level = WARN",
    "logger.request.name = kafka.request.logger",
    "logger.request.level = WARN",
    "",
  ].join("\n");
}

function javaBin(): string {
  const home = process.env.JAVA_HOME;
  if (home && existsSync(join(home, "bin", "java"))) return join(home, "bin", "java");
  return "java";
}

/** Cheap JVM flags: small heap, serial GC, C1 only (fast start, plenty for a test broker). */
function jvmArgs(dir: string, heap: { max: string; min: string }): string[] {
  return [
    `-Xmx${heap.max}`,
    `-Xms${heap.min}`,
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:-UsePerfData",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
    `-Dlog4j2.configurationFile=${join(dir, "log4j2.properties")}`,
    `-Dkafka.logs.dir=${dir}`,
    "-cp",
    `${LIB}/*`,
  ];
}

// ---------------------------------------------------------------- start / stop

export async function startKafkaBroker(opts: StartOptions = {}): Promise<KafkaBroker> {
  const { signal } = opts;
  await assembleKafka(signal);
  signal?.throwIfAborted();
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "petrel-kafka-")));
  await mkdir(dir, { recursive: true });
  const dataDir = join(dir, "data");
  const logFile = join(dir, "server.log");
  const stdoutFile = join(dir, "stdout.log");
  const propsFile = join(dir, "server.properties");
  const cleanup = () => (ownDir ? rm(dir, { recursive: true, force: true }) : Promise.resolve());

  let child: ChildProcess | undefined;
  let exited: Promise<number | string> | undefined;
  const killOnExit = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  try {
    const port = opts.port ?? (await freePort());
    let controllerPort = await freePort();
    while (controllerPort === port) controllerPort = await freePort();
    await rm(dataDir, { recursive: true, force: true });
    await writeFile(propsFile, serverProperties({ port, controllerPort, dataDir }));
    await writeFile(join(dir, "log4j2.properties"), log4jConfig(logFile));

    await run(
      javaBin(),
      [
        ...jvmArgs(dir, { max: "256m", min: "64m" }),
        "kafka.tools.StorageTool",
        "format",
        `--config=${propsFile}`,
        `--cluster-id=${kafkaUuid()}`,
        "--ignore-formatted",
      ],
      signal,
    );
    signal?.throwIfAborted();

    const out = openSync(stdoutFile, "a");
    child = spawn(javaBin(), [...jvmArgs(dir, { max: "512m", min: "256m" }), "kafka.Kafka", propsFile], {
      cwd: dir,
      stdio: ["ignore", out, out],
    });
    closeSync(out);
    const proc = child;
    const pid = proc.pid;
    if (pid === undefined) throw new Error("could not spawn java");
    const exit = new Promise<number | string>((resolve) =>
      proc.once("exit", (code, sig) => resolve(sig ?? code ?? "?")),
    );
    exited = exit;
    process.once("exit", killOnExit);

    const brokers = `${HOST}:${port}`;
    await waitReady(brokers, exit, opts.readyTimeoutMs ?? 120_000, signal).catch((e: Error) => {
      if (signal?.aborted) throw e;
      throw new Error(
        `${e.message}\n--- ${logFile} (tail) ---\n${tail(logFile)}\n--- stdout ---\n${tail(stdoutFile)}`,
      );
    });

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        if (proc.exitCode === null && proc.signalCode === null) {
          proc.kill("SIGTERM");
          const timer = setTimeout(killOnExit, 20_000);
          await exit;
          clearTimeout(timer);
        }
        process.removeListener("exit", killOnExit);
        await cleanup();
      })();
      return stopping;
    };
    return { brokers, pid, dir, logFile, stop };
  } catch (e) {
    killOnExit();
    await exited;
    process.removeListener("exit", killOnExit);
    await cleanup().catch(() => {});
    throw e;
  }
}

/** Ready = the broker answers metadata and the group coordinator (__consumer_offsets) is up. */
async function waitReady(
  brokers: string,
  exited: Promise<number | string>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let died: number | string | undefined;
  void exited.then((c) => {
    died = c;
  });
  let last: unknown;
  const kafka = new Kafka({
    clientId: "petrel-test-broker-probe",
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
  });
  while (Date.now() < deadline) {
    if (died !== undefined) throw new Error(`Kafka broker exited before it was ready (exit ${died})`);
    if (signal?.aborted) throw new Error("Kafka broker start aborted");
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0) {
        // Creates __consumer_offsets and waits for its coordinator, and has the broker hand out
        // a first producer id, so that the tests do not pay (and log errors) for either.
        await admin.fetchOffsets({ groupId: "petrel-broker-ready", topics: [] });
        const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
        try {
          await producer.connect();
        } finally {
          await producer.disconnect().catch(() => {});
        }
        return;
      }
    } catch (e) {
      last = e;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `Kafka broker not ready after ${timeoutMs} ms${last instanceof Error ? ` (last error: ${last.message})` : ""}`,
  );
}

function tail(file: string, lines = 60): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

// ---------------------------------------------------------------- CLI

async function main(cmd: string | undefined): Promise<void> {
  if (cmd === "assemble") {
    const t0 = Date.now();
    const lib = await assembleKafka();
    const jars = (await readdir(lib)).filter((f) => f.endsWith(".jar"));
    const kafkaJar = jars.find((f) => f.startsWith("kafka_2.13-")) ?? "?";
    console.log(`Kafka jars ready in ${lib} (${jars.length} jars, ${kafkaJar}) in ${Date.now() - t0} ms`);
    return;
  }
  if (cmd === "run") {
    const dir = process.env.PETREL_KAFKA_DIR;
    const port = process.env.PETREL_KAFKA_PORT ? Number(process.env.PETREL_KAFKA_PORT) : undefined;
    const t0 = Date.now();
    const abort = new AbortController();
    let stopRequested: (() => void) | undefined;
    const onSignal = (sig: NodeJS.Signals) => {
      console.error(`${sig}: stopping Kafka broker`);
      if (stopRequested) stopRequested();
      else abort.abort();
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const broker = await startKafkaBroker({
      ...(dir ? { dir } : {}),
      ...(port ? { port } : {}),
      signal: abort.signal,
    });
    console.error(`Kafka broker pid ${broker.pid} ready in ${Date.now() - t0} ms, log ${broker.logFile}`);
    console.log(`PETREL_KAFKA_BROKERS=${broker.brokers}`);
    await new Promise<void>((resolve) => {
      stopRequested = resolve;
      const poll = setInterval(() => {
        try {
          process.kill(broker.pid, 0);
        } catch {
          console.error(`Kafka broker pid ${broker.pid} died; see ${broker.logFile}`);
          process.exitCode = 1;
          resolve();
        }
      }, 1000);
      poll.unref();
    });
    await broker.stop();
    return;
  }
  console.error("usage: tsx tests/kafka/broker.ts assemble|run");
  process.exitCode = 2;
}

const invoked = process.argv[1];
if (invoked && import.meta.url === pathToFileURL(invoked).href) {
  main(process.argv[2]).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
