import createClient, { type Client } from "openapi-fetch";
import type { paths } from "../../scripts/generated/openapi-types.ts";
import type { Session } from "./session.ts";

/** Only an expired or ended access token is worth a refresh (a wrong password is 401 too). */
async function refusedToken(response: Response): Promise<boolean> {
  if (response.status !== 401) return false;
  const body: unknown = await response
    .clone()
    .json()
    .catch(() => undefined);
  return (body as { code?: unknown } | undefined)?.code === "UNAUTHENTICATED";
}

function withBearer(request: Request, accessToken: string): Request {
  request.headers.set("authorization", `Bearer ${accessToken}`);
  return request;
}

/**
 * The REST paths (`/api/…`), typed by the OpenAPI document: `rest.GET("/users/me")`. Calls carry
 * the session's access token; a call refused for it is sent once more after the session renews.
 */
export function createRestClient(session: Session): Client<paths> {
  return createClient<paths>({
    baseUrl: `${session.baseUrl}/api`,
    fetch: async (request) => {
      const accessToken = session.tokens?.accessToken;
      if (accessToken === undefined) return session.fetch(request);
      // A body can be sent once; the copy is what a retry sends.
      const retry = request.clone();
      const response = await session.fetch(withBearer(request, accessToken));
      if (!(await refusedToken(response))) return response;
      const renewed = await session.renew(accessToken);
      return renewed === undefined ? response : session.fetch(withBearer(retry, renewed));
    },
  });
}
