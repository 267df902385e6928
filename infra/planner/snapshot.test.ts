import { describe, expect, it } from "vitest";
import { ASSET_SIG, RESOURCE_SIG, SIG_KEY, UNKNOWN, secretValue } from "./signatures";
import { normalize, parseSnapshot, serializeSnapshot, toSnapshot } from "./snapshot";

describe("normalize", () => {
  it("when a value is secret, then only [secret] remains, however deep", () => {
    const secret = secretValue("hunter2");
    expect(normalize({ a: secret, b: [secret], c: { d: secret } })).toEqual({
      a: "[secret]",
      b: ["[secret]"],
      c: { d: "[secret]" },
    });
    expect(JSON.stringify(normalize({ a: secret }))).not.toContain("hunter2");
  });

  it("when a string holds a JSON document, then it is expanded under @json with sorted keys", () => {
    expect(normalize({ policy: '{"Version":"2012-10-17","Statement":[]}' })).toEqual({
      policy: { "@json": { Statement: [], Version: "2012-10-17" } },
    });
    expect(normalize("{not json")).toBe("{not json");
  });

  it("when values are unknown, resources, assets or engine bookkeeping, then they print as such or vanish", () => {
    expect(
      normalize({
        unknown: UNKNOWN,
        ref: { [SIG_KEY]: RESOURCE_SIG, urn: "urn:pulumi:s::p::t::n" },
        asset: { [SIG_KEY]: ASSET_SIG, path: "/etc/passwd" },
        __defaults: [],
        missing: undefined,
      }),
    ).toEqual({ asset: "[asset]", ref: "urn:pulumi:s::p::t::n", unknown: "[unknown]" });
  });

  it("then object keys are sorted, so insertion order never shows in a snapshot", () => {
    expect(JSON.stringify(normalize({ b: 1, a: { d: 1, c: 2 } }))).toBe('{"a":{"c":2,"d":1},"b":1}');
  });
});

describe("snapshots", () => {
  const recorded = {
    outputs: { z: 1 },
    resources: [
      {
        urn: "urn:b",
        type: "t",
        name: "b",
        custom: true,
        parent: "urn:a",
        provider: undefined,
        dependsOn: [],
        protect: true,
        retainOnDelete: false,
        deleteBeforeReplace: false,
        ignoreChanges: ["tags"],
        replaceOnChanges: [],
        propertyDependencies: {},
        inputs: { x: 1 },
      },
      {
        urn: "urn:a",
        type: "t",
        name: "a",
        custom: false,
        parent: undefined,
        provider: undefined,
        dependsOn: [],
        protect: false,
        retainOnDelete: false,
        deleteBeforeReplace: false,
        ignoreChanges: [],
        replaceOnChanges: [],
        propertyDependencies: {},
        inputs: {},
      },
    ],
  };

  it("then resources are sorted by URN and carry only the options that are set", () => {
    const snapshot = toSnapshot("paimon", "s", recorded);
    expect(snapshot.resources.map((r) => r.urn)).toEqual(["urn:a", "urn:b"]);
    expect(snapshot.resources[0]!.options).toBeUndefined();
    expect(snapshot.resources[1]!.options).toEqual({ protect: true, ignoreChanges: ["tags"] });
  });

  it("then a serialized snapshot parses back to itself, and another format is refused", () => {
    const text = serializeSnapshot(toSnapshot("paimon", "s", recorded));
    expect(text.endsWith("}\n")).toBe(true);
    expect(serializeSnapshot(parseSnapshot(text, "x"))).toBe(text);
    expect(() => parseSnapshot(text.replace('"format": 1', '"format": 0'), "old.json")).toThrow(
      "old.json: snapshot format 0, this planner reads 1",
    );
    expect(() => parseSnapshot("{", "broken.json")).toThrow(/^broken\.json: not JSON/);
  });
});
