import { describe, expect, it } from "vitest";
import { defaultRegistry, validateSyncConfig } from "../../../shared/config/loadConfig.js";
import { activityMapping, configWith } from "../../integration/activities/activityFixtures.js";

const problemsOf = (...activities: Record<string, unknown>[]) => validateSyncConfig(configWith(...activities), defaultRegistry).problems;

describe("activity mappings in the mapping file", () => {
  it("loads a valid activity mapping next to the record mappings", () => {
    const result = validateSyncConfig(configWith(activityMapping()), defaultRegistry);

    expect(result.problems).toEqual([]);
    expect(result.config!.mappings.map((m) => m.name)).toEqual(["groups", "mentors"]);
    expect(result.config!.activities!.map((a) => [a.name, Object.keys(a.types)])).toEqual([["activities", ["phonecall", "email", "task", "appointment"]]]);
  });

  it("names an unknown type table, a party role the type does not allow and a missing regarding mapping, each with its path", () => {
    const base = activityMapping();
    const types = base.types as Record<string, Record<string, unknown>>;
    const bad = {
      ...base,
      regarding: { mapping: "contacts", appField: "mentorId" },
      types: {
        ...types,
        phonecall: { ...types.phonecall, table: "phonecal" },
        task: { ...types.task, parties: [{ role: "from", userEmailField: "owner" }] },
        email: { ...types.email, parties: [{ role: "required", regarding: true }] },
      },
    };

    const problems = problemsOf(bad);

    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^mappings\[2\]\.regarding\.mapping: expected the name of a mapping in this file \(groups, mentors\); got "contacts"$/),
      expect.stringMatching(/^mappings\[2\]\.types\["phonecall"\]\.table: expected an activity table .*got "phonecal"$/),
      expect.stringMatching(/^mappings\[2\]\.types\["task"\]\.parties\[0\]\.role: task allows no party roles; got "from"$/),
      expect.stringMatching(/^mappings\[2\]\.types\["email"\]\.parties\[0\]\.role: email allows from, to, cc, bcc; got "required"$/),
    ]));
    expect(problems).toHaveLength(4);
  });

  it("reports shape problems of an activity mapping at its place in the file, and record mapping problems at theirs", () => {
    const config = configWith(activityMapping({ owner: { team: "not-a-guid" } } as never));
    const mappings = config.mappings as unknown[];
    // The activity mapping first, then a broken record mapping: both paths name their real index.
    const reordered = { ...config, mappings: [mappings[2], mappings[0], { ...(mappings[1] as object), direction: "sideways" }] };

    const problems = validateSyncConfig(reordered, defaultRegistry).problems;

    expect(problems.some((p) => p.startsWith("mappings[0].owner"))).toBe(true);
    expect(problems.some((p) => p.startsWith("mappings[2].direction"))).toBe(true);
  });

  it("names a custom type's mapper that is not registered in code", () => {
    const types = { ...(activityMapping().types as Record<string, unknown>), pagevisit: { entitySet: "new_pagevisits", table: "new_pagevisit", mapper: "pageVisit" } };

    expect(problemsOf(activityMapping({ types } as never))).toEqual([
      expect.stringMatching(/^mappings\[2\]\.types\["pagevisit"\]\.mapper: expected a record mapper registered in code/),
    ]);
  });
});
