import { describe, expect, it } from "vitest";
import { parseSyncConfig, validateSyncConfig } from "../../../shared/config/loadConfig.js";
import type { FieldMapping } from "../../../shared/config/mapping.js";
import { Registry } from "../../../shared/sync/registry.js";
import { config, mapping, problemsOf } from "./factories.js";

const keyField = { app: "id", dataverse: "hlf_mentorid", type: "string" } as const;

/** Problems of a one-mapping file whose fields are the key field plus `extra`. */
function fieldProblems(...extra: Array<Partial<FieldMapping> & Record<string, unknown>>): string[] {
  return problemsOf(() => parseSyncConfig(config(mapping({ fields: [keyField, ...extra] as FieldMapping[] }))));
}

describe("cross-key checks of the mapping file", () => {
  it("rejects duplicate mapping names", () => {
    const problems = problemsOf(() => parseSyncConfig(config(mapping(), mapping())));
    expect(problems).toEqual(['mappings[1].name: "mentors" is already the name of mappings[0]; names must be unique']);
  });

  it("requires each key column to be a mapped field", () => {
    const problems = problemsOf(() => parseSyncConfig(config(mapping({ dataverse: { entitySet: "contacts", table: "contact", key: ["emailaddress1"] } }))));
    expect(problems).toEqual([expect.stringMatching(/^mappings\[0\]\.dataverse\.key\[0\]: expected a column mapped in mappings\[0\]\.fields.*got "emailaddress1"$/)]);
  });

  it("requires choices for choice fields, with unique option values", () => {
    expect(fieldProblems({ app: "status", dataverse: "hlf_status", type: "choice" })).toEqual([
      expect.stringMatching(/^mappings\[0\]\.fields\[1\]\.choices: required for type choice/),
    ]);
    expect(fieldProblems({ app: "tags", dataverse: "hlf_tags", type: "multichoice", choices: { a: 1, b: 1 } })).toEqual([
      'mappings[0].fields[1].choices.b: option value 1 is already used by "a"; each option value maps back to one app value',
    ]);
  });

  it("rejects keys that only belong to other types", () => {
    const problems = fieldProblems({ app: "name", dataverse: "fullname", type: "string", choices: { a: 1 }, lookup: { mapping: "mentors" }, ownerType: "team", precision: 2 });
    expect(problems).toEqual([
      "mappings[0].fields[1].choices: only for type choice or multichoice; got type string",
      "mappings[0].fields[1].lookup: only for type lookup; got type string",
      "mappings[0].fields[1].ownerType: only for type owner; got type string",
      "mappings[0].fields[1].precision: only for type decimal or money; got type string",
    ]);
  });

  it("requires a lookup target, and an existing mapping or an entity set with a key", () => {
    expect(fieldProblems({ app: "g", dataverse: "g", type: "lookup" })[0]).toMatch(/^mappings\[0\]\.fields\[1\]\.lookup: required for type lookup/);
    expect(fieldProblems({ app: "g", dataverse: "g", type: "lookup", lookup: { mapping: "groups" } })).toEqual([
      'mappings[0].fields[1].lookup.mapping: expected the name of a mapping in this file (mentors); got "groups"',
    ]);
    expect(fieldProblems({ app: "g", dataverse: "g", type: "lookup", lookup: { entitySet: "accounts" } })).toEqual([
      expect.stringMatching(/^mappings\[0\]\.fields\[1\]\.lookup\.key: required with lookup\.entitySet/),
    ]);
    expect(fieldProblems({ app: "g", dataverse: "g", type: "lookup", lookup: { mapping: "mentors", entitySet: "accounts", key: "k" } })).toEqual([
      "mappings[0].fields[1].lookup: expected either mapping or entitySet + key, not both",
    ]);
  });

  it("allows a lookup to its own mapping and one through an alternate key", () => {
    const parsed = parseSyncConfig(config(mapping({ fields: [keyField,
      { app: "mentorOf", dataverse: "parentcontactid", type: "lookup", lookup: { mapping: "mentors" } },
      { app: "accountNo", dataverse: "parentcustomerid", type: "lookup", lookup: { entitySet: "accounts", key: "accountnumber" } },
    ] })));
    expect(parsed.mappings[0]!.fields).toHaveLength(3);
  });

  it("requires ownerType for owner fields", () => {
    expect(fieldProblems({ app: "owner", dataverse: "ownerid", type: "owner" })).toEqual([
      "mappings[0].fields[1].ownerType: required for type owner: systemuser or team",
    ]);
  });

  it("rejects unknown transforms and mappers, and accepts names from the registry", () => {
    const input = config(mapping({ mapper: "mentorMapper", fields: [keyField, { app: "email", dataverse: "emailaddress1", type: "string", transforms: ["trim", "rot13"], mapper: "emailMapper" }] }));
    expect(problemsOf(() => parseSyncConfig(input))).toEqual([
      'mappings[0].fields[1].transforms[1]: expected one of trim, lowercase, uppercase, nullIfEmpty, emptyIfNull; got "rot13"',
      'mappings[0].fields[1].mapper: expected a custom field mapper registered in code (none are registered); got "emailMapper"',
      'mappings[0].mapper: expected a custom record mapper registered in code (none are registered); got "mentorMapper"',
    ]);
    const registry = { transforms: new Set(["trim", "rot13"]), mappers: new Set(["mentorMapper", "emailMapper"]) };
    expect(validateSyncConfig(input, registry).problems).toEqual([]);
  });

  it("tells field mappers and record mappers apart when the registry does", () => {
    // Prepare: the shape of Registry.names() in shared/sync/registry.ts, with the kinds swapped
    const input = config(mapping({ mapper: "mentorMapper", fields: [keyField, { app: "email", dataverse: "emailaddress1", type: "string", mapper: "emailMapper" }] }));
    const swapped = { transforms: new Set<string>(), fieldMappers: new Set(["mentorMapper"]), recordMappers: new Set(["emailMapper"]) };
    const right = { transforms: new Set<string>(), fieldMappers: new Set(["emailMapper"]), recordMappers: new Set(["mentorMapper"]) };
    // Act
    const wrong = validateSyncConfig(input, swapped).problems;
    // Assess
    expect(wrong).toEqual([
      'mappings[0].fields[1].mapper: expected a custom field mapper registered in code (mentorMapper); got "emailMapper"',
      'mappings[0].mapper: expected a custom record mapper registered in code (emailMapper); got "mentorMapper"',
    ]);
    expect(validateSyncConfig(input, right).problems).toEqual([]);
  });

  it("accepts the names of the product's Registry", () => {
    // Prepare
    const registry = new Registry().registerTransform("initials", (v) => v).registerFieldMapper("emailMapper", {});
    const input = config(mapping({ fields: [keyField, { app: "email", dataverse: "emailaddress1", type: "string", transforms: ["trim", "initials"], mapper: "emailMapper" }] }));
    // Act
    const result = validateSyncConfig(input, registry.names());
    // Assess
    expect(result.problems).toEqual([]);
    expect(validateSyncConfig(input).problems).toHaveLength(2);
  });

  it("reports filters that do not compile, with their path", () => {
    const problems = problemsOf(() => parseSyncConfig(config(mapping({
      app: { entity: "mentor", filter: "score >=" },
      dataverse: { entitySet: "contacts", table: "contact", key: ["hlf_mentorid"], filter: "hlf_score > 1 and" },
    }))));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^mappings\[0\]\.app\.filter: expected a filter expression .*got "score >=": Parse error/);
    expect(problems[1]).toMatch(/^mappings\[0\]\.dataverse\.filter: expected a filter expression .*got "hlf_score > 1 and"/);
  });

  it("accepts a filter that compiles", () => {
    const parsed = parseSyncConfig(config(mapping({ app: { entity: "mentor", filter: 'score >= 50 and certificationStatus == "active"' } })));
    expect(parsed.mappings[0]!.app.filter).toContain("score >= 50");
  });

  it("rejects two fields writing the same column or app field", () => {
    const problems = fieldProblems(
      { app: "first", dataverse: "firstname", type: "string" },
      { app: "given", dataverse: "firstname", type: "string", direction: "to-dataverse" },
      { app: "first", dataverse: "nickname", type: "string", direction: "to-app" },
    );
    expect(problems).toEqual([
      'mappings[0].fields[2].dataverse: "firstname" is already written by mappings[0].fields[1]; a column can be written by one field only',
      'mappings[0].fields[3].app: "first" is already written by mappings[0].fields[1]; an app field can be written by one field only',
    ]);
  });

  it("reports a lookup cycle between mappings", () => {
    const a = mapping({ name: "a", fields: [keyField, { app: "b", dataverse: "b", type: "lookup", lookup: { mapping: "b" } }] });
    const b = mapping({ name: "b", fields: [keyField, { app: "a", dataverse: "a", type: "lookup", lookup: { mapping: "a" } }] });
    expect(problemsOf(() => parseSyncConfig(config(a, b)))).toEqual(["mappings: lookups form a cycle: a -> b -> a (each looks up the next)"]);
  });

  it("warns, without failing, when deactivate cannot mark app records inactive", () => {
    const toApp = validateSyncConfig(config(mapping({ deletes: "deactivate", direction: "to-app" })));
    const toDataverse = validateSyncConfig(config(mapping({ deletes: "deactivate", direction: "to-dataverse" })));
    const named = validateSyncConfig(config(mapping({ deletes: "deactivate", app: { entity: "mentor", inactiveField: { field: "active", value: false } } })));
    expect(toApp.problems).toEqual([]);
    expect(toApp.warnings).toHaveLength(1);
    expect(toDataverse.warnings).toEqual([]);
    expect(named.warnings).toEqual([]);
  });
});
