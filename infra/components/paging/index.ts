import * as pagerduty from "@pulumi/pagerduty";
import * as pulumi from "@pulumi/pulumi";

/** The escalation path of the operations spec's §10.2, in order. */
export const ESCALATION_LEVELS = ["onCall", "backend", "techLead", "management"] as const;
export type EscalationLevel = (typeof ESCALATION_LEVELS)[number];

export interface EscalationLevelSpec {
  /** PagerDuty users (by login e-mail) paged at this level. */
  readonly users: readonly string[];
  /** Minutes without acknowledgement before the next level is paged. */
  readonly escalateAfterMinutes: number;
}

export interface PagingArgs {
  /** The PagerDuty service's name, e.g. `Paimon production`. */
  readonly serviceName: string;
  /** Time zone of the on-call rotation, e.g. `Asia/Singapore`. */
  readonly timeZone: string;
  /** When the rotation starts (ISO 8601); fixed, so that plans are stable. */
  readonly rotationStart: string;
  /** Length of one on-call shift, in hours. */
  readonly shiftHours: number;
  readonly levels: Readonly<Record<EscalationLevel, EscalationLevelSpec>>;
}

/**
 * PagerDuty for the §10 escalation path: an on-call rotation for level 1, an escalation policy
 * that pages the backend engineers after 30 minutes without acknowledgement, the tech lead an
 * hour later, then management; a service that Alertmanager's critical alerts open incidents on,
 * and its Events API v2 integration key (stored as the `pagerduty-key` secret).
 */
export class Paging extends pulumi.ComponentResource {
  /** The Events API v2 routing key Alertmanager sends to, secret. */
  readonly integrationKey: pulumi.Output<string>;
  readonly serviceId: pulumi.Output<string>;

  constructor(name: string, args: PagingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:observability:Paging", name, {}, opts);
    for (const level of ESCALATION_LEVELS) {
      if (args.levels[level].users.length === 0) {
        throw new pulumi.ResourceError(`levels.${level}.users: every level of the escalation path needs someone`, this);
      }
    }
    const child = { parent: this };
    const userIds = (level: EscalationLevel) =>
      args.levels[level].users.map((email) => pagerduty.getUserOutput({ email }, { parent: this }).id);

    const rotation = new pagerduty.Schedule(
      `${name}-oncall`,
      {
        name: `${args.serviceName} on-call`,
        description: "Level 1 (spec §10.1: 一线运维, respond within 15 minutes)",
        timeZone: args.timeZone,
        layers: [
          {
            name: "Primary",
            start: args.rotationStart,
            rotationVirtualStart: args.rotationStart,
            rotationTurnLengthSeconds: args.shiftHours * 3600,
            users: userIds("onCall"),
          },
        ],
      },
      child,
    );
    const users = (level: EscalationLevel) => userIds(level).map((id) => ({ type: "user_reference", id }));
    const policy = new pagerduty.EscalationPolicy(
      `${name}-escalation`,
      {
        name: `${args.serviceName} escalation`,
        description: "On-call → backend (Slack + phone) → tech lead (phone) → management (conference): spec §10.2",
        numLoops: 2,
        rules: [
          {
            escalationDelayInMinutes: args.levels.onCall.escalateAfterMinutes,
            targets: [{ type: "schedule_reference", id: rotation.id }],
          },
          { escalationDelayInMinutes: args.levels.backend.escalateAfterMinutes, targets: users("backend") },
          { escalationDelayInMinutes: args.levels.techLead.escalateAfterMinutes, targets: users("techLead") },
          { escalationDelayInMinutes: args.levels.management.escalateAfterMinutes, targets: users("management") },
        ],
      },
      child,
    );
    const service = new pagerduty.Service(
      `${name}-service`,
      {
        name: args.serviceName,
        description: "Critical alerts of the Paimon platform, from Alertmanager",
        escalationPolicy: policy.id,
        // An acknowledged incident that nobody resolves comes back after 4 hours.
        acknowledgementTimeout: "14400",
        autoResolveTimeout: "null",
        alertCreation: "create_alerts_and_incidents",
        incidentUrgencyRule: { type: "constant", urgency: "high" },
      },
      child,
    );
    const integration = new pagerduty.ServiceIntegration(
      `${name}-alertmanager`,
      { name: "Alertmanager", service: service.id, type: "events_api_v2_inbound_integration" },
      child,
    );
    this.serviceId = service.id;
    this.integrationKey = pulumi.secret(integration.integrationKey);
    this.registerOutputs({ serviceId: this.serviceId });
  }
}
