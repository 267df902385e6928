import ipaddr from "ipaddr.js";
import { globCovers, patternCovers } from "../policy/iam-actions";
import { LEVEL_ORDER, podSecurity, podSpecOfManifest, type PodSecurity } from "../policy/pod-security";
import { implies, parseCondition } from "./conditions";
import { worst, type ChangeKind, type Finding, type ResourceRef, type Severity } from "./findings";
import {
  compareDocuments,
  describePrincipal,
  describeStatement,
  documentOf,
  statementsOf,
  weighActions,
  type PrincipalContext,
  type Statement,
} from "./policy-document";
import type { Direction, PropertyPath, SecurityCategory } from "./security";
import type { Json, PlannedResource } from "./snapshot";

/**
 * What a change means for security, read per kind of setting rather than leaf by leaf: policies
 * by the grants they make, ingress by what it exposes, TLS by strength, WAF and logging by
 * presence, pods by their Pod Security level. Each classifier claims the properties it read, so
 * the generic leaf rules (security.ts) do not report them a second time.
 */

export interface LeafChange {
  readonly path: PropertyPath;
  readonly before?: Json;
  readonly after?: Json;
}

export interface ClassifyContext extends PrincipalContext {
  readonly stack: string;
}

export interface Classified {
  readonly findings: Finding[];
  /** Whether the generic leaf rules must leave this path alone. */
  readonly claims: (path: PropertyPath) => boolean;
}

type Inputs = { [key: string]: Json };

/** A value as text: strings as they are, anything else as JSON. */
const text = (value: Json | undefined): string =>
  typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value);

interface Emit {
  (category: SecurityCategory, direction: Direction, severity: Severity, reason: string, detail?: LeafChange): void;
}

const kindOf = (before: PlannedResource | undefined, after: PlannedResource | undefined): ChangeKind =>
  before === undefined ? "added" : after === undefined ? "removed" : "changed";

const refOf = (resource: PlannedResource): ResourceRef => ({
  urn: resource.urn,
  type: resource.type,
  name: resource.name,
  ...(resource.parent ? { parent: resource.parent } : {}),
});

const get = (value: Json | undefined, ...path: string[]): Json | undefined => {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    current = current[key];
  }
  return current;
};
const objects = (value: Json | undefined): Inputs[] =>
  Array.isArray(value)
    ? value.filter((item): item is Inputs => !!item && typeof item === "object" && !Array.isArray(item))
    : [];
const strings = (value: Json | undefined): string[] =>
  Array.isArray(value) ? value.map(String) : typeof value === "string" ? [value] : [];

// ---------------------------------------------------------------------------------------------
// Policies

/** How the report names a statement's complement forms. */
const FORM_WORDS = { notPrincipal: "NotPrincipal", notAction: "NotAction", notResource: "NotResource" } as const;

function policyFindings(
  property: string,
  before: readonly Statement[],
  after: readonly Statement[],
  context: ClassifyContext,
  emit: Emit,
): void {
  const category: SecurityCategory = "iam";
  const where = (statement: Statement) => `${property}: statement ${statement.sid ?? "(no Sid)"}`;
  const detail = (b?: Statement, a?: Statement): LeafChange => ({
    path: `${property}.Statement[${(a ?? b)?.sid ? `Sid=${(a ?? b)?.sid ?? ""}` : "…"}]`,
    ...(b ? { before: b.raw } : {}),
    ...(a ? { after: a.raw } : {}),
  });
  const onEverything = (statement: Statement) => statement.resources.includes("*") || statement.notResource;
  const principalWeight = (
    principals: readonly string[],
    conditioned: boolean,
  ): { severity: Severity; words: string[] } => {
    const words: string[] = [];
    let severity: Severity = "low";
    for (const principal of principals) {
      const seen = describePrincipal(principal, context);
      if (principal === "*") {
        severity = worst([severity, conditioned ? "high" : "critical"]);
        words.push(`everyone (\`*\`)${conditioned ? " under a condition" : ", unconditionally"}`);
      } else if (seen.foreign) {
        severity = worst([severity, "critical"]);
        words.push(seen.text);
      } else words.push(seen.text);
    }
    return { severity, words };
  };

  // Only a condition on who calls narrows `*`; one on transport or time does not.
  const limitsCaller = (statement: Statement) =>
    /aws:Principal(OrgID|Account|Arn)|aws:Source(Account|Arn|Vpce|Vpc)|kms:CallerAccount|kms:ViaService/i.test(
      statement.condition,
    );
  const grant = (statement: Statement, prefix: string, b?: Statement) => {
    const actions = weighActions(statement.actions, onEverything(statement));
    const principals = principalWeight(statement.principals, limitsCaller(statement));
    const severities: Severity[] = [actions.severity, principals.severity];
    if (statement.notAction) severities.push(onEverything(statement) ? "critical" : "high");
    const facets = [
      ...(actions.words ? [actions.words] : []),
      ...(statement.notAction ? ["NotAction: every action but those listed"] : []),
    ];
    emit(
      category,
      "weakened",
      worst(severities),
      `${prefix} ${describeStatement(statement, context)}${facets.length ? ` — ${facets.join("; ")}` : ""}`,
      detail(b, statement),
    );
  };

  /** A statement that changed where the diff can tell neither a grant nor a narrowing: an auditor reads it. */
  const unjudged = (statement: Statement, d: LeafChange) => {
    emit(
      category,
      "changed",
      "medium",
      `${where(statement)}: changed in a way the diff cannot judge — now ${describeStatement(statement, context)}`,
      d,
    );
  };

  const delta = compareDocuments(before, after);
  for (const statement of delta.added) {
    if (statement.effect === "Deny") {
      emit(
        category,
        "strengthened",
        "low",
        `${where(statement)} added: ${describeStatement(statement, context)}`,
        detail(undefined, statement),
      );
    } else grant(statement, `${where(statement)} added: grants`);
  }
  for (const statement of delta.removed) {
    if (statement.effect === "Deny") {
      emit(
        category,
        "weakened",
        "high",
        `${where(statement)} removed: no longer ${describeStatement(statement, context).replace(/^Deny/, "denies")}`,
        detail(statement),
      );
    } else {
      emit(
        category,
        "strengthened",
        "low",
        `${where(statement)} removed: no longer ${describeStatement(statement, context).replace(/^Allow/, "allows")}`,
        detail(statement),
      );
    }
  }
  for (const { before: b, after: a } of delta.modified) {
    const d = detail(b, a);
    if (b.effect !== a.effect) {
      if (a.effect === "Allow") grant(a, `${where(a)} turns from Deny to Allow: grants`, b);
      else emit(category, "strengthened", "low", `${where(a)} turns from Allow to Deny`, d);
      continue;
    }
    // A statement that switches between `Action` and `NotAction` (or the principals' or the
    // resources' two forms) covers the complement of what it listed: it is read as a new one.
    const forms = (["notPrincipal", "notAction", "notResource"] as const).filter((form) => b[form] !== a[form]);
    if (forms.length > 0) {
      const switched = forms.map((form) => `${a[form] ? "to" : "from"} ${FORM_WORDS[form]}`).join(", ");
      if (a.effect === "Allow") grant(a, `${where(a)} switches ${switched}: grants`, b);
      else
        emit(
          category,
          "weakened",
          "high",
          `${where(a)} switches ${switched}: ${describeStatement(a, context).replace(/^Deny/, "denies")} (was: ${describeStatement(b, context).replace(/^Deny/, "denies")})`,
          d,
        );
      continue;
    }
    // A `Not…` list names what a statement leaves out: a name added to it takes coverage away, and
    // one taken off it adds coverage — the other way round from a plain list.
    const added = <T>(items: readonly T[], old: readonly T[], covers: (old: readonly T[]) => (item: T) => boolean) =>
      items.filter((item) => !covers(old)(item));
    const exactly = (patterns: readonly string[]) => (item: string) => patterns.includes(item);
    // By coverage, not by spelling: `kms:CreateAlias` in place of `kms:Create*` grants nothing new.
    const coveredBy = (patterns: readonly string[]) => (action: string) =>
      patterns.some((pattern) => patternCovers(pattern, action));
    const arnsCoveredBy = (patterns: readonly string[]) => (arn: string) =>
      // ARNs are case-sensitive (IAM's Resource element reference).
      patterns.some((pattern) => globCovers(pattern, arn, { ignoreCase: false }));
    const [newPrincipals, gonePrincipals] = a.notPrincipal
      ? [added(b.principals, a.principals, exactly), added(a.principals, b.principals, exactly)]
      : [added(a.principals, b.principals, exactly), added(b.principals, a.principals, exactly)];
    const [newActions, goneActions] = a.notAction
      ? [added(b.actions, a.actions, coveredBy), added(a.actions, b.actions, coveredBy)]
      : [added(a.actions, b.actions, coveredBy), added(b.actions, a.actions, coveredBy)];
    const widened = onEverything(a) && !onEverything(b);
    const [newResources, goneResources] = a.notResource
      ? [added(b.resources, a.resources, arnsCoveredBy), added(a.resources, b.resources, arnsCoveredBy)]
      : [added(a.resources, b.resources, arnsCoveredBy), added(b.resources, a.resources, arnsCoveredBy)];
    const conditionDropped = b.condition !== "" && a.condition === "";
    const conditionChanged = b.condition !== a.condition && !conditionDropped;
    // By what the conditions imply, not by their text (conditions.ts): a grant whose new condition
    // holds only where the old one did is narrowed, and a denial whose new condition holds wherever
    // the old one did still denies every request it denied. Unproven reads as the weaker case.
    const wasCondition = parseCondition(b.raw["Condition"]);
    const isCondition = parseCondition(a.raw["Condition"]);
    const holdsWhereItDid = implies(wasCondition, isCondition);
    const holdsOnlyWhereItDid = implies(isCondition, wasCondition);
    const conditionNarrowed = conditionChanged && holdsOnlyWhereItDid;
    if (a.effect === "Allow") {
      const weights: Severity[] = [];
      const words: string[] = [];
      if (newPrincipals.length > 0) {
        const principals = principalWeight(newPrincipals, limitsCaller(a));
        const sensitive = weighActions(a.actions, onEverything(a));
        weights.push(worst([principals.severity, sensitive.severity, "medium"]));
        words.push(`now also granted to ${principals.words.join(", ")}`);
      }
      if (newActions.length > 0) {
        const actions = weighActions(newActions, onEverything(a));
        weights.push(worst([actions.severity, "low"]));
        words.push(
          `now also allows ${newActions.map((x) => `\`${x}\``).join(", ")}${actions.words ? ` — ${actions.words}` : ""}`,
        );
      }
      if (widened) {
        const actions = weighActions(a.actions, true);
        weights.push(worst([actions.severity, "high"]));
        words.push(`now on every resource (\`*\`)${actions.words ? ` — ${actions.words}` : ""}`);
      } else if (newResources.length > 0) {
        weights.push("low");
        words.push(`now also on ${newResources.map((r) => `\`${r}\``).join(", ")}`);
      }
      const narrowing = conditionNarrowed
        ? [
            `allows only where it did${holdsWhereItDid ? "" : ", and less"}: if ${a.condition} (was ${b.condition ? `if ${b.condition}` : "unconditional"})`,
          ]
        : [];
      if (conditionDropped) {
        weights.push(worst([principalWeight(a.principals, false).severity, "high"]));
        words.push(`no longer conditional (was: ${b.condition})`);
      } else if (conditionChanged && !conditionNarrowed) {
        weights.push("medium");
        words.push(`condition changes from ${b.condition || "(none)"} to ${a.condition}`);
      }
      if (weights.length > 0)
        emit(
          category,
          conditionChanged && !conditionNarrowed && weights.length === 1 ? "changed" : "weakened",
          worst(weights),
          `${where(a)}: ${[...words, ...narrowing].join("; ")}`,
          d,
        );
      else {
        const gone = [...goneActions, ...gonePrincipals, ...goneResources].map((x) => `\`${x}\``).join(", ");
        const narrowed = [...(gone ? [gone] : []), ...narrowing].join("; ");
        // A change in which nothing was found either way is not called a strengthening.
        if (narrowed) emit(category, "strengthened", "low", `${where(a)}: narrowed (${narrowed})`, d);
        else unjudged(a, d);
      }
    } else {
      const words: string[] = [];
      if (goneActions.length > 0) words.push(`no longer denies ${goneActions.map((x) => `\`${x}\``).join(", ")}`);
      if (gonePrincipals.length > 0)
        words.push(`no longer denies to ${gonePrincipals.map((p) => describePrincipal(p, context).text).join(", ")}`);
      if (goneResources.length > 0)
        words.push(`no longer denies on ${goneResources.map((r) => `\`${r}\``).join(", ")}`);
      // An absent condition is "always": a denial that loses its condition denies every request.
      const conditionStronger = a.condition !== b.condition && holdsWhereItDid;
      if (a.condition !== b.condition && !conditionStronger)
        words.push(`denies only if ${a.condition || "(always)"} (was ${b.condition || "always"})`);
      const stronger = conditionStronger
        ? [
            `denies whenever it did${holdsOnlyWhereItDid ? "" : ", and more"}: ${a.condition ? `if ${a.condition}` : "always"} (was if ${b.condition})`,
          ]
        : [];
      const more = [...newActions, ...newPrincipals, ...newResources];
      const denials = [...(more.length > 0 ? [`denies more (${more.join(", ")})`] : []), ...stronger];
      if (words.length > 0) emit(category, "weakened", "high", `${where(a)}: ${[...words, ...stronger].join("; ")}`, d);
      else if (denials.length > 0) emit(category, "strengthened", "low", `${where(a)}: ${denials.join("; ")}`, d);
      else unjudged(a, d);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Network exposure

interface Exposure {
  readonly source: string;
  readonly reach: "the internet" | "a public range" | "a private range" | "a security group" | "a prefix list";
  readonly ports: string;
  /** Whether the ports are the edge's (80/443 only). */
  readonly edgeOnly: boolean;
  readonly target: string;
}

function reachOf(cidr: string): Exposure["reach"] {
  if (cidr === "0.0.0.0/0" || cidr === "::/0") return "the internet";
  try {
    const [address] = ipaddr.parseCIDR(cidr);
    const range = address.range();
    return ["private", "uniqueLocal", "loopback", "linkLocal", "carrierGradeNat"].includes(range)
      ? "a private range"
      : "a public range";
  } catch {
    return "a public range";
  }
}

function portsOf(
  protocol: Json | undefined,
  from: Json | undefined,
  to: Json | undefined,
): { ports: string; edgeOnly: boolean } {
  const proto = text(protocol ?? "-1").toLowerCase();
  if (proto === "-1" || proto === "all") return { ports: "every port", edgeOnly: false };
  const low = Number(from ?? 0);
  const high = Number(to ?? low);
  const name = proto === "6" ? "tcp" : proto === "17" ? "udp" : proto;
  const ports =
    low === high ? `${low}/${name}` : low <= 0 && high >= 65535 ? `every ${name} port` : `${low}-${high}/${name}`;
  return { ports, edgeOnly: low === high && (low === 443 || low === 80) };
}

const INGRESS_CLAIM =
  /^(ingress|cidrIpv4|cidrIpv6|cidrBlocks|ipv6CidrBlocks|fromPort|toPort|ipProtocol|protocol|prefixListId|prefixListIds|referencedSecurityGroupId|sourceSecurityGroupId|securityGroups|self)(\.|\[|$)|^vpcConfig\.(publicAccessCidrs|endpointPublicAccess)/;

function exposuresOf(resource: PlannedResource | undefined): Exposure[] {
  if (!resource) return [];
  const inputs = resource.inputs;
  const rule = (r: Inputs, target: string): Exposure[] => {
    const { ports, edgeOnly } = portsOf(r["ipProtocol"] ?? r["protocol"], r["fromPort"], r["toPort"]);
    const sources: { source: string; reach: Exposure["reach"] }[] = [
      ...[
        ...strings(r["cidrBlocks"]),
        ...strings(r["ipv6CidrBlocks"]),
        ...strings(r["cidrIpv4"]),
        ...strings(r["cidrIpv6"]),
      ].map((cidr) => ({ source: cidr, reach: reachOf(cidr) })),
      ...[...strings(r["prefixListId"]), ...strings(r["prefixListIds"])].map((id) => ({
        source: id,
        reach: "a prefix list" as const,
      })),
      ...[
        ...strings(r["referencedSecurityGroupId"]),
        ...strings(r["sourceSecurityGroupId"]),
        ...strings(r["securityGroups"]),
      ].map((id) => ({ source: id, reach: "a security group" as const })),
    ];
    return sources.map((source) => ({ ...source, ports, edgeOnly, target }));
  };
  switch (resource.type) {
    case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
      return rule(inputs, text(inputs["securityGroupId"] ?? resource.name));
    case "aws:ec2/securityGroupRule:SecurityGroupRule":
      return inputs["type"] === "ingress" ? rule(inputs, text(inputs["securityGroupId"] ?? resource.name)) : [];
    case "aws:ec2/securityGroup:SecurityGroup":
    case "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":
      return objects(inputs["ingress"]).flatMap((r) => rule(r, resource.name));
    case "aws:eks/cluster:Cluster": {
      if (get(inputs, "vpcConfig", "endpointPublicAccess") === false) return [];
      const cidrs = strings(get(inputs, "vpcConfig", "publicAccessCidrs"));
      return (cidrs.length > 0 ? cidrs : ["0.0.0.0/0"]).map((cidr) => ({
        source: cidr,
        reach: reachOf(cidr),
        ports: "443/tcp",
        edgeOnly: false,
        target: "the Kubernetes API endpoint",
      }));
    }
    default:
      return [];
  }
}

function exposureFindings(before: PlannedResource | undefined, after: PlannedResource | undefined, emit: Emit): void {
  const key = (exposure: Exposure) => `${exposure.source} ${exposure.ports} ${exposure.target}`;
  const was = exposuresOf(before);
  const is = exposuresOf(after);
  const wasKeys = new Set(was.map(key));
  const isKeys = new Set(is.map(key));
  for (const exposure of is.filter((e) => !wasKeys.has(key(e)))) {
    const to = exposure.target.startsWith("the ") ? ` (${exposure.target})` : "";
    if (exposure.reach === "the internet") {
      emit(
        "network-exposure",
        "weakened",
        exposure.edgeOnly ? "high" : "critical",
        `opens ${exposure.ports} to the internet (${exposure.source})${to}`,
        { path: "ingress", after: exposure.source },
      );
    } else if (exposure.reach === "a public range") {
      emit(
        "network-exposure",
        "weakened",
        "medium",
        `opens ${exposure.ports} to the public range ${exposure.source}${to}`,
        {
          path: "ingress",
          after: exposure.source,
        },
      );
    } else if (before !== undefined) {
      emit(
        "network-exposure",
        "changed",
        "low",
        `admits ${exposure.ports} from ${exposure.reach} (${exposure.source})${to}`,
        {
          path: "ingress",
          after: exposure.source,
        },
      );
    }
  }
  for (const exposure of was.filter((e) => !isKeys.has(key(e)))) {
    if (exposure.reach !== "the internet" && exposure.reach !== "a public range") continue;
    emit(
      "network-exposure",
      "strengthened",
      "low",
      `no longer opens ${exposure.ports} to ${exposure.reach} (${exposure.source})`,
      {
        path: "ingress",
        before: exposure.source,
      },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// TLS and ciphers

interface Strength {
  readonly path: RegExp;
  readonly types?: readonly string[];
  /** Higher is stronger; undefined when the value is unknown to the scale. */
  readonly rank: (value: Json | undefined) => number | undefined;
  /** The rank below which a value is weak on its own (an added resource is flagged with it). */
  readonly weakBelow: number;
  readonly what: string;
}

const scale =
  (values: readonly string[], unset?: number) =>
  (value: Json | undefined): number | undefined => {
    if (value === undefined) return unset;
    const index = values.indexOf(text(value));
    return index < 0 ? undefined : index;
  };
const tlsVersionIn = (value: Json | undefined): number | undefined => {
  if (typeof value !== "string") return undefined;
  if (/TLS13|TLS-?1-?3/i.test(value)) return 3;
  if (/TLS-?1-?2/i.test(value)) return 2;
  if (/TLS-?1-?1/i.test(value)) return 1;
  if (/TLS-?1-?0|2016-08|2015-05/i.test(value)) return 0;
  return undefined;
};

const STRENGTHS: readonly Strength[] = [
  {
    path: /^viewerCertificate\.minimumProtocolVersion$/,
    rank: scale(
      [
        "SSLv3",
        "TLSv1",
        "TLSv1_2016",
        "TLSv1.1_2016",
        "TLSv1.2_2018",
        "TLSv1.2_2019",
        "TLSv1.2_2021",
        "TLSv1.2_2025",
        "TLSv1.3_2025",
      ],
      1,
    ),
    weakBelow: 5,
    what: "CloudFront's minimum viewer TLS",
  },
  {
    path: /^viewerCertificate\.cloudfrontDefaultCertificate$/,
    rank: (value) => (value === true ? 0 : 1),
    weakBelow: 1,
    what: "CloudFront's default certificate (accepts TLS 1.0)",
  },
  {
    path: /(^|\.)tlsSecurityPolicy$/,
    rank: (v) => (typeof v === "string" && /PFS/.test(v) ? 4 : tlsVersionIn(v)),
    weakBelow: 2,
    what: "the minimum TLS policy",
  },
  { path: /(^|\.)sslPolicy$/, rank: tlsVersionIn, weakBelow: 2, what: "the listener's TLS policy" },
  {
    path: /(^|\.)viewerProtocolPolicy$/,
    rank: scale(["allow-all", "redirect-to-https", "https-only"]),
    weakBelow: 1,
    what: "the viewer protocol policy",
  },
  {
    path: /(^|\.)originProtocolPolicy$/,
    rank: scale(["http-only", "match-viewer", "https-only"]),
    weakBelow: 2,
    what: "the origin protocol policy",
  },
  {
    path: /(^|\.)originSslProtocols\[\d+\]$/,
    rank: (v) => (v === undefined ? undefined : v === "TLSv1.2" ? 1 : 0),
    weakBelow: 1,
    what: "the TLS versions CloudFront offers its origin",
  },
  {
    path: /(^|\.)transitEncryptionMode$/,
    rank: scale(["preferred", "required"]),
    weakBelow: 1,
    what: "Redis TLS mode",
  },
  {
    path: /(^|\.)(transitEncryptionEnabled|enforceHttps)$/,
    rank: (v) => (v === true || v === "true" ? 1 : 0),
    weakBelow: 1,
    what: "TLS in transit",
  },
  {
    path: /^parameters\[name=rds\.force_ssl\]\.value$/,
    rank: (v) => (v === "1" || v === 1 ? 1 : 0),
    weakBelow: 1,
    what: "rds.force_ssl",
  },
];

function tlsFindings(changes: readonly LeafChange[], kind: ChangeKind, emit: Emit): Set<PropertyPath> {
  const claimed = new Set<PropertyPath>();
  for (const change of changes) {
    const strength = STRENGTHS.find((candidate) => candidate.path.test(change.path));
    if (!strength) continue;
    claimed.add(change.path);
    const show = (value: Json | undefined) =>
      value === undefined ? "(unset)" : `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;
    const after = strength.rank(change.after);
    if (kind === "added") {
      if (after !== undefined && after < strength.weakBelow)
        emit("tls", "weakened", "high", `${strength.what} is weak: ${show(change.after)}`, change);
      continue;
    }
    if (kind === "removed") continue;
    const before = strength.rank(change.before);
    if (before === undefined || after === undefined) {
      emit(
        "tls",
        "changed",
        "low",
        `${strength.what}: ${show(change.before)} → ${show(change.after)} (not on the known scale)`,
        change,
      );
    } else if (after < before) {
      emit(
        "tls",
        "weakened",
        after < strength.weakBelow ? "high" : "medium",
        `${strength.what} lowered: ${show(change.before)} → ${show(change.after)}`,
        change,
      );
    } else if (after > before) {
      emit(
        "tls",
        "strengthened",
        "low",
        `${strength.what} raised: ${show(change.before)} → ${show(change.after)}`,
        change,
      );
    }
  }
  return claimed;
}

// ---------------------------------------------------------------------------------------------
// WAF and logging: by presence

const LOGGING_TYPES: Readonly<Record<string, string>> = {
  "aws:ec2/flowLog:FlowLog": "VPC flow log",
  "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": "WAF logging",
  "aws:cloudtrail/trail:Trail": "CloudTrail trail",
  "aws:s3/bucketLogging:BucketLogging": "S3 access logging",
  "aws:s3/bucketLoggingV2:BucketLoggingV2": "S3 access logging",
};

function presenceFindings(before: PlannedResource | undefined, after: PlannedResource | undefined, emit: Emit): void {
  const resource = (after ?? before) as PlannedResource;
  const kind = kindOf(before, after);
  const logging = LOGGING_TYPES[resource.type];
  if (logging && kind !== "changed") {
    if (kind === "removed")
      emit("logging", "weakened", "high", `${logging} removed: what it recorded is no longer recorded`);
    else emit("logging", "strengthened", "low", `${logging} added`);
  }
  if (resource.type === "aws:wafv2/webAclAssociation:WebAclAssociation" && kind !== "changed") {
    if (kind === "removed")
      emit(
        "waf",
        "weakened",
        "critical",
        `WAF association removed: ${text(before?.inputs["resourceArn"] ?? "the resource")} is no longer filtered by ${text(before?.inputs["webAclArn"] ?? "its web ACL")}`,
      );
    else emit("waf", "strengthened", "low", `WAF association added for ${text(after?.inputs["resourceArn"] ?? "?")}`);
  }
  if (resource.type === "aws:wafv2/webAcl:WebAcl" && kind === "removed")
    emit("waf", "weakened", "critical", "web ACL removed: whatever it fronted is unfiltered");
  if (resource.type === "aws:cloudfront/distribution:Distribution") {
    const was = before?.inputs["webAclId"];
    const is = after?.inputs["webAclId"];
    const has = (value: Json | undefined) => typeof value === "string" && value !== "";
    if (kind !== "removed" && !has(is) && (kind === "added" || has(was)))
      emit(
        "waf",
        "weakened",
        "critical",
        `the distribution is no longer behind a WAF web ACL (webAclId ${has(was) ? `\`${text(was)}\` removed` : "unset"})`,
        {
          path: "webAclId",
          ...(was !== undefined ? { before: was } : {}),
        },
      );
    else if (kind === "changed" && has(is) && !has(was))
      emit("waf", "strengthened", "low", "the distribution is now behind a WAF web ACL", {
        path: "webAclId",
        ...(is !== undefined ? { after: is } : {}),
      });
    else if (kind === "changed" && has(is) && has(was) && is !== was)
      emit(
        "waf",
        "changed",
        "medium",
        `the distribution moves to another web ACL: \`${text(was)}\` → \`${text(is)}\``,
        { path: "webAclId" },
      );
  }
  if (resource.type === "aws:wafv2/webAcl:WebAcl" && kind === "changed" && before && after) {
    const rules = (inputs: Inputs) => new Map(objects(inputs["rules"]).map((rule) => [text(rule["name"]), rule]));
    const was = rules(before.inputs);
    const is = rules(after.inputs);
    for (const [name, rule] of was) {
      const managed = get(rule, "statement", "managedRuleGroupStatement", "name");
      const now = is.get(name);
      if (!now)
        emit(
          "waf",
          "weakened",
          managed !== undefined || get(rule, "statement", "rateBasedStatement") ? "high" : "medium",
          `WAF rule ${name}${managed ? ` (${text(managed)})` : ""} removed`,
          { path: `rules[name=${name}]`, before: rule },
        );
      else if (get(rule, "overrideAction", "none") !== undefined && get(now, "overrideAction", "count") !== undefined)
        emit("waf", "weakened", "high", `WAF rule ${name} only counts now: it no longer blocks`, {
          path: `rules[name=${name}].overrideAction`,
        });
      else if (get(rule, "action", "block") !== undefined && get(now, "action", "block") === undefined)
        emit("waf", "weakened", "high", `WAF rule ${name} no longer blocks`, { path: `rules[name=${name}].action` });
    }
    for (const name of is.keys()) if (!was.has(name)) emit("waf", "strengthened", "low", `WAF rule ${name} added`);
    const action = (inputs: Inputs) =>
      get(inputs, "defaultAction", "block") !== undefined
        ? "block"
        : get(inputs, "defaultAction", "allow") !== undefined
          ? "allow"
          : "?";
    if (action(before.inputs) === "block" && action(after.inputs) === "allow")
      emit("waf", "weakened", "high", "the web ACL's default action turns from block to allow", {
        path: "defaultAction",
      });
  }
  // Log types a service exports, compared as sets.
  const sets: readonly { property: string; what: string; severity: Severity; read: (inputs: Inputs) => string[] }[] = [
    {
      property: "enabledClusterLogTypes",
      what: "EKS control-plane log",
      severity: "high",
      read: (i) => strings(i["enabledClusterLogTypes"]),
    },
    {
      property: "enabledCloudwatchLogsExports",
      what: "database log export",
      severity: "medium",
      read: (i) => strings(i["enabledCloudwatchLogsExports"]),
    },
    {
      property: "logPublishingOptions",
      what: "search-domain log",
      severity: "medium",
      read: (i) =>
        objects(i["logPublishingOptions"])
          .filter((o) => o["enabled"] !== false)
          .map((o) => text(o["logType"])),
    },
    {
      property: "logDeliveryConfigurations",
      what: "Redis log delivery",
      severity: "medium",
      read: (i) => objects(i["logDeliveryConfigurations"]).map((o) => text(o["logType"])),
    },
  ];
  if (kind === "changed" && before && after) {
    for (const set of sets) {
      const was = set.read(before.inputs);
      const is = set.read(after.inputs);
      const lost = was.filter((type) => !is.includes(type));
      const gained = is.filter((type) => !was.includes(type));
      if (lost.length > 0)
        emit(
          "logging",
          "weakened",
          lost.includes("AUDIT_LOGS") || lost.includes("audit") ? "high" : set.severity,
          `${set.what} no longer recorded: ${lost.join(", ")}`,
          { path: set.property },
        );
      if (gained.length > 0)
        emit("logging", "strengthened", "low", `${set.what} now recorded: ${gained.join(", ")}`, {
          path: set.property,
        });
    }
  }
}
const LOG_SET_CLAIM =
  /^(enabledClusterLogTypes|enabledCloudwatchLogsExports|logPublishingOptions|logDeliveryConfigurations)(\.|\[|$)/;
const presenceClaims = (type: string, path: PropertyPath): boolean =>
  LOG_SET_CLAIM.test(path) ||
  (type === "aws:cloudfront/distribution:Distribution" && /^webAclId$/.test(path)) ||
  (type === "aws:wafv2/webAcl:WebAcl" && /^(rules|defaultAction)(\.|\[|$)/.test(path));

// ---------------------------------------------------------------------------------------------
// Kubernetes pod security

const POD_CLAIM = /(^|\.)(securityContext|hostNetwork|hostPID|hostIPC|hostPath)(\.|\[|$)/;

function podFindings(before: PlannedResource | undefined, after: PlannedResource | undefined, emit: Emit): boolean {
  const spec = (resource: PlannedResource | undefined) =>
    resource ? podSpecOfManifest(resource.type, resource.inputs) : undefined;
  const was = spec(before);
  const is = spec(after);
  if (!was && !is) return false;
  if (!is) return true;
  const now: PodSecurity = podSecurity(is);
  const then: PodSecurity | undefined = was ? podSecurity(was) : undefined;
  const known = new Set(then?.problems.map((problem) => problem.text) ?? []);
  const levelWords =
    then && LEVEL_ORDER[now.level] < LEVEL_ORDER[then.level]
      ? ` — Pod Security ${then.level} → ${now.level}`
      : ` — Pod Security level ${now.level}`;
  for (const problem of now.problems.filter((p) => !known.has(p.text))) {
    emit(
      "pod-security",
      "weakened",
      problem.breaks === "baseline" ? "critical" : "high",
      `${problem.text} (${problem.control}, breaks the ${problem.breaks} standard)${levelWords}`,
    );
  }
  for (const container of now.writableRootFilesystem.filter((c) => !(then?.writableRootFilesystem ?? []).includes(c))) {
    emit(
      "pod-security",
      "weakened",
      "medium",
      `${container}'s root filesystem is writable (readOnlyRootFilesystem is not true)`,
    );
  }
  for (const limit of now.missingLimits.filter((c) => !(then?.missingLimits ?? []).includes(c))) {
    emit("pod-security", "weakened", "low", limit);
  }
  if (then) {
    const fixed = then.problems.filter((problem) => !now.problems.some((p) => p.text === problem.text));
    if (fixed.length > 0)
      emit(
        "pod-security",
        "strengthened",
        "low",
        `fixed: ${fixed.map((p) => p.text).join("; ")}${LEVEL_ORDER[now.level] > LEVEL_ORDER[then.level] ? ` — Pod Security ${then.level} → ${now.level}` : ""}`,
      );
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Secrets

/** `[secret]` or `[secret:<fingerprint>]`: a masked value. */
export const isMaskedSecret = (value: Json | undefined): boolean =>
  typeof value === "string" && /^\[secret(:[0-9a-f]+)?\]$/.test(value);

function secretFindings(changes: readonly LeafChange[], kind: ChangeKind, emit: Emit): Set<PropertyPath> {
  const claimed = new Set<PropertyPath>();
  if (kind !== "changed") return claimed;
  for (const change of changes) {
    const was = isMaskedSecret(change.before);
    const is = isMaskedSecret(change.after);
    if (!was && !is) continue;
    claimed.add(change.path);
    if (was && is)
      emit("secrets", "changed", "medium", `the secret value of \`${change.path}\` changes (masked)`, {
        path: change.path,
      });
    else if (was && change.after !== undefined)
      emit(
        "secrets",
        "weakened",
        "high",
        `\`${change.path}\` is no longer secret: its value is stored and shown in plain text`,
        { path: change.path },
      );
    else if (was) emit("secrets", "changed", "low", `the secret \`${change.path}\` is removed`, { path: change.path });
    else emit("secrets", "strengthened", "low", `\`${change.path}\` is now secret`, { path: change.path });
  }
  return claimed;
}

// ---------------------------------------------------------------------------------------------

/** Input properties whose value is a policy document. */
export function policyProperties(resource: PlannedResource | undefined): string[] {
  if (!resource) return [];
  return Object.keys(resource.inputs).filter((property) => documentOf(resource.inputs[property]) !== undefined);
}

/** Every semantic finding of one resource's change (or addition, or removal). */
export function classify(
  before: PlannedResource | undefined,
  after: PlannedResource | undefined,
  changes: readonly LeafChange[],
  context: ClassifyContext,
): Classified {
  const resource = (after ?? before) as PlannedResource;
  const kind = kindOf(before, after);
  const findings: Finding[] = [];
  /** An emitter that records this resource's findings into `into`. */
  const emitterInto =
    (into: Finding[]): Emit =>
    (category, direction, severity, reason, detail) => {
      into.push({
        ...refOf(resource),
        category,
        kind,
        direction,
        severity,
        reason,
        ...(detail?.path !== undefined ? { path: detail.path } : {}),
        ...(detail?.before !== undefined ? { before: detail.before } : {}),
        ...(detail?.after !== undefined ? { after: detail.after } : {}),
      });
    };
  const emit = emitterInto(findings);

  const documents = [...new Set([...policyProperties(before), ...policyProperties(after)])];
  for (const property of documents) {
    const was = statementsOf(documentOf(before?.inputs[property]));
    const is = statementsOf(documentOf(after?.inputs[property]));
    const category: SecurityCategory = resource.type.startsWith("aws:kms/") ? "kms-key-policy" : "iam";
    const local: Finding[] = [];
    const into = emitterInto(local);
    policyFindings(property, was, is, context, (c, ...rest) => {
      into(c === "iam" ? category : c, ...rest);
    });
    // An added resource's ordinary grants are its properties, not findings; a removed one's are gone.
    findings.push(
      ...local.filter((f) =>
        kind === "changed" ? true : kind === "added" ? f.severity !== "low" : f.direction === "weakened",
      ),
    );
  }
  exposureFindings(before, after, emit);
  const tls = tlsFindings(changes, kind, emit);
  presenceFindings(before, after, emit);
  const pods = podFindings(before, after, emit);
  const secrets = secretFindings(changes, kind, emit);

  const exposureTypes = exposuresOf(resource).length > 0 || /securityGroup|eks\/cluster/.test(resource.type);
  const claims = (path: PropertyPath): boolean =>
    documents.some(
      (property) => path === property || path.startsWith(`${property}.`) || path.startsWith(`${property}[`),
    ) ||
    (exposureTypes && INGRESS_CLAIM.test(path)) ||
    tls.has(path) ||
    presenceClaims(resource.type, path) ||
    (pods && POD_CLAIM.test(path)) ||
    secrets.has(path);
  return { findings, claims };
}
