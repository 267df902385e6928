import { describe, expect, it } from "vitest";
import { implies, parseCondition } from "./conditions";
import type { Json } from "./snapshot";

type Block = { [operator: string]: { [key: string]: string | string[] } };

const BEFORE_C238105: Block = {
  StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption": "aws:kms" },
  Bool: { "aws:PrincipalIsAWSService": "false" },
};
const AFTER_C238105: Block = {
  StringNotEqualsIfExists: {
    "s3:x-amz-server-side-encryption": "aws:kms",
    "aws:PrincipalServiceName": ["ap-southeast-1.elasticache-snapshot.amazonaws.com", "elasticache.amazonaws.com"],
  },
};

/** Whether every request satisfying `a` satisfies `b`, as the module proves it. */
const follows = (a: Block | undefined, b: Block | undefined) => implies(parseCondition(a), parseCondition(b));

describe("parseCondition", () => {
  it("when a block has several operators and keys, then it is one clause per operator and key, keys lower-cased and values sorted", () => {
    expect(parseCondition(AFTER_C238105)).toEqual([
      {
        operator: "StringNotEqualsIfExists",
        base: "StringNotEquals",
        ifExists: true,
        sense: "negated",
        key: "s3:x-amz-server-side-encryption",
        values: ["aws:kms"],
      },
      {
        operator: "StringNotEqualsIfExists",
        base: "StringNotEquals",
        ifExists: true,
        sense: "negated",
        key: "aws:principalservicename",
        values: ["ap-southeast-1.elasticache-snapshot.amazonaws.com", "elasticache.amazonaws.com"],
      },
    ]);
    expect(parseCondition(undefined)).toEqual([]);
  });

  it("when an operator carries a set qualifier, then the qualifier is kept apart from the operator it qualifies", () => {
    expect(parseCondition({ "ForAnyValue:StringLikeIfExists": { "aws:TagKeys": ["env", "team*"] } })).toEqual([
      {
        operator: "ForAnyValue:StringLikeIfExists",
        base: "StringLike",
        qualifier: "ForAnyValue",
        ifExists: true,
        sense: "positive",
        key: "aws:tagkeys",
        values: ["env", "team*"],
      },
    ]);
  });

  it("when the module cannot read a clause, then it has no sense to reason with", () => {
    const senses = (block: Json) => parseCondition(block).map((clause) => clause.sense);
    expect(senses({ BinaryNotEquals: { "s3:x": "AA==" } })).toEqual([undefined]);
    expect(senses({ "Sometimes:StringEquals": { "s3:x": "a" } })).toEqual([undefined]);
    expect(senses({ NullIfExists: { "s3:x": "true" } })).toEqual([undefined]);
    expect(senses({ StringEquals: { "s3:prefix": "home/${aws:username}/" } })).toEqual([undefined]);
    expect(senses({ StringEquals: { "s3:x": [] } })).toEqual([undefined]);
    expect(senses({ StringEquals: { "s3:x": { nested: "object" } } })).toEqual([undefined]);
    expect(senses({ StringEquals: "not keys" })).toEqual([undefined]);
    expect(senses("not a block")).toEqual([undefined]);
  });
});

describe("implies", () => {
  it("when the backup bucket's denial of c238105 trades 'not an AWS service' for 'not ElastiCache', then the new one follows from the old, not the reverse", () => {
    expect(follows(BEFORE_C238105, AFTER_C238105)).toBe(true);
    expect(follows(AFTER_C238105, BEFORE_C238105)).toBe(false);
  });

  it("when a clause is compared with itself, a spelling of it or nothing, then it implies it; nothing implies only nothing", () => {
    expect(follows(AFTER_C238105, AFTER_C238105)).toBe(true);
    expect(
      follows(
        { StringEquals: { "AWS:SourceAccount": ["2", "1"] } },
        { StringEquals: { "aws:sourceaccount": ["1", "2"] } },
      ),
    ).toBe(true);
    expect(follows(AFTER_C238105, undefined)).toBe(true);
    expect(follows(undefined, AFTER_C238105)).toBe(false);
    expect(follows(undefined, undefined)).toBe(true);
  });

  it("when a negated clause keeps fewer of its values, then it follows; when it gains one, it does not", () => {
    const not = (...values: string[]): Block => ({ StringNotLike: { "aws:PrincipalServiceName": values } });
    expect(follows(not("a*", "b"), not("a*"))).toBe(true);
    expect(follows(not("a*"), not("a*", "b"))).toBe(false);
  });

  it("when a positive clause admits more values, then it follows; fewer, it does not", () => {
    const equals = (...values: string[]): Block => ({ StringEquals: { "aws:SourceVpce": values } });
    expect(follows(equals("vpce-1"), equals("vpce-1", "vpce-2"))).toBe(true);
    expect(follows(equals("vpce-1", "vpce-2"), equals("vpce-1"))).toBe(false);
  });

  it("when IfExists is added, then a positive clause follows only towards it, and a negated one either way (an absent key satisfies both)", () => {
    const vpce = (operator: string): Block => ({ [operator]: { "aws:SourceVpce": "vpce-1" } });
    expect(follows(vpce("StringEquals"), vpce("StringEqualsIfExists"))).toBe(true);
    expect(follows(vpce("StringEqualsIfExists"), vpce("StringEquals"))).toBe(false);
    expect(follows(vpce("StringNotEquals"), vpce("StringNotEqualsIfExists"))).toBe(true);
    expect(follows(vpce("StringNotEqualsIfExists"), vpce("StringNotEquals"))).toBe(true);
  });

  it("when a conjunction loses a clause, then it still implies the rest; when it gains an unrelated one, the old does not imply the new", () => {
    const both: Block = { Bool: { "aws:SecureTransport": "true" }, StringEquals: { "aws:SourceVpce": "vpce-1" } };
    const one: Block = { Bool: { "aws:SecureTransport": "true" } };
    expect(follows(both, one)).toBe(true);
    expect(follows(one, both)).toBe(false);
  });

  it("when the key is known absent, then every negated string clause on it follows, and only those", () => {
    const absent: Block = { Null: { "aws:PrincipalServiceName": "true" } };
    expect(follows(absent, { StringNotEqualsIfExists: { "aws:PrincipalServiceName": "x.amazonaws.com" } })).toBe(true);
    expect(follows(absent, { StringNotLike: { "aws:PrincipalServiceName": "*.amazonaws.com" } })).toBe(true);
    expect(follows(absent, { Null: { "aws:PrincipalServiceName": ["true", "false"] } })).toBe(true);
    // A key present but empty may read as null: a value that matches "" is not ruled out.
    expect(follows(absent, { StringNotLike: { "aws:PrincipalServiceName": "*" } })).toBe(false);
    expect(follows(absent, { StringNotEquals: { "aws:PrincipalServiceName": ["", "x"] } })).toBe(false);
    expect(follows(absent, { StringEqualsIfExists: { "aws:PrincipalServiceName": "x" } })).toBe(false);
    expect(follows(absent, { Null: { "aws:PrincipalServiceName": "false" } })).toBe(false);
    expect(follows(absent, { StringNotEqualsIfExists: { "aws:SourceVpce": "vpce-1" } })).toBe(false);
  });

  it("when a caller is not an AWS service, then it carries no service name; nothing else is inferred from that key", () => {
    const notAService: Block = { Bool: { "aws:PrincipalIsAWSService": "false" } };
    expect(follows(notAService, { Null: { "aws:PrincipalServiceName": "true" } })).toBe(true);
    expect(follows(notAService, { StringNotLikeIfExists: { "aws:PrincipalServiceName": "*.amazonaws.com" } })).toBe(
      true,
    );
    // Anonymous requests carry neither key: IfExists no longer says the caller is signed.
    expect(
      follows(
        { BoolIfExists: { "aws:PrincipalIsAWSService": "false" } },
        { Null: { "aws:PrincipalServiceName": "true" } },
      ),
    ).toBe(false);
    expect(
      follows({ Bool: { "aws:PrincipalIsAWSService": "true" } }, { Null: { "aws:PrincipalServiceName": "true" } }),
    ).toBe(false);
    expect(follows(notAService, { StringNotEqualsIfExists: { "aws:SourceAccount": "1" } })).toBe(false);
  });

  it("when it cannot compare, then it says no: unknown operators and qualifiers, variables, wildcards against literals, other keys", () => {
    expect(follows({ BinaryNotEquals: { "s3:x": ["AA==", "AQ=="] } }, { BinaryNotEquals: { "s3:x": "AA==" } })).toBe(
      false,
    );
    expect(follows({ BinaryNotEquals: { "s3:x": "AA==" } }, { BinaryNotEquals: { "s3:x": "AA==" } })).toBe(true);
    expect(
      follows(
        { "ForAllValues:StringEquals": { "aws:TagKeys": "a" } },
        { "ForAllValues:StringEquals": { "aws:TagKeys": ["a", "b"] } },
      ),
    ).toBe(false);
    expect(
      follows(
        { StringEquals: { "s3:prefix": "${aws:username}" } },
        { StringEquals: { "s3:prefix": ["${aws:username}", "shared"] } },
      ),
    ).toBe(false);
    expect(follows({ StringEquals: { "s3:prefix": "home/" } }, { StringLike: { "s3:prefix": "home/*" } })).toBe(false);
    expect(
      follows({ StringEquals: { "aws:SourceAccount": "1" } }, { StringEquals: { "aws:PrincipalAccount": "1" } }),
    ).toBe(false);
  });

  it("when two keys differ only in a tag key's case, then they are different keys; the name before the tag ignores case", () => {
    expect(
      follows(
        { StringEquals: { "s3:ExistingObjectTag/Env": "prod" } },
        { StringEquals: { "s3:ExistingObjectTag/env": "prod" } },
      ),
    ).toBe(false);
    expect(
      follows(
        { StringEquals: { "S3:existingobjecttag/Env": "prod" } },
        { StringEquals: { "s3:ExistingObjectTag/Env": "prod" } },
      ),
    ).toBe(true);
  });

  it("when an operator names no keys, then it is not read as a clause that always holds", () => {
    expect(follows({ Bool: { "aws:SecureTransport": "false" } }, { StringEquals: {} })).toBe(false);
    expect(follows({ StringEquals: {} }, { StringEquals: {} })).toBe(true);
  });
});

// -----------------------------------------------------------------------------------------------
// Soundness: an evaluator written from AWS's reference, independent of the module's parser, runs
// every request of a small world against random pairs of conditions. Whenever `implies(a, b)` says
// true, no request may satisfy `a` without `b`. fast-check is a dependency of the services, not of
// infra, so a seeded generator picks the conditions and the world is enumerated whole.

/** A request: lower-cased key → its value, or absent. */
type Request = Readonly<Record<string, string | undefined>>;

const KEYS = [
  "s3:x-amz-server-side-encryption",
  "s3:y",
  "aws:principalisawsservice",
  "aws:principalservicename",
] as const;
const WORLD: readonly Request[] = (() => {
  const requests: Request[] = [];
  for (const x of [undefined, "a", "b", "ab", "", "aws:kms"])
    for (const y of [undefined, "a"])
      for (const isService of [undefined, "true", "false"])
        for (const name of [undefined, "a", "b", "", "elasticache.amazonaws.com"]) {
          // The one fact of the world: a caller that is not a service principal has no service name.
          if (isService === "false" && name !== undefined) continue;
          requests.push({
            "s3:x-amz-server-side-encryption": x,
            "s3:y": y,
            "aws:principalisawsservice": isService,
            "aws:principalservicename": name,
          });
        }
  return requests;
})();

const glob = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  ).test(value);
const NEGATED = ["StringNotEquals", "StringNotLike"];
const matches = (base: string, policy: string, value: string): boolean => {
  switch (base) {
    case "StringEquals":
    case "StringNotEquals":
      return value === policy;
    case "StringLike":
    case "StringNotLike":
      return glob(policy, value);
    case "Bool":
      return value.toLowerCase() === policy.toLowerCase();
    default:
      // An operator the module does not know: any fixed behaviour will do, since it may reason
      // about such a clause only by identity.
      return value.length % 2 === policy.length % 2;
  }
};

/**
 * One operator and key, as AWS evaluates them: values ORed (NORed when negated); an absent key
 * fails a positive operator and satisfies a negated one or an `…IfExists`; `Null` tests presence,
 * an empty value counting as null or not as `emptyIsNull` says, since AWS leaves it open.
 */
function clauseHolds(operator: string, key: string, values: readonly string[], request: Request, emptyIsNull: boolean) {
  const value = request[key.toLowerCase()];
  const qualifier = /^(ForAnyValue|ForAllValues):/.exec(operator)?.[1];
  const unqualified = operator.replace(/^(ForAnyValue|ForAllValues):/, "");
  const ifExists = unqualified.endsWith("IfExists");
  const base = ifExists ? unqualified.slice(0, -"IfExists".length) : unqualified;
  if (base === "Null") {
    const isNull = value === undefined || (emptyIsNull && value === "");
    return values.some((v) => (v === "true" ? isNull : v === "false" ? !isNull : false));
  }
  const negated = NEGATED.includes(base);
  const test = (x: string) =>
    negated ? !values.some((v) => matches(base, v, x)) : values.some((v) => matches(base, v, x));
  if (qualifier !== undefined) {
    const set = value === undefined ? [] : [value];
    return qualifier === "ForAllValues" ? set.every(test) : set.some(test);
  }
  if (value === undefined) return ifExists || negated;
  return test(value);
}

const holds = (block: Block, request: Request, emptyIsNull: boolean): boolean =>
  Object.entries(block).every(([operator, keys]) =>
    Object.entries(keys).every(([key, value]) =>
      clauseHolds(operator, key, Array.isArray(value) ? value : [value], request, emptyIsNull),
    ),
  );

/** mulberry32: a seeded generator, so that a failure reproduces. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

// Negated operators and `Null` come twice as often: the rules worth testing start from them.
const OPERATORS = [
  "StringEquals",
  "StringNotEquals",
  "StringNotEquals",
  "StringLike",
  "StringNotLike",
  "StringNotLike",
  "Bool",
  "Null",
  "Null",
  "StringFrobnicate",
  "ForAnyValue:StringEquals",
  "ForAllValues:StringNotEquals",
];
const SPELLINGS: Record<(typeof KEYS)[number], readonly string[]> = {
  "s3:x-amz-server-side-encryption": ["s3:x-amz-server-side-encryption", "S3:X-Amz-Server-Side-Encryption"],
  "s3:y": ["s3:y"],
  "aws:principalisawsservice": ["aws:PrincipalIsAWSService"],
  "aws:principalservicename": ["aws:PrincipalServiceName", "AWS:principalservicename"],
};

/** One operator, key and value(s) as a policy writes them. */
type Written = readonly [operator: string, key: string, value: string | string[]];

/** The block a list of clauses writes: a later clause on the same operator and key replaces an earlier one. */
const blockOf = (clauses: readonly Written[]): Block => {
  const block: Block = {};
  for (const [operator, key, value] of clauses) block[operator] = { ...block[operator], [key]: value };
  return block;
};

function generator(seed: number) {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const coin = () => next() < 0.5;
  const valuesFor = (operator: string): string[] => {
    const pool = /Bool|Null/.test(operator)
      ? ["true", "false"]
      : ["a", "b", "ab", "", "a*", "*", "?b", "aws:kms", "elasticache.amazonaws.com"];
    return [...new Set(Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(pool)))];
  };
  const clause = (key = pick(SPELLINGS[pick(KEYS)])): Written => {
    const base = pick(OPERATORS);
    // `NullIfExists` is no operator AWS knows; now and then one tests that the module says so.
    const operator = next() < (base === "Null" ? 0.05 : 0.4) ? `${base}IfExists` : base;
    const values = valuesFor(operator);
    return [operator, key, values.length === 1 && coin() ? values[0]! : values];
  };
  const condition = (): Written[] => [
    ...Array.from({ length: 1 + Math.floor(next() * 3) }, () => clause()),
    ...(next() < 0.3 ? [[coin() ? "Bool" : "BoolIfExists", "aws:PrincipalIsAWSService", "false"] as const] : []),
  ];
  /** A neighbour of `clauses`: a clause added, dropped or rewritten, a value added or taken away. */
  const mutate = (clauses: readonly Written[]): Written[] => {
    if (clauses.length === 0) return [clause()];
    const at = Math.floor(next() * clauses.length);
    const [operator, key, value] = clauses[at]!;
    const values = ([] as string[]).concat(value);
    const replace = (by: Written[]) => [...clauses.slice(0, at), ...by, ...clauses.slice(at + 1)];
    switch (pick(["add", "drop", "more", "fewer", "ifExists"])) {
      case "add":
        // Half the time on a key the condition already tests, where the rules relate clauses.
        return [...clauses, coin() ? clause(key) : clause()];
      case "drop":
        return replace([]);
      case "more":
        return replace([[operator, key, [...new Set([...values, ...valuesFor(operator)])]]]);
      case "fewer":
        return replace([[operator, key, values.length > 1 ? values.slice(1) : values]]);
      default:
        return replace([
          [operator.endsWith("IfExists") ? operator.slice(0, -"IfExists".length) : `${operator}IfExists`, key, values],
        ]);
    }
  };
  return { condition, mutate, coin };
}

describe("implies, against every request of a small world", () => {
  it("when implies(a, b) is true, then no request satisfies a without b — whether an empty value counts as null or not", () => {
    const { condition, mutate, coin } = generator(0x1a2b3c);
    let proven = 0;
    for (let round = 0; round < 4000; round += 1) {
      const first = condition();
      const second = coin() ? mutate(first) : coin() ? mutate(mutate(first)) : condition();
      for (const [a, b] of [
        [blockOf(first), blockOf(second)],
        [blockOf(second), blockOf(first)],
      ] as const) {
        if (!implies(parseCondition(a), parseCondition(b))) continue;
        proven += 1;
        for (const emptyIsNull of [false, true]) {
          const counterexample = WORLD.find(
            (request) => holds(a, request, emptyIsNull) && !holds(b, request, emptyIsNull),
          );
          expect(counterexample, `${JSON.stringify(a)} ⇒ ${JSON.stringify(b)}`).toBeUndefined();
        }
      }
    }
    // The property means something only if many implications are claimed, trivial ones aside.
    expect(proven).toBeGreaterThan(2000);
  });

  it("when the world is asked about c238105's denials, then the evaluator agrees with the module", () => {
    // The old denial holds in a request where the new one does not only if the new one is weaker.
    for (const emptyIsNull of [false, true]) {
      const wider = WORLD.filter((r) => holds(AFTER_C238105, r, emptyIsNull) && !holds(BEFORE_C238105, r, emptyIsNull));
      const narrower = WORLD.filter(
        (r) => holds(BEFORE_C238105, r, emptyIsNull) && !holds(AFTER_C238105, r, emptyIsNull),
      );
      expect(narrower).toEqual([]);
      expect(wider.length).toBeGreaterThan(0);
    }
  });
});
