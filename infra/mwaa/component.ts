// `mwaa` target: Amazon MWAA (Airflow 3) with its network, source bucket, execution role and the
// connections in Secrets Manager.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import {
  DAG_S3_PATH,
  REQUIREMENTS_KEY,
  resolveArgs,
  type MwaaAirflowArgs,
  type MwaaLogSetting,
  type ResolvedMwaaAirflowArgs,
} from "./args.js";
import { lifecycleRules, serverSideEncryptionRule, tlsOnlyBucketPolicy } from "./bucket.js";
import { DagObjects } from "./dagObjects.js";
import { MwaaArgsError } from "./errors.js";
import { executionRolePolicy, executionRoleTrustPolicy } from "./iam.js";
import { natGatewayFor, pickAvailabilityZones } from "./network.js";
import {
  anyscaleConnectionJson,
  slackApiConnectionJson,
  slackWebhookConnectionJson,
} from "../shared/connections.js";

/** Pulumi type token of the component. */
export const MWAA_AIRFLOW_TYPE = "llmops:mwaa:MwaaAirflow";

type Tags = Readonly<Record<string, string>>;

/** Where the environment runs: VPC, two private subnets, and what must exist before MWAA starts. */
interface NetworkPlacement {
  readonly vpcId: pulumi.Input<string>;
  readonly privateSubnetIds: pulumi.Input<string>[];
  /** NAT gateways and private route associations: MWAA's creation fails without egress. */
  readonly ready: pulumi.Resource[];
}

/** MWAA's `loggingConfiguration` from the per-type settings. */
export function loggingConfiguration(
  logging: ResolvedMwaaAirflowArgs["logging"],
): aws.types.input.mwaa.EnvironmentLoggingConfiguration {
  const one = (s: MwaaLogSetting) => ({ enabled: s.enabled, logLevel: s.level });
  return {
    dagProcessingLogs: one(logging.dagProcessing),
    schedulerLogs: one(logging.scheduler),
    taskLogs: one(logging.task),
    webserverLogs: one(logging.webserver),
    workerLogs: one(logging.worker),
  };
}

/** VPC, 2 public + 2 private subnets in two AZs, IGW, NAT gateway(s) with EIPs, route tables. */
function createNetwork(
  name: string,
  r: ResolvedMwaaAirflowArgs,
  network: Extract<ResolvedMwaaAirflowArgs["network"], { kind: "created" }>,
  parent: pulumi.Resource,
): NetworkPlacement {
  const opts = { parent };
  const tagged = (suffix: string): Tags => ({ ...r.tags, Name: `${r.environmentName}-${suffix}` });
  const zones: pulumi.Output<readonly [string, string]> =
    network.availabilityZones !== undefined
      ? pulumi.output(network.availabilityZones)
      : aws
          .getAvailabilityZonesOutput(
            {
              state: "available",
              // Local and Wavelength zones (opt-in) cannot host MWAA.
              filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
            },
            opts,
          )
          .names.apply((names) => {
            try {
              return pickAvailabilityZones(names);
            } catch (err) {
              if (err instanceof MwaaArgsError) throw new pulumi.ResourceError(err.message, parent);
              throw err;
            }
          });
  const zone = (i: 0 | 1) => zones.apply((z) => z[i]);

  const vpc = new aws.ec2.Vpc(
    `${name}-vpc`,
    {
      cidrBlock: network.vpcCidr,
      // MWAA's VPC endpoints use private DNS, which needs both.
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: tagged("vpc"),
    },
    opts,
  );
  const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tagged("igw") }, opts);
  const subnets = (kind: "public" | "private") =>
    ([0, 1] as const).map(
      (i) =>
        new aws.ec2.Subnet(
          `${name}-${kind}-${i}`,
          {
            vpcId: vpc.id,
            cidrBlock: network.subnets[kind][i],
            availabilityZone: zone(i),
            tags: tagged(`${kind}-${i}`),
          },
          opts,
        ),
    );
  const publicSubnets = subnets("public");
  const privateSubnets = subnets("private");

  const publicRoutes = new aws.ec2.RouteTable(
    `${name}-public`,
    { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: tagged("public") },
    opts,
  );
  publicSubnets.forEach(
    (s, i) =>
      new aws.ec2.RouteTableAssociation(
        `${name}-public-${i}`,
        { subnetId: s.id, routeTableId: publicRoutes.id },
        opts,
      ),
  );

  // One NAT (default) serves both AZs: cheapest. Two keep each AZ's egress independent of the other AZ.
  const nats = Array.from({ length: network.natGateways }, (_, i) => {
    const publicSubnet = publicSubnets[i]!;
    const eip = new aws.ec2.Eip(
      `${name}-nat-${i}`,
      { domain: "vpc", tags: tagged(`nat-${i}`) },
      { parent, dependsOn: [igw] },
    );
    return new aws.ec2.NatGateway(
      `${name}-nat-${i}`,
      // For a VPC Elastic IP the resource id is the allocation id.
      { allocationId: eip.id, subnetId: publicSubnet.id, tags: tagged(`nat-${i}`) },
      { parent, dependsOn: [igw] },
    );
  });
  const privateAssociations = privateSubnets.map((s, i) => {
    const nat = nats[natGatewayFor(i, network.natGateways)]!;
    const table = new aws.ec2.RouteTable(
      `${name}-private-${i}`,
      {
        vpcId: vpc.id,
        routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }],
        tags: tagged(`private-${i}`),
      },
      opts,
    );
    return new aws.ec2.RouteTableAssociation(
      `${name}-private-${i}`,
      { subnetId: s.id, routeTableId: table.id },
      opts,
    );
  });
  return {
    vpcId: vpc.id,
    privateSubnetIds: privateSubnets.map((s) => s.id),
    ready: [...nats, ...privateAssociations],
  };
}

/** Source bucket and the companions MWAA and the policy pack require. */
function createSourceBucket(
  name: string,
  r: ResolvedMwaaAirflowArgs,
  kmsKeyArn: pulumi.Input<string> | undefined,
  parent: pulumi.Resource,
): { bucket: aws.s3.Bucket; versioning: aws.s3.BucketVersioning; companions: pulumi.Resource[] } {
  const opts = { parent };
  // forceDestroy only for previews: a real environment's DAG history must not vanish with a stray destroy.
  const bucket = new aws.s3.Bucket(`${name}-dags`, { forceDestroy: r.isPreview, tags: r.tags }, opts);
  const versioning = new aws.s3.BucketVersioning(
    `${name}-dags`,
    { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
    opts,
  );
  const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-dags`,
    { bucket: bucket.id, rules: [serverSideEncryptionRule(kmsKeyArn)] },
    opts,
  );
  const publicAccess = new aws.s3.BucketPublicAccessBlock(
    `${name}-dags`,
    {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    opts,
  );
  const policy = new aws.s3.BucketPolicy(
    `${name}-dags`,
    { bucket: bucket.id, policy: bucket.arn.apply((arn) => JSON.stringify(tlsOnlyBucketPolicy(arn))) },
    opts,
  );
  // Noncurrent-version rules need versioning to be on first.
  const lifecycle = new aws.s3.BucketLifecycleConfiguration(
    `${name}-dags`,
    { bucket: bucket.id, rules: lifecycleRules() },
    { parent, dependsOn: [versioning] },
  );
  return { bucket, versioning, companions: [versioning, encryption, publicAccess, policy, lifecycle] };
}

/** One Secrets Manager secret (+ version) per connection, named `<prefix>/<connId>`. */
function createConnectionSecrets(
  name: string,
  r: ResolvedMwaaAirflowArgs,
  args: MwaaAirflowArgs,
  parent: pulumi.Resource,
): { secrets: aws.secretsmanager.Secret[]; versions: aws.secretsmanager.SecretVersion[] } {
  const values = new Map<string, pulumi.Output<string>>();
  values.set(r.anyscaleConnId, pulumi.output(args.anyscaleApiToken).apply(anyscaleConnectionJson));
  if (args.slackWebhookUrl !== undefined) {
    values.set(r.slackConnId, pulumi.output(args.slackWebhookUrl).apply(slackWebhookConnectionJson));
  }
  if (args.slackApiToken !== undefined) {
    values.set(r.slackApiConnId, pulumi.output(args.slackApiToken).apply(slackApiConnectionJson));
  }
  for (const [connId, connection] of Object.entries(args.extraConnections ?? {})) {
    values.set(connId, pulumi.output(connection));
  }
  const secrets: aws.secretsmanager.Secret[] = [];
  const versions: aws.secretsmanager.SecretVersion[] = [];
  for (const connId of r.connectionIds) {
    const secret = new aws.secretsmanager.Secret(
      `${name}-conn-${connId}`,
      {
        name: `${r.connectionsPrefix}/${connId}`,
        description: `Airflow connection ${connId} of MWAA environment ${r.environmentName}`,
        // Previews delete immediately so a re-created PR stack can reuse the name; others keep a week
        // to recover from a mistaken destroy (re-creating the same name within it fails).
        recoveryWindowInDays: r.isPreview ? 0 : 7,
        tags: r.tags,
      },
      { parent },
    );
    secrets.push(secret);
    versions.push(
      new aws.secretsmanager.SecretVersion(
        `${name}-conn-${connId}`,
        { secretId: secret.id, secretString: pulumi.secret(values.get(connId)!) },
        { parent },
      ),
    );
  }
  return { secrets, versions };
}

/**
 * Amazon MWAA running Airflow 3: a source bucket (versioned, encrypted, private, TLS-only) with
 * requirements.txt and the DAG files, a least-privilege execution role, the connections as Secrets
 * Manager secrets read through Airflow's secrets backend, and either an existing network or a new VPC
 * with NAT egress.
 */
export class MwaaAirflow extends pulumi.ComponentResource {
  /** ARN of the MWAA environment. */
  public readonly environmentArn!: pulumi.Output<string>;
  /** Airflow UI host name (sign in through the MWAA console or `create-web-login-token`). */
  public readonly webserverUrl!: pulumi.Output<string>;
  /** Name of the source bucket; PR previews upload their DAGs into it. */
  public readonly bucketName!: pulumi.Output<string>;
  /** ARN of the source bucket. */
  public readonly bucketArn!: pulumi.Output<string>;
  /** ARN of the execution role. */
  public readonly executionRoleArn!: pulumi.Output<string>;
  /** S3 version id of requirements.txt the environment installs. */
  public readonly requirementsVersion!: pulumi.Output<string>;
  /** Number of objects under `dags/`. */
  public readonly dagObjectCount!: pulumi.Output<number>;
  /** Secrets Manager names of the connections (names only, never values). */
  public readonly connectionSecretNames!: pulumi.Output<string[]>;

  constructor(name: string, args: MwaaAirflowArgs, opts?: pulumi.ComponentResourceOptions) {
    super(MWAA_AIRFLOW_TYPE, name, {}, opts);
    if (opts?.urn) return;

    let r: ResolvedMwaaAirflowArgs;
    try {
      r = resolveArgs(args);
    } catch (err) {
      if (err instanceof MwaaArgsError) throw new pulumi.ResourceError(err.message, this);
      throw err;
    }
    const parent = { parent: this };

    // Region, account and partition of the provider (invokes; the tests mock them).
    const region = aws.getRegionOutput({}, parent).region;
    const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
    const partition = aws.getPartitionOutput({}, parent).partition;

    const network: NetworkPlacement =
      r.network.kind === "existing"
        ? { vpcId: r.network.vpcId, privateSubnetIds: [...r.network.privateSubnetIds], ready: [] }
        : createNetwork(name, r, r.network, this);

    // MWAA needs a self-referencing rule (its components talk to each other) and egress for everything.
    const sg = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: network.vpcId,
        description: `MWAA environment ${r.environmentName}`,
        tags: { ...r.tags, Name: `${r.environmentName}-mwaa` },
      },
      parent,
    );
    const sgIngress = new aws.vpc.SecurityGroupIngressRule(
      `${name}-sg-self`,
      {
        securityGroupId: sg.id,
        referencedSecurityGroupId: sg.id,
        ipProtocol: "-1",
        description: "MWAA components to each other",
        tags: r.tags,
      },
      parent,
    );
    const sgEgress = new aws.vpc.SecurityGroupEgressRule(
      `${name}-sg-egress`,
      {
        securityGroupId: sg.id,
        cidrIpv4: "0.0.0.0/0",
        ipProtocol: "-1",
        description: "Outbound (PyPI, AWS APIs, Anyscale, Slack)",
        tags: r.tags,
      },
      parent,
    );

    const { bucket, versioning, companions } = createSourceBucket(name, r, args.bucketKmsKeyArn, this);
    // versionId exists only once versioning is on; the environment pins exactly this version.
    const requirements = new aws.s3.BucketObjectv2(
      `${name}-requirements`,
      { bucket: bucket.id, key: REQUIREMENTS_KEY, content: r.requirementsTxt, contentType: "text/plain" },
      { parent: this, dependsOn: [versioning] },
    );
    const dags = new DagObjects(
      `${name}-dag-files`,
      { bucket: bucket.id, keyPrefix: DAG_S3_PATH, files: args.dagFiles },
      { parent: this, dependsOn: [versioning] },
    );
    if (r.extraObjectKeys.length > 0) {
      new DagObjects(
        `${name}-objects`,
        { bucket: bucket.id, keyPrefix: "", files: args.extraObjects ?? {} },
        { parent: this, dependsOn: [versioning] },
      );
    }

    const { secrets, versions } = createConnectionSecrets(name, r, args, this);

    const role = new aws.iam.Role(
      `${name}-execution`,
      {
        assumeRolePolicy: JSON.stringify(executionRoleTrustPolicy()),
        description: `Execution role of MWAA environment ${r.environmentName}`,
        tags: r.tags,
      },
      parent,
    );
    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-execution`,
      {
        role: role.id,
        policy: pulumi
          .all([
            partition,
            region,
            accountId,
            bucket.arn,
            pulumi.all([...(args.artifactBucketArns ?? [])]),
            pulumi.output(args.bucketKmsKeyArn),
          ])
          .apply(([p, reg, acct, bucketArn, artifactBucketArns, bucketKmsKeyArn]) =>
            JSON.stringify(
              executionRolePolicy({
                partition: p,
                region: reg,
                accountId: acct,
                environmentName: r.environmentName,
                bucketArn,
                connectionsPrefix: r.connectionsPrefix,
                artifactBucketArns,
                bucketKmsKeyArn,
              }),
            ),
          ),
      },
      parent,
    );

    const environment = new aws.mwaa.Environment(
      `${name}-env`,
      {
        name: r.environmentName,
        airflowVersion: r.airflowVersion,
        environmentClass: r.environmentClass,
        minWorkers: r.minWorkers,
        maxWorkers: r.maxWorkers,
        schedulers: r.schedulers,
        minWebservers: r.minWebservers,
        maxWebservers: r.maxWebservers,
        executionRoleArn: role.arn,
        sourceBucketArn: bucket.arn,
        // DAG objects are deliberately not inputs here: MWAA syncs dags/ by itself (~30 s), so a DAG change
        // uploads objects and never triggers a (20+ minute) environment update.
        dagS3Path: DAG_S3_PATH,
        requirementsS3Path: REQUIREMENTS_KEY,
        requirementsS3ObjectVersion: requirements.versionId,
        networkConfiguration: { subnetIds: network.privateSubnetIds, securityGroupIds: [sg.id] },
        webserverAccessMode: r.webserverAccessMode,
        loggingConfiguration: loggingConfiguration(r.logging),
        airflowConfigurationOptions: r.airflowConfigurationOptions,
        ...(r.weeklyMaintenanceWindowStart !== undefined
          ? { weeklyMaintenanceWindowStart: r.weeklyMaintenanceWindowStart }
          : {}),
        tags: r.tags,
      },
      {
        parent: this,
        // MWAA validates the role, bucket settings and egress at creation, and the first task run needs the
        // connections: everything must exist before it.
        dependsOn: [rolePolicy, ...versions, ...companions, sgIngress, sgEgress, ...network.ready],
      },
    );

    this.environmentArn = environment.arn;
    this.webserverUrl = environment.webserverUrl;
    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.executionRoleArn = role.arn;
    this.requirementsVersion = requirements.versionId;
    this.dagObjectCount = dags.count;
    this.connectionSecretNames = pulumi.all(secrets.map((s) => s.name)).apply((n) => [...n].sort());
    this.registerOutputs({
      environmentArn: this.environmentArn,
      webserverUrl: this.webserverUrl,
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      executionRoleArn: this.executionRoleArn,
      requirementsVersion: this.requirementsVersion,
      dagObjectCount: this.dagObjectCount,
      connectionSecretNames: this.connectionSecretNames,
    });
  }
}
