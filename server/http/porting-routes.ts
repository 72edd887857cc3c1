import { Readable } from "node:stream";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import {
  auditExport,
  EXPORT_PATH,
  toExportedUser,
  ZExportInput,
} from "../../routers/users/export.ts";
import { startImport } from "../../routers/users/import.ts";
import { IMPORT_PATHS, ZImportFormat } from "../../routers/users/import-schema.ts";
import { authenticate, type Caller } from "../auth/authenticate.ts";
import { createContext, type Deps } from "../context.ts";
import { AppError, zodIssues } from "../errors/api-errors.ts";
import { requireRole } from "../permissions/permissions.ts";
import { exportUserPages } from "../porting/export-users.ts";
import { type RestRoute, requestInfo, restUrl, routePattern } from "./rest.ts";

const IMPORT_TYPES: Record<string, "ndjson" | "csv"> = {
  "application/x-ndjson": "ndjson",
  "application/ndjson": "ndjson",
  "text/csv": "csv",
};

const ZImportQuery = z.strictObject({
  format: ZImportFormat.optional(),
  dryRun: z.enum(["true", "false"]).optional(),
});

/**
 * The REST door for what JSON cannot carry well: an import file streamed as the request body, and
 * an export streamed as NDJSON. Both call what the procedures (routers/users/import.ts,
 * export.ts) call, at the paths those declare. The caller is checked (AppAdmin) before a byte
 * of an upload is read.
 */
export async function registerPortingRoutes(
  app: FastifyInstance,
  deps: Deps,
): Promise<RestRoute[]> {
  const importUrl = restUrl(IMPORT_PATHS.upload);
  const exportUrl = restUrl(EXPORT_PATH);

  await app.register(async (scope) => {
    // The body stays a stream: the import reads it as it arrives, bounded by IMPORT_MAX_BYTES.
    scope.addContentTypeParser(Object.keys(IMPORT_TYPES), (_req, payload, done) =>
      done(null, payload),
    );
    scope.addHook("onRequest", async (req) => {
      if (req.routeOptions.url !== importUrl && req.routeOptions.url !== exportUrl) return;
      await appAdmin(req);
    });

    scope.post(importUrl, async (req, reply) => {
      const caller = await appAdmin(req);
      const query = parse(ZImportQuery, req.query);
      const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
      const typeFormat = IMPORT_TYPES[type];
      if (!typeFormat || !(req.body instanceof Readable)) {
        throw new AppError(
          "UNSUPPORTED_MEDIA_TYPE",
          "Send the file as application/x-ndjson or text/csv",
        );
      }
      const job = await startImport(deps, caller, {
        format: query.format ?? typeFormat,
        dryRun: query.dryRun === "true",
        body: req.body,
      });
      return reply.code(202).send(job);
    });

    scope.get(exportUrl, async (req, reply) => {
      const caller = await appAdmin(req);
      const raw = req.query as Record<string, unknown>;
      const input = parse(ZExportInput, {
        ...raw,
        ...(raw.includePasswordHashes !== undefined && {
          includePasswordHashes:
            raw.includePasswordHashes === "true"
              ? true
              : raw.includePasswordHashes === "false"
                ? false
                : raw.includePasswordHashes,
        }),
      });
      const pages = exportUserPages(deps.db, {
        filter: input.$filter,
        cursorKey: deps.tokens.cursorKey,
        withHashes: input.includePasswordHashes,
        cursor: input.$skiptoken,
      });
      // The first page is read before answering, so a bad filter is still a 400.
      const first = await pages.next();
      await auditExport({ db: deps.db, user: caller }, input);
      async function* lines() {
        if (first.done) return;
        yield toLines(first.value.rows);
        for await (const page of pages) yield toLines(page.rows);
      }
      return reply
        .code(200)
        .header("Content-Type", "application/x-ndjson; charset=utf-8")
        .header("Cache-Control", "no-store")
        .send(Readable.from(lines()));
    });
  });

  return [
    { method: "POST", pattern: routePattern(importUrl) },
    { method: "GET", pattern: routePattern(exportUrl) },
  ];

  async function appAdmin(req: FastifyRequest): Promise<Caller> {
    const caller = await authenticate(createContext(deps, requestInfo(req)));
    requireRole(caller, "AppAdmin");
    return caller;
  }
}

const toLines = (rows: Parameters<typeof toExportedUser>[0][]) =>
  rows.map((row) => `${JSON.stringify(toExportedUser(row))}\n`).join("");

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new AppError("VALIDATION_ERROR", "Input failed validation", {
    issues: zodIssues(parsed.error),
  });
}
