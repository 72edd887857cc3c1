// A streaming replica of a running PostgreSQL server, made as an operator would: pg_basebackup -R
// (copy + standby.signal + primary_conninfo) into /tmp, started with the cluster's own postgres
// binary (as the postgres OS user when the suite runs as root) on a port of its own.

import { chownSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  adminQuery,
  type Cluster,
  clusterOn,
  createCluster,
  freePort,
  PG_SERVER_URL,
  pgBinDir,
  postgresIds,
  runPg,
  waitFor,
} from "./helpers.ts";

/** What a hot standby must have at least as much of as its primary. */
const AT_LEAST_THE_PRIMARYS = [
  "max_connections",
  "max_worker_processes",
  "max_wal_senders",
  "max_prepared_transactions",
  "max_locks_per_transaction",
];

export type Replication = {
  /** The primary's server URL (database `postgres`): the machine's, or a throwaway cluster's. */
  primaryUrl: string;
  /** Why the machine's server was not used (its pg_hba.conf refuses replication from 127.0.0.1). */
  fallbackReason: string | undefined;
  replica: Cluster;
  /** Stops and removes the replica (and a throwaway primary). Never throws. */
  destroy: () => void;
};

/**
 * A replica of the machine's PostgreSQL (PG_SERVER_URL) when it accepts replication connections
 * from 127.0.0.1 (.ci/run sees to it); otherwise of a throwaway primary made with initdb (whose
 * pg_hba.conf allows it), so the suite runs on a developer's machine without reconfiguring its
 * server. Returns once the replica is streaming.
 */
export async function startReplication(): Promise<Replication> {
  let fallback: Cluster | undefined;
  let fallbackReason: string | undefined;
  let replica: Cluster;
  try {
    replica = await startReplica(PG_SERVER_URL);
  } catch (error) {
    if (!/pg_hba\.conf|replication connection/i.test((error as Error).message)) throw error;
    fallbackReason = "the machine's pg_hba.conf has no `host replication` line for 127.0.0.1";
    fallback = await createCluster();
    fallback.start();
    replica = await startReplica(fallback.url);
  }
  return {
    primaryUrl: fallback?.url ?? PG_SERVER_URL,
    fallbackReason,
    replica,
    destroy: () => {
      replica.destroy();
      fallback?.destroy();
    },
  };
}

async function startReplica(primaryUrl: string): Promise<Cluster> {
  const bin = pgBinDir();
  if (!bin) throw new Error("no PostgreSQL binaries");
  const dir = mkdtempSync(join(tmpdir(), "users-api-replica-"));
  const data = join(dir, "data");
  const owner = process.getuid?.() === 0 ? postgresIds() : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const settings = await Promise.all(
    AT_LEAST_THE_PRIMARYS.map(async (name) => {
      const { rows } = await adminQuery(primaryUrl, `show ${name}`);
      return `-c ${name}=${rows[0]?.[name]}`;
    }),
  );
  const port = await freePort();
  const cluster = clusterOn({
    bin,
    dir,
    data,
    log: join(dir, "postgres.log"),
    port,
    // After the base options (max_connections=50): the primary's, which a standby needs.
    serverOptions: ["-c hot_standby=on", ...settings].join(" "),
  });
  try {
    runPg(join(bin, "pg_basebackup"), [
      "-d",
      primaryUrl,
      "-D",
      data,
      "-R",
      "-X",
      "stream",
      "-c",
      "fast",
      "--no-sync",
    ]);
    // A Debian cluster keeps its configuration in /etc/postgresql: the copy has none of it.
    for (const [file, text] of [
      ["postgresql.conf", "# replica for the reliability suite; settings on the command line\n"],
      ["pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n"],
      ["pg_ident.conf", ""],
    ] as const) {
      const path = join(data, file);
      if (existsSync(path)) continue;
      writeFileSync(path, text);
      if (owner) chownSync(path, owner.uid, owner.gid);
    }
    cluster.start();
    await waitFor(
      "the replica to stream",
      async () => {
        const { rows } = await adminQuery(
          cluster.url,
          "select pg_is_in_recovery() as standby, status from pg_stat_wal_receiver",
        );
        return rows[0]?.status === "streaming";
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    return cluster;
  } catch (error) {
    cluster.destroy();
    throw error;
  }
}
