// CIDR math for the VPC the `mwaa` target creates when no existing network is given. Pure: the component
// turns these strings into subnets; the tests check the arithmetic directly.
import { fail } from "./errors.js";

/** Default VPC range: a /16 from 10.0.0.0/8 that rarely collides with office or peered networks. */
export const DEFAULT_VPC_CIDR = "10.42.0.0/16";

/** Prefix lengths accepted for `network.vpcCidr` (a /22 still leaves /24 private subnets of 251 usable IPs). */
export const VPC_PREFIX_RANGE = { min: 16, max: 22 } as const;

/** An IPv4 CIDR as numbers: the network address (unsigned 32-bit) and the prefix length. */
export interface Ipv4Cidr {
  readonly base: number;
  readonly prefix: number;
}

/** Subnet ranges, index 0 in the first AZ and index 1 in the second. */
export interface SubnetCidrs {
  /** Where MWAA places its ENIs (workers, schedulers, the VPC endpoints): the larger blocks. */
  readonly private: readonly [string, string];
  /** Only the NAT gateway(s) live here, so these are half the size of the private ones. */
  readonly public: readonly [string, string];
}

/** Parse `a.b.c.d/n`; throws a `MwaaArgsError` naming `field` when it is not a valid IPv4 CIDR. */
export function parseCidr(cidr: string, field = "network.vpcCidr"): Ipv4Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m?.slice(1, 5).map(Number) ?? [];
  const prefix = Number(m?.[5]);
  if (!m || octets.some((o) => o > 255) || prefix > 32) {
    fail(`\`${field}\` must be an IPv4 CIDR like "${DEFAULT_VPC_CIDR}"; got ${JSON.stringify(cidr)}`);
  }
  const base = octets.reduce((acc, o) => acc * 256 + o, 0);
  const hostBits = 2 ** (32 - prefix);
  if (base % hostBits !== 0) {
    fail(
      `\`${field}\` has host bits set (${JSON.stringify(cidr)}); use the network address, e.g. "${formatCidr({ base: base - (base % hostBits), prefix })}"`,
    );
  }
  return { base, prefix };
}

/** `{base, prefix}` → `a.b.c.d/n`. */
export function formatCidr({ base, prefix }: Ipv4Cidr): string {
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(base / 2 ** shift) % 256);
  return `${octets.join(".")}/${prefix}`;
}

/** The `index`-th sub-block of `parent` with `newBits` more prefix bits (Terraform's `cidrsubnet`). */
export function cidrSubnet(parent: Ipv4Cidr, newBits: number, index: number): string {
  const prefix = parent.prefix + newBits;
  if (prefix > 32 || index < 0 || index >= 2 ** newBits) {
    throw new RangeError(`cidrSubnet: no block ${index} of /${prefix} in /${parent.prefix}`);
  }
  return formatCidr({ base: parent.base + index * 2 ** (32 - prefix), prefix });
}

/**
 * Split the VPC range: the private subnets are the first two quarters (/n+2), the public subnets the first
 * two eighths of the third quarter (/n+3); the last quarter and a half stay free for later subnets (for
 * instance VPC endpoints or a second environment). For 10.42.0.0/16: private 10.42.0.0/18 and
 * 10.42.64.0/18, public 10.42.128.0/19 and 10.42.160.0/19.
 */
export function subnetCidrs(vpcCidr: string): SubnetCidrs {
  const vpc = parseCidr(vpcCidr);
  if (vpc.prefix < VPC_PREFIX_RANGE.min || vpc.prefix > VPC_PREFIX_RANGE.max) {
    fail(
      `\`network.vpcCidr\` must be a /${VPC_PREFIX_RANGE.min} to /${VPC_PREFIX_RANGE.max} range; got ${JSON.stringify(vpcCidr)}`,
    );
  }
  return {
    private: [cidrSubnet(vpc, 2, 0), cidrSubnet(vpc, 2, 1)],
    public: [cidrSubnet(vpc, 3, 4), cidrSubnet(vpc, 3, 5)],
  };
}

/**
 * The two AZs to use from `getAvailabilityZones` names: the first two in name order (stable across runs,
 * so subnets are not replaced when AWS adds a zone). Throws when the region offers fewer than two.
 */
export function pickAvailabilityZones(names: readonly string[]): readonly [string, string] {
  const sorted = [...new Set(names)].sort();
  const [a, b] = sorted;
  if (a === undefined || b === undefined) {
    fail(
      `MWAA needs two availability zones; the region offers ${JSON.stringify(sorted)} (pass \`network.availabilityZones\`)`,
    );
  }
  return [a, b];
}

/** Which NAT gateway (index) the private subnet `subnetIndex` routes through, with `natGateways` of them. */
export function natGatewayFor(subnetIndex: number, natGateways: 1 | 2): number {
  return Math.min(subnetIndex, natGateways - 1);
}
