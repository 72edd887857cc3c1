import { describe, expect, it } from "vitest";
import { relyingParty } from "../../server/auth/passkeys/index.ts";
import { ConfigError, loadConfig } from "../../server/config.ts";

// The relying party comes from the settings, never from a request.

const config = (env: Record<string, string>) => loadConfig({ NODE_ENV: "test", ...env });

describe("the WebAuthn relying party", () => {
  it("is APP_URL's host by default, with the app's and the service's origins", () => {
    const rp = relyingParty(
      config({ PUBLIC_URL: "https://app.example.com/api/", APP_URL: "https://app.example.com" }),
    );
    expect(rp).toEqual({
      id: "app.example.com",
      name: "Users API",
      origins: ["https://app.example.com"],
    });
  });

  it("takes a parent domain, and keeps only the origins inside it", () => {
    const rp = relyingParty(
      config({
        PUBLIC_URL: "https://users.other.net",
        APP_URL: "https://app.example.com:8443",
        WEBAUTHN_RP_ID: "example.com",
        WEBAUTHN_RP_NAME: "Example",
      }),
    );
    expect(rp).toEqual({
      id: "example.com",
      name: "Example",
      origins: ["https://app.example.com:8443"],
    });
  });

  it("refuses an id that is not APP_URL's host or a parent of it, or not a host name", () => {
    for (const id of [
      "other.com",
      "ample.com",
      "app.example.com.evil",
      "Example.com",
      "exa mple.com",
    ]) {
      expect(() => config({ APP_URL: "https://app.example.com", WEBAUTHN_RP_ID: id }), id).toThrow(
        ConfigError,
      );
    }
  });
});
