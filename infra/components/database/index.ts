import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { serviceTrustPolicy } from "../workload-roles/irsa";
import { DataStoreAccess } from "../data-store-access";

export const POSTGRES_PORT = 5432;
const DATABASE_NAME = "paimon";
const MASTER_USER = "paimon_admin";

export interface DatabaseArgs {
  /** Physical name prefix: the instance is `<prefix>-postgres`. */
  readonly namePrefix: string;
  readonly vpcId: pulumi.Input<string>;
  /** The database tier's subnets (no route out of the VPC). */
  readonly subnetIds: pulumi.Input<string>[];
  /** The only security group that may connect: the cluster's nodes. */
  readonly clientSecurityGroupId: pulumi.Input<string>;
  /** Encrypts storage, Performance Insights and the master secret. */
  readonly kmsKeyArn: pulumi.Input<string>;
  readonly engineVersion: string;
  readonly instanceClass: string;
  readonly allocatedStorageGiB: number;
  /** Storage autoscaling ceiling. */
  readonly maxAllocatedStorageGiB: number;
  /** A synchronous standby in another AZ. */
  readonly multiAz: boolean;
  /** Asynchronous read replicas, each in the database subnets. @default 0 */
  readonly readReplicas?: number;
  /** Automated backups and point-in-time recovery window, in days (1–35). */
  readonly backupRetentionDays: number;
  readonly deletionProtection: boolean;
  readonly performanceInsights: boolean;
  /** Enhanced monitoring interval in seconds; 0 turns it off. */
  readonly monitoringIntervalSeconds: number;
  /**
   * Create the instance by restoring these automated backups to their latest restorable time:
   * how a standby environment in the DR region gets the fund's data. @default a new, empty database
   */
  readonly restoreFromBackupsArn?: string | undefined;
}

/**
 * RDS PostgreSQL 16 in the database subnets: reachable on 5432 from the cluster only, storage
 * encrypted with the data key, TLS forced by the parameter group, a generated master password
 * that never appears in configuration. Point-in-time recovery over the whole backup window is how
 * the seed's "hourly WAL" line is met on RDS, which gives no WAL access: the RPO is minutes.
 */
export class Database extends pulumi.ComponentResource {
  readonly instanceArn: pulumi.Output<string>;
  readonly instanceIdentifier: pulumi.Output<string>;
  /** The subnet and parameter groups, which a point-in-time restore (the DR drill's) passes on. */
  readonly subnetGroupArn: pulumi.Output<string>;
  readonly parameterGroupArn: pulumi.Output<string>;
  readonly address: pulumi.Output<string>;
  readonly replicaAddresses: pulumi.Output<string>[];
  /** `postgresql://…?sslmode=verify-full`, secret. */
  readonly databaseUrl: pulumi.Output<string>;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:data:Database", name, {}, opts);
    if (args.maxAllocatedStorageGiB < args.allocatedStorageGiB) {
      throw new pulumi.ResourceError("maxAllocatedStorageGiB: must be at least allocatedStorageGiB", this);
    }
    if (args.backupRetentionDays < 1 || args.backupRetentionDays > 35) {
      throw new pulumi.ResourceError("backupRetentionDays: RDS keeps 1–35 days; 0 would turn backups off", this);
    }
    const child = { parent: this };
    const identifier = `${args.namePrefix}-postgres`;

    const access = new DataStoreAccess(
      `${name}-access`,
      {
        description: `${identifier}: PostgreSQL from the cluster only`,
        vpcId: args.vpcId,
        port: POSTGRES_PORT,
        clientSecurityGroupId: args.clientSecurityGroupId,
      },
      child,
    );
    const subnets = new aws.rds.SubnetGroup(
      `${name}-subnets`,
      { name: identifier, description: `${identifier} database tier`, subnetIds: args.subnetIds },
      child,
    );
    const major = args.engineVersion.split(".")[0] ?? "16";
    const parameters = new aws.rds.ParameterGroup(
      `${name}-parameters`,
      {
        name: `${identifier}-pg${major}`,
        family: `postgres${major}`,
        description: `${identifier}: TLS only, slow statements logged`,
        parameters: [
          { name: "rds.force_ssl", value: "1" },
          { name: "ssl_min_protocol_version", value: "TLSv1.2" },
          { name: "log_min_duration_statement", value: "1000" },
          { name: "log_lock_waits", value: "1" },
          { name: "shared_preload_libraries", value: "pg_stat_statements", applyMethod: "pending-reboot" },
        ],
      },
      child,
    );
    const password = new random.RandomPassword(`${name}-master`, { length: 40, special: false }, child);

    let monitoringRoleArn: pulumi.Output<string> | undefined;
    if (args.monitoringIntervalSeconds > 0) {
      const role = new aws.iam.Role(
        `${name}-monitoring`,
        {
          description: `${identifier} enhanced monitoring`,
          assumeRolePolicy: JSON.stringify(serviceTrustPolicy("monitoring.rds.amazonaws.com")),
        },
        child,
      );
      new aws.iam.RolePolicyAttachment(
        `${name}-monitoring`,
        { role: role.name, policyArn: "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole" },
        child,
      );
      monitoringRoleArn = role.arn;
    }
    const insights = args.performanceInsights
      ? {
          performanceInsightsEnabled: true,
          performanceInsightsKmsKeyId: args.kmsKeyArn,
          performanceInsightsRetentionPeriod: 7,
        }
      : { performanceInsightsEnabled: false };
    const monitoring = monitoringRoleArn
      ? { monitoringInterval: args.monitoringIntervalSeconds, monitoringRoleArn }
      : { monitoringInterval: 0 };

    const primary = new aws.rds.Instance(
      `${name}-primary`,
      {
        identifier,
        engine: "postgres",
        engineVersion: args.engineVersion,
        instanceClass: args.instanceClass,
        allocatedStorage: args.allocatedStorageGiB,
        maxAllocatedStorage: args.maxAllocatedStorageGiB,
        storageType: "gp3",
        storageEncrypted: true,
        kmsKeyId: args.kmsKeyArn,
        dbName: DATABASE_NAME,
        username: MASTER_USER,
        password: password.result,
        port: POSTGRES_PORT,
        multiAz: args.multiAz,
        dbSubnetGroupName: subnets.name,
        vpcSecurityGroupIds: [access.securityGroupId],
        parameterGroupName: parameters.name,
        publiclyAccessible: false,
        caCertIdentifier: "rds-ca-rsa2048-g1",
        iamDatabaseAuthenticationEnabled: true,
        backupRetentionPeriod: args.backupRetentionDays,
        // 01:00–02:00 in Singapore, after the daily redemption cut-off has settled.
        backupWindow: "17:00-18:00",
        maintenanceWindow: "sun:18:30-sun:19:30",
        copyTagsToSnapshot: true,
        deleteAutomatedBackups: false,
        deletionProtection: args.deletionProtection,
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: `${identifier}-final`,
        enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
        autoMinorVersionUpgrade: true,
        allowMajorVersionUpgrade: false,
        applyImmediately: false,
        ...insights,
        ...monitoring,
        ...(args.restoreFromBackupsArn
          ? {
              restoreToPointInTime: {
                sourceDbInstanceAutomatedBackupsArn: args.restoreFromBackupsArn,
                useLatestRestorableTime: true,
              },
            }
          : {}),
      },
      { ...child, protect: args.deletionProtection },
    );

    const replicas = Array.from(
      { length: args.readReplicas ?? 0 },
      (_, index) =>
        new aws.rds.Instance(
          `${name}-replica-${index + 1}`,
          {
            identifier: `${identifier}-replica-${index + 1}`,
            replicateSourceDb: primary.identifier,
            instanceClass: args.instanceClass,
            storageType: "gp3",
            storageEncrypted: true,
            kmsKeyId: args.kmsKeyArn,
            vpcSecurityGroupIds: [access.securityGroupId],
            parameterGroupName: parameters.name,
            publiclyAccessible: false,
            caCertIdentifier: "rds-ca-rsa2048-g1",
            iamDatabaseAuthenticationEnabled: true,
            // A replica's data is the primary's: it is rebuilt, never restored.
            backupRetentionPeriod: 0,
            skipFinalSnapshot: true,
            deletionProtection: args.deletionProtection,
            enabledCloudwatchLogsExports: ["postgresql"],
            autoMinorVersionUpgrade: true,
            ...insights,
            ...monitoring,
          },
          { ...child, protect: args.deletionProtection },
        ),
    );

    this.instanceArn = primary.arn;
    this.instanceIdentifier = primary.identifier;
    this.subnetGroupArn = subnets.arn;
    this.parameterGroupArn = parameters.arn;
    this.address = primary.address;
    this.replicaAddresses = replicas.map((replica) => replica.address);
    this.databaseUrl = pulumi.secret(
      pulumi.interpolate`postgresql://${MASTER_USER}:${password.result}@${primary.address}:${POSTGRES_PORT}/${DATABASE_NAME}?sslmode=verify-full`,
    );
    this.registerOutputs({ address: this.address, instanceArn: this.instanceArn });
  }
}
