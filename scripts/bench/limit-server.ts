// The physical limit beside the service: the least a Node process can do per request on this
// machine with this database. Bare node:http, no framework, no auth, no validation:
//   GET /constant   a constant JSON body (what HTTP alone costs)
//   GET /users/:id  one SELECT by primary key, over the one pg connection this worker holds (a
//                   prepared statement), the row as JSON
//   GET /readyz     200 once the connection is open
// One worker per CPU (node:cluster, sharing the port), as a process that uses the whole machine
// would. Started by the bench (servers.ts) with DATABASE_URL and PORT; measured in the same run.

import cluster from "node:cluster";
import { createServer, type ServerResponse } from "node:http";
import { availableParallelism } from "node:os";
import pg from "pg";

const { DATABASE_URL, PORT } = process.env;
if (!DATABASE_URL || !PORT) {
  console.error("limit-server.ts is started by the bench with DATABASE_URL and PORT");
  process.exit(2);
}

const CONSTANT = JSON.stringify({ ok: true });
const USER_BY_ID = {
  name: "limit-user-by-id",
  text: `select id, email, username, first_name, last_name, role, status, email_verified, created_at, updated_at from users where id = $1`,
};

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

if (cluster.isPrimary) {
  for (let i = 0; i < availableParallelism(); i++) cluster.fork();
  // A worker that dies takes the measurement with it: stop, and let the bench say so.
  cluster.on("exit", () => process.exit(1));
} else {
  await serve(DATABASE_URL, Number(PORT));
}

async function serve(databaseUrl: string, port: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();

  createServer((req, res) => {
    const url = req.url ?? "";
    if (url === "/constant") return send(res, 200, CONSTANT);
    if (url === "/readyz") return send(res, 200, CONSTANT);
    const id = url.startsWith("/users/") ? Number(url.slice("/users/".length)) : Number.NaN;
    if (!Number.isSafeInteger(id)) return send(res, 404, "{}");
    client.query({ ...USER_BY_ID, values: [id] }).then(
      ({ rows }) => (rows[0] ? send(res, 200, JSON.stringify(rows[0])) : send(res, 404, "{}")),
      () => send(res, 500, "{}"),
    );
  }).listen(port, "127.0.0.1");
}
