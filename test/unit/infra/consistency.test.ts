import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WORKER_NODE_OPTIONS } from "../../../shared/runtime/workerNodeOptions.js";
import { checkInfraConsistency, defaultNames } from "./checkInfraConsistency.js";
import { copyInfra, editSampleValues, repoPaths, type InfraCopy } from "./infraCopy.js";
import { requiredRoles } from "./resourceRules.js";
import { flexRejectedSettings } from "./settingsRules.js";
import { readBicepFiles } from "./bicepSource.js";
import { bicepSyntaxProblems } from "./bicepSyntax.js";

const FUNCTION = "infra/app/function.bicep";
const STORAGE = "infra/app/storage.bicep";
const RBAC = "infra/app/rbac.bicep";
const KEYVAULT = "infra/app/keyvault.bicep";
const ALERTS = "infra/app/alerts.bicep";
const MAIN = "infra/main.bicep";
const PARAMETERS = "infra/main.parameters.json";

const containing = (text: string) => expect.arrayContaining([expect.stringContaining(text)]);

describe("infra consistency (repository files)", () => {
  it("finds the Bicep, the parameter file and the local settings sample consistent with shared/names.ts", () => {
    // Act
    const problems = checkInfraConsistency(repoPaths);

    // Assess
    expect(problems).toEqual([]);
  });

  it("runs the Function app and `npm run sync` with the V8 options the benchmark measured", () => {
    // Prepare
    const bicep = readFileSync(new URL(`../../../${FUNCTION}`, import.meta.url), "utf8");
    const scripts = (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> }).scripts;

    // Act
    const appSetting = /^\s*languageWorkers__node__arguments:\s*'([^']*)'/m.exec(bicep)?.[1];

    // Assess
    expect(appSetting).toBe(WORKER_NODE_OPTIONS);
    expect(scripts.sync).toContain(` ${WORKER_NODE_OPTIONS} `);
  });
});

describe("infra consistency guards (altered copies)", () => {
  let copy: InfraCopy;
  beforeEach(() => {
    copy = copyInfra();
  });
  afterEach(() => copy.dispose());
  const check = (names = defaultNames) => checkInfraConsistency(copy.paths, names);

  it("accepts an unaltered copy, so each failure below comes from its own edit", () => {
    expect(check()).toEqual([]);
  });

  describe("settings", () => {
    it("reports a setting the code reads that the Bicep app settings lack", () => {
      copy.replace(FUNCTION, "  APP_BASE_URL: appBaseUrl\n", "");
      expect(check()).toEqual(containing("setting APP_BASE_URL (shared/names.ts Settings) is missing from the app settings"));
    });

    it("reports a setting the code reads that local.settings.sample.json lacks", () => {
      editSampleValues(copy, (values) => delete values.ADMIN_API_KEY);
      expect(check()).toEqual(containing("setting ADMIN_API_KEY (shared/names.ts Settings) is missing from local.settings.sample.json"));
    });

    it("reports a setting newly added to shared/names.ts in both Bicep and the sample", () => {
      const names = { ...defaultNames, settings: [...defaultNames.settings, "SYNC_NEW_SETTING"] };
      const problems = check(names);
      expect(problems).toEqual(containing("bicep: setting SYNC_NEW_SETTING"));
      expect(problems).toEqual(containing("local settings: setting SYNC_NEW_SETTING"));
    });

    it("reports a Bicep app setting the code does not read", () => {
      copy.replace(FUNCTION, "  APP_BASE_URL: appBaseUrl\n", "  APP_BASE_URL: appBaseUrl\n  APP_BASE_URI: appBaseUrl\n");
      expect(check()).toEqual(containing("app setting APP_BASE_URI in infra/app/function.bicep is not read by the code"));
    });

    it("reports a sample setting the code does not read", () => {
      editSampleValues(copy, (values) => (values.DYNAMICS_URL = "https://org.crm.dynamics.com"));
      expect(check()).toEqual(containing("DYNAMICS_URL in local.settings.sample.json is not read by the code"));
    });

    it("allows the host's identity-based storage settings and per-function switches in the sample", () => {
      editSampleValues(copy, (values) => {
        values.AzureWebJobsStorage__queueServiceUri = "https://example.queue.core.windows.net";
        values["AzureWebJobs.scheduledSync.Disabled"] = "true";
      });
      expect(check()).toEqual([]);
    });

    it("fails rather than skips when local.settings.sample.json is missing", () => {
      copy.remove("local.settings.sample.json");
      expect(check()).toEqual(containing("local.settings.sample.json is missing"));
    });

    it("reports a secret setting given as a plain value instead of a Key Vault reference", () => {
      copy.replace(FUNCTION, /  APP_API_KEY: '@Microsoft\.KeyVault[^\n]*\n/, "  APP_API_KEY: keyVaultUri\n");
      expect(check()).toEqual(containing("secret setting APP_API_KEY must be a @Microsoft.KeyVault(SecretUri=...) reference"));
    });
  });

  describe("storage", () => {
    it("reports a queue from shared/names.ts that is not provisioned", () => {
      copy.replace(STORAGE, "  'record-events'\n", "");
      expect(check()).toEqual(containing("queue record-events (shared/names.ts) is not provisioned"));
    });

    it("reports a missing poison queue", () => {
      copy.replace(STORAGE, "  'app-writes-poison'\n", "");
      expect(check()).toEqual(containing("queue app-writes-poison (shared/names.ts) is not provisioned"));
    });

    it("reports a table from shared/names.ts that is not provisioned", () => {
      copy.replace(STORAGE, "  'SyncThrottle'\n", "");
      expect(check()).toEqual(containing("table SyncThrottle (shared/names.ts Tables) is not provisioned"));
    });

    it("reports a queue list that no queue resource is created from", () => {
      copy.replace(STORAGE, "for queueName in queueNames", "for queueName in ['sync-runs']");
      expect(check()).toEqual(containing("no queueServices/queues resource in infra/app/storage.bicep is created for each of queueNames"));
    });
  });

  describe("role assignments", () => {
    it.each(requiredRoles.map((r) => [r.role, r.id] as const))("reports a missing %s assignment", (role, id) => {
      const rbac = copy.read(RBAC);
      const roleKey = new RegExp(`(\\w+): '${id}'`).exec(rbac)![1];
      copy.replace(RBAC, new RegExp(`resource \\w+ 'Microsoft\\.Authorization/roleAssignments@[^']+' = \\{\\n  name: guid\\(\\w+\\.id, principalId, roles\\.${roleKey}\\)[\\s\\S]*?\\n\\}\\n`), "");
      expect(check()).toEqual(containing(`no role assignment grants ${role} (${id})`));
    });

    it("reports a role assigned on the wrong resource", () => {
      copy.replace(RBAC, /(name: guid\(vault\.id, principalId, roles\.keyVaultSecretsUser\)\n  scope: )vault/, "$1storage");
      expect(check()).toEqual(containing("(Key Vault Secrets User) in infra/app/rbac.bicep must be scoped to a Microsoft.KeyVault/vaults resource"));
    });

    it("reports an assignment name that is not guid(scope, principal, role)", () => {
      copy.replace(RBAC, "name: guid(storage.id, principalId, roles.storageBlobDataOwner)", "name: guid(deployment().name, roles.storageBlobDataOwner)");
      expect(check()).toEqual(containing("(Storage Blob Data Owner) in infra/app/rbac.bicep must be named guid(<scope>.id, principalId, <role id>)"));
    });
  });

  describe("literal secrets", () => {
    it("reports a @secure() parameter with a default", () => {
      copy.replace(MAIN, "param adminApiKey string\n", "param adminApiKey string = 'change-me'\n");
      expect(check()).toEqual(containing("@secure() parameter adminApiKey in infra/main.bicep has a default value"));
    });

    it("reports an AccountKey= connection string", () => {
      copy.replace(FUNCTION, "  AzureWebJobsStorage__credential: 'managedidentity'\n", "  AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=st;AccountKey=${blobEndpoint}'\n");
      expect(check()).toEqual(containing("infra/app/function.bicep contains a credential connection-string fragment"));
    });

    it.each([
      ["base64", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="],
      ["hex", "0123456789abcdef0123456789abcdef"],
    ])("reports a 32+ character %s literal", (_kind, literal) => {
      copy.replace(FUNCTION, "  APP_BASE_URL: appBaseUrl\n", `  APP_BASE_URL: '${literal}'\n`);
      expect(check()).toEqual(containing("infra/app/function.bicep contains a secret-looking literal"));
    });

    it("reports listKeys( in an app setting", () => {
      copy.replace(FUNCTION, "  APP_BASE_URL: appBaseUrl\n", "  APP_BASE_URL: listKeys(identityId, '2023-05-01').keys[0].value\n");
      expect(check()).toEqual(containing("infra/app/function.bicep calls a list*() function that returns keys"));
    });

    it("reports a secure parameter exposed in an output", () => {
      copy.write(KEYVAULT, `${copy.read(KEYVAULT)}output adminKey string = adminApiKey\n`);
      expect(check()).toEqual(containing("output adminKey in infra/app/keyvault.bicep exposes the @secure() parameter adminApiKey"));
    });

    it("reports a secret placed in main.parameters.json", () => {
      const parameters = JSON.parse(copy.read(PARAMETERS)) as { parameters: Record<string, unknown> };
      parameters.parameters.dynamicsClientSecret = { value: "not-in-the-file" };
      copy.write(PARAMETERS, JSON.stringify(parameters));
      expect(check()).toEqual(containing("main.parameters.json sets the @secure() parameter dynamicsClientSecret"));
    });

    it("reports a non-secret parameter missing from main.parameters.json", () => {
      const parameters = JSON.parse(copy.read(PARAMETERS)) as { parameters: Record<string, unknown> };
      delete parameters.parameters.alertEmail;
      copy.write(PARAMETERS, JSON.stringify(parameters));
      expect(check()).toEqual(containing("main.parameters.json does not list the parameter alertEmail"));
    });
  });

  describe("Flex Consumption", () => {
    it.each(flexRejectedSettings.map((s) => [s]))("reports the legacy setting %s", (setting) => {
      copy.replace(FUNCTION, "  APP_BASE_URL: appBaseUrl\n", `  APP_BASE_URL: appBaseUrl\n  ${setting}: 'x'\n`);
      expect(check()).toEqual(containing(`${setting} in infra/app/function.bicep is a legacy setting Flex Consumption rejects`));
    });

    it("reports a legacy setting written in the siteConfig.appSettings array form", () => {
      copy.replace(FUNCTION, "      http20Enabled: true\n", "      http20Enabled: true\n      appSettings: [\n        { name: 'WEBSITE_RUN_FROM_PACKAGE', value: '1' }\n      ]\n");
      expect(check()).toEqual(containing("WEBSITE_RUN_FROM_PACKAGE in infra/app/function.bicep is a legacy setting"));
    });
  });

  describe("documentation", () => {
    it("reports a main.bicep parameter missing from the parameter table of docs/deployment.md", () => {
      copy.replace("deployment.md", /\| `alertsEnabled` \|[^\n]*\n/, "");
      expect(check()).toEqual(containing("parameter alertsEnabled of infra/main.bicep is not in the parameter table"));
    });
  });

  describe("alert telemetry", () => {
    it("reports an alert query on an event the code does not emit", () => {
      copy.replace(ALERTS, '"SyncAuthFailed"', '"SyncAuthFailure"');
      const problems = check();
      expect(problems).toEqual(containing("uses event SyncAuthFailure, which shared/names.ts TelemetryEvents does not emit"));
      expect(problems).toEqual(containing("no alert rule queries the SyncAuthFailed event"));
    });

    it("reports an alert query on a function the app does not register", () => {
      copy.replace(ALERTS, '"runWorker"', '"runWorkerV2"');
      expect(check()).toEqual(containing("uses function runWorkerV2, which shared/names.ts FunctionNames does not register"));
    });
  });

  describe("alert rules: one per monitored signal", () => {
    it("reports a signal whose rule is gone", () => {
      copy.replace(ALERTS, "name: 'sync-pending-stale'", "name: 'sync-pending-old'");
      const problems = check();
      expect(problems).toEqual(containing("no alert rule sync-pending-stale in infra/app/alerts.bicep"));
      expect(problems).toEqual(containing("alert rule sync-pending-old has no section"));
    });

    it("reports a rule that queries a metric name the code does not record", () => {
      copy.replace(ALERTS, '"auth.token.failures"', '"auth.token.failure"');
      const problems = check();
      expect(problems).toEqual(containing('alert rule sync-credential-rejected does not query "auth.token.failures"'));
      expect(problems).toEqual(containing("uses event auth.token.failure, which shared/names.ts TelemetryEvents does not emit (nor is it a metric"));
    });

    it("reports a rule that no longer looks for the expired-secret code", () => {
      copy.replace(ALERTS, '"AADSTS7000222", ', "");
      expect(check()).toEqual(containing('alert rule sync-credential-rejected does not query "AADSTS7000222"'));
    });

    it("reports the mismatch rule once it no longer picks the critical fields", () => {
      copy.replace(ALERTS, ' and tostring(customDimensions.critical) =~ "true"', "");
      expect(check()).toEqual(containing("alert rule sync-critical-mismatch does not query customDimensions.critical"));
    });

    it("reports a threshold written as a number instead of the parameter", () => {
      copy.replace(ALERTS, "threshold: stalenessHours", "threshold: 26");
      expect(check()).toEqual(containing("alert rule sync-pending-stale must take its threshold from the parameter stalenessHours, not 26"));
    });

    it("reports a parameter default that drifted from the mapping file's option default", () => {
      copy.replace(MAIN, "param credentialExpiryWarningDays int = 30", "param credentialExpiryWarningDays int = 14");
      expect(check()).toEqual(containing("parameter credentialExpiryWarningDays of infra/main.bicep defaults to 14, the mapping file's options.credentialExpiryWarningDays to 30"));
    });

    it("reports a rule without a section in docs/operations.md", () => {
      copy.replace("operations.md", "### `sync-poison-messages`", "### poison messages");
      expect(check()).toEqual(["docs: alert rule sync-poison-messages has no section (### `sync-poison-messages`) in docs/operations.md saying what to do when it fires"]);
    });
  });
});

describe("Bicep syntax (tree-sitter-bicep)", () => {
  let copy: InfraCopy;
  beforeEach(() => {
    copy = copyInfra();
  });
  afterEach(() => copy.dispose());

  it("parses every Bicep file of the repository without a syntax error", async () => {
    const files = readBicepFiles(repoPaths.infraDir);
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining(["main.bicep", "app/alerts.bicep", "app/function.bicep"]));
    expect(await bicepSyntaxProblems(files)).toEqual([]);
  });

  it("reports a missing closing bracket with its file and position", async () => {
    copy.replace(ALERTS, "    dimension: 'Pending'\n  }\n]", "    dimension: 'Pending'\n  \n]");
    const problems = await bicepSyntaxProblems(readBicepFiles(copy.paths.infraDir));
    expect(problems).toEqual([expect.stringMatching(/^bicep: infra\/app\/alerts\.bicep has a syntax error: line \d+/)]);
  });

  it("reports a stray token in a declaration", async () => {
    copy.replace(MAIN, "param stalenessHours int = 26", "param stalenessHours int = = 26");
    const problems = await bicepSyntaxProblems(readBicepFiles(copy.paths.infraDir));
    expect(problems).toEqual([expect.stringContaining("bicep: infra/main.bicep has a syntax error")]);
  });
});
