// npm run openapi — writes the OpenAPI document to openapi.json (or the path given).
import { writeFileSync } from "node:fs";
import packageJson from "../package.json" with { type: "json" };
import { appRouter } from "../routers/router.ts";
import { loadConfig } from "../server/config.ts";
import { buildOpenApiDocument } from "../server/http/openapi.ts";

const target = process.argv[2] ?? "openapi.json";
const config = loadConfig();
const document = buildOpenApiDocument(appRouter, config.PUBLIC_URL, packageJson.version);
writeFileSync(target, `${JSON.stringify(document, null, 2)}\n`);
console.log(`wrote ${target}`);
