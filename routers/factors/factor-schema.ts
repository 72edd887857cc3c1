import { z } from "zod";
import { FACTOR_KINDS, type FactorDescription } from "../../server/auth/second-factor/registry.ts";

export const ZFactor = z
  .object({
    kind: z.enum(FACTOR_KINDS),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
    remaining: z
      .number()
      .int()
      .optional()
      .meta({ description: "Recovery codes: how many are left unused" }),
    name: z.string().optional().meta({ description: "Passkeys: the name its owner gave it" }),
  })
  .meta({ id: "SecondFactor", description: "A registered second factor; never its secret" });

export const ZFactorList = z.object({ factors: z.array(ZFactor) });

export const toFactors = (factors: FactorDescription[]) => ({
  factors: factors.map((factor) => ({
    kind: factor.kind,
    createdAt: factor.createdAt.toISOString(),
    lastUsedAt: factor.lastUsedAt?.toISOString() ?? null,
    ...(factor.remaining !== undefined && { remaining: factor.remaining }),
    ...(factor.name !== undefined && { name: factor.name }),
  })),
});

export const ZRecoveryCodes = z
  .object({
    recoveryCodes: z
      .array(z.string())
      .meta({ description: "Ten single-use codes, shown this once: keep them somewhere safe" }),
  })
  .meta({ id: "RecoveryCodes" });
