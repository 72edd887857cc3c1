// The package's `./client` entry (`@users-api/users-api/client`): what a TypeScript program needs
// to call the service through either door with full types. Only types come from the rest of the
// project, so the built entry carries no server code (scripts/build-client.ts checks it).

export type { components, paths } from "../../scripts/generated/openapi-types.ts";
export type { AppRouter } from "../router.ts";
export { createRestClient } from "./rest.ts";
export {
  createSession,
  type Fetch,
  isTokenPair,
  type Session,
  type SessionOptions,
  type TokenPair,
} from "./session.ts";
export { createTrpcClient } from "./trpc.ts";
