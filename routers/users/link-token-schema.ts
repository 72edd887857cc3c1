import { z } from "zod";

/** The `token` query parameter of an emailed link, as the frontend passes it on. */
export const ZLinkToken = z
  .string()
  .trim()
  .min(1)
  .max(512)
  .meta({ description: "The `token` parameter of the emailed link" });
