import { describe, expect, it } from "vitest";
import { isForbiddenAddress } from "../../server/webhooks/addresses.ts";
import { parseTargetUrl, resolveTarget } from "../../server/webhooks/target.ts";

describe("addresses a webhook may not reach", () => {
  it.each([
    "127.0.0.1",
    "127.1.2.3",
    "0.0.0.0",
    "10.0.0.1",
    "172.16.5.4",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
  ])("refuses %s", (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"])(
    "allows %s",
    (address) => {
      expect(isForbiddenAddress(address)).toBe(false);
    },
  );

  it("refuses what is not an address", () => {
    expect(isForbiddenAddress("localhost")).toBe(true);
  });

  it("checks IP literals in URLs (also the forms URL normalises) without asking DNS", async () => {
    const policy = { httpsOnly: false, allowPrivate: false };
    for (const url of [
      "http://127.0.0.1/",
      "http://[::1]/",
      "http://[::ffff:127.0.0.1]/",
      "http://2130706433/",
      "http://0x7f.1/",
      "http://017700000001/",
    ]) {
      await expect(resolveTarget(parseTargetUrl(url, policy), policy), url).rejects.toThrow(
        /reserved address/,
      );
    }
    await expect(resolveTarget(new URL("http://8.8.8.8/"), policy)).resolves.toEqual({
      address: "8.8.8.8",
      family: 4,
    });
  });

  it("refuses http in production, credentials and fragments", () => {
    const production = { httpsOnly: true, allowPrivate: false };
    expect(() => parseTargetUrl("http://hooks.example.com/", production)).toThrow(/https/);
    expect(parseTargetUrl("https://hooks.example.com/", production).hostname).toBe(
      "hooks.example.com",
    );
    expect(() => parseTargetUrl("https://u:p@hooks.example.com/", production)).toThrow(
      /credentials/,
    );
    expect(() => parseTargetUrl("https://hooks.example.com/#x", production)).toThrow(/fragment/);
    expect(() =>
      parseTargetUrl("ftp://hooks.example.com/", { ...production, httpsOnly: false }),
    ).toThrow();
  });
});
