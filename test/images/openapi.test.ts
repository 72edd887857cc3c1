import { forEachOpenApiProcedure } from "trpc-to-openapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imagesRouter } from "../../routers/images/router.ts";
import { documentImageRoutes } from "../../server/http/image-openapi.ts";
import { buildOpenApiDocument } from "../../server/http/openapi.ts";
import { proceduresOf } from "../../server/http/trpc-wire.ts";
import { type Meta, router } from "../../server/trpc.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

// biome-ignore lint/suspicious/noExplicitAny: the test walks a JSON document it asserts on
type Json = Record<string, any>;

const document = documentImageRoutes(
  buildOpenApiDocument(router({ images: imagesRouter }), "http://localhost:3000", "0.0.0"),
) as Json;

describe("the OpenAPI document of the image operations", () => {
  it("documents the upload as multipart/form-data with one binary image", () => {
    const upload = document.paths["/users/profile/image"].post;
    expect(Object.keys(upload.requestBody.content)).toEqual(["multipart/form-data"]);
    const schema = upload.requestBody.content["multipart/form-data"].schema;
    expect(schema.properties.image).toMatchObject({ type: "string", format: "binary" });
    expect(schema.required).toEqual(["image"]);
    expect(upload.responses["200"].content["application/json"].schema.$ref).toBe(
      "#/components/schemas/ProfileImageUpload",
    );
    expect(Object.keys(upload.responses)).toEqual(
      expect.arrayContaining(["400", "401", "413", "415", "503"]),
    );
  });

  it("documents both GETs as image bytes by Accept (WebP, JPEG, PNG) with ETag, Vary, 304", () => {
    for (const path of ["/users/profile/image", "/users/{id}/profile/image"]) {
      const get = document.paths[path].get;
      expect(get.responses["200"].content).toEqual({
        "image/webp": { schema: { type: "string", format: "binary" } },
        "image/jpeg": { schema: { type: "string", format: "binary" } },
        "image/png": { schema: { type: "string", format: "binary" } },
      });
      expect(get.responses["200"].headers.ETag).toBeDefined();
      expect(get.responses["200"].headers.Vary.schema.example).toMatch(/Accept/);
      expect(get.responses["304"]).toBeDefined();
      expect(get.responses["404"].content["application/json"].schema.$ref).toBe(
        "#/components/schemas/Error",
      );
      const names = get.parameters.map((p: Json) => `${p.in}:${p.name}`);
      expect(names).toContain("header:If-None-Match");
      expect(names).toContain("header:Accept");
      expect(names).not.toContain("query:withData");
      expect(names).not.toContain("query:accept");
    }
    expect(document.paths["/users/{id}/profile/image"].get.parameters[0]).toMatchObject({
      in: "path",
      name: "id",
      required: true,
    });
    expect(document.components.schemas.ProfileImage).toBeUndefined();
  });

  it("leaves DELETE as generated (JSON)", () => {
    const del = document.paths["/users/profile/image"].delete;
    expect(del.responses["200"].content["application/json"]).toBeDefined();
  });
});

describe("thin routes", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("serve exactly the procedures marked rawRoute (server/http/rest.ts skips those)", async () => {
    const raw: string[] = [];
    const mapped: string[] = [];
    forEachOpenApiProcedure<Meta>(proceduresOf(imagesRouter), ({ meta }) => {
      const route = `${meta.openapi.method} /api${meta.openapi.path.replace(/\{(\w+)\}/g, ":$1")}`;
      ((meta as { rawRoute?: boolean }).rawRoute ? raw : mapped).push(route);
    });
    expect(raw.sort()).toEqual([
      "GET /api/users/:id/profile/image",
      "GET /api/users/profile/image",
      "POST /api/users/profile/image",
    ]);
    expect(mapped).toEqual(["DELETE /api/users/profile/image"]);
    await t.app.ready();
    for (const route of raw) {
      const [method, url] = route.split(" ") as [string, string];
      expect(t.app.hasRoute({ method: method as "GET", url }), route).toBe(true);
    }
  });
});
