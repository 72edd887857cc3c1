import type { OpenAPIObject } from "trpc-to-openapi";
import { EXPORT_PATH } from "../../routers/users/export.ts";
import { IMPORT_PATHS } from "../../routers/users/import-schema.ts";

type Operation = {
  parameters?: unknown[];
  requestBody?: unknown;
  responses?: Record<string, unknown>;
  [key: string]: unknown;
};

const operation = (document: OpenAPIObject, path: string, method: string) =>
  (document.paths?.[path] as Record<string, Operation> | undefined)?.[method];

/**
 * What the REST door of the moving-in-and-out operations really takes and answers, where the
 * procedures' JSON schemas say otherwise: the import's body is the file itself (its JSON input is
 * the native door's), the export answers NDJSON, and DELETE /users/me reads a JSON body
 * (trpc-to-openapi puts a DELETE's input in the query, where a password must never go).
 */
export function documentPortingRoutes(document: OpenAPIObject): OpenAPIObject {
  const upload = operation(document, IMPORT_PATHS.upload, "post");
  if (upload) {
    upload.parameters = [
      {
        in: "query",
        name: "format",
        required: false,
        description: "The file's format; by default the one its Content-Type names",
        schema: { type: "string", enum: ["ndjson", "csv"] },
      },
      {
        in: "query",
        name: "dryRun",
        required: false,
        description: "Check every row and write nothing",
        schema: { type: "boolean", default: false },
      },
    ];
    upload.requestBody = {
      required: true,
      description:
        "The file, streamed: at most IMPORT_MAX_BYTES (413 beyond), 2,000,000 rows, 16 KiB a row",
      content: {
        "application/x-ndjson": {
          schema: { type: "string" },
          example:
            '{"email":"ada@example.com","username":"ada","firstName":"Ada","lastName":"Lovelace","passwordHash":"$2b$10$…","memberships":[{"organizationId":1,"role":"Member"}]}\n',
        },
        "text/csv": {
          schema: { type: "string" },
          example:
            "email,username,firstName,lastName,role,emailVerified,passwordHash,memberships\nada@example.com,ada,Ada,Lovelace,User,true,,1:Member\n",
        },
      },
    };
  }

  const download = operation(document, EXPORT_PATH, "get");
  const ok = download?.responses?.[200] as { content?: Record<string, unknown> } | undefined;
  if (ok) {
    ok.content = {
      "application/x-ndjson": {
        schema: { type: "string", description: "One ExportedUser (JSON) a line" },
        example:
          '{"id":1,"email":"ada@example.com","username":"ada","firstName":"Ada","lastName":"Lovelace","status":"active","role":"User","emailVerified":true,"createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z","lastLoginAt":null}\n',
      },
    };
  }

  const deleteMe = operation(document, "/users/me", "delete");
  if (deleteMe) {
    const password = (deleteMe.parameters ?? []).find(
      (p) => (p as { name?: string }).name === "currentPassword",
    ) as { schema?: unknown } | undefined;
    deleteMe.parameters = (deleteMe.parameters ?? []).filter((p) => p !== password);
    deleteMe.requestBody = {
      required: true,
      content: {
        "application/json": {
          schema: {
            type: "object",
            properties: { currentPassword: password?.schema ?? { type: "string" } },
            required: ["currentPassword"],
            additionalProperties: false,
          },
        },
      },
    };
  }
  return document;
}
