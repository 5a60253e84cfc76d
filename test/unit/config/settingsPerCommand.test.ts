import { describe, expect, it } from "vitest";
import { loadSettings } from "../../../shared/config/settings.js";
import { problemsOf, validEnv } from "./factories.js";

describe("settings required where they are used (ADMIN_API_KEY)", () => {
  it("lets a command that serves no HTTP routes (npm run sync) load settings without ADMIN_API_KEY", () => {
    const settings = loadSettings(validEnv({ ADMIN_API_KEY: undefined }), { serveHttp: false });

    expect(settings.adminApiKey).toBeUndefined();
    expect(settings.app.apiKey).toBe("app-api-key-value");
  });

  it("requires ADMIN_API_KEY, by name and saying why, where the HTTP routes are served (the default)", () => {
    for (const use of [undefined, { serveHttp: true }]) {
      const problems = problemsOf(() => loadSettings(validEnv({ ADMIN_API_KEY: "  " }), use));

      expect(problems).toEqual([expect.stringMatching(/^ADMIN_API_KEY: required where the HTTP routes are served \(npm start, the Functions app\)/)]);
    }
  });

  it("still checks an ADMIN_API_KEY that is set, even where it is not required", () => {
    const problems = problemsOf(() => loadSettings(validEnv({ ADMIN_API_KEY: "short" }), { serveHttp: false }));

    expect(problems).toEqual(["ADMIN_API_KEY: must be at least 16 characters long, got a value of 5 characters"]);
  });
});
