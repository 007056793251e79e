// Working-dir packages the SDK uploads: the emulator plays the cloud data bucket. The SDK asks for a presigned
// URL (`generate_cloud_data_bucket_presigned_url`), PUTs the zip there, and puts the returned `file_uri` into the
// job's or service's runtime_env. The URL is the emulator's own storage route, signed with an HMAC so that it works
// without the API token (as an S3 presigned URL does) and nothing else can be written through it.
import { execFile } from "node:child_process";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Bucket and prefix of every package's `file_uri` (an opaque name the emulator maps to its own files). */
export const PACKAGE_BUCKET = "anyscale-emulator-cloud-data";
export const PACKAGE_PREFIX = "runtime_env_packages";
const FILE_NAME = /^[A-Za-z0-9._-]{1,200}\.zip$/;

export class PackageError extends Error {}

export class PackageStore {
  readonly #secret = randomBytes(32);
  readonly #dir: string;

  constructor(
    root: string,
    private readonly baseUrl: () => string,
    /** Unpacks with its zipfile module (which drops absolute paths and `..` from member names). */
    private readonly python: string,
  ) {
    this.#dir = join(root, "packages");
    mkdirSync(this.#dir, { recursive: true });
  }

  #sign(fileName: string): string {
    return createHmac("sha256", this.#secret).update(fileName).digest("base64url");
  }

  static validName(fileName: string): boolean {
    return FILE_NAME.test(fileName);
  }

  fileUri(fileName: string): string {
    return `s3://${PACKAGE_BUCKET}/${PACKAGE_PREFIX}/${fileName}`;
  }

  /** The answer of generate_cloud_data_bucket_presigned_url for a WRITE of `fileName`. */
  presign(fileName: string): {
    url: string;
    url_scheme: "http";
    file_uri: string;
    file_exists: boolean;
    bucket_name: string;
    bucket_path: string;
  } {
    return {
      url: `${this.baseUrl()}/_storage/${PACKAGE_PREFIX}/${fileName}?signature=${this.#sign(fileName)}`,
      url_scheme: "http",
      file_uri: this.fileUri(fileName),
      file_exists: existsSync(join(this.#dir, fileName)),
      bucket_name: PACKAGE_BUCKET,
      bucket_path: `${PACKAGE_PREFIX}/${fileName}`,
    };
  }

  /** Store an uploaded zip if the signature is the one presign() issued (false otherwise). */
  put(fileName: string, signature: string, body: Buffer): boolean {
    if (!PackageStore.validName(fileName)) return false;
    const want = Buffer.from(this.#sign(fileName));
    const got = Buffer.from(signature);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return false;
    const tmp = join(this.#dir, `.${fileName}.${process.pid}.tmp`);
    writeFileSync(tmp, body);
    renameSync(tmp, join(this.#dir, fileName));
    return true;
  }

  /** Local zip of a `file_uri` issued here; undefined for any other URI. */
  zipOf(fileUri: string): string | undefined {
    const prefix = `s3://${PACKAGE_BUCKET}/${PACKAGE_PREFIX}/`;
    if (!fileUri.startsWith(prefix)) return undefined;
    const name = fileUri.slice(prefix.length);
    const path = join(this.#dir, name);
    return PackageStore.validName(name) && existsSync(path) ? path : undefined;
  }

  /**
   * Unpack a package into `dest` and return the working directory: as Ray does, a zip holding exactly one
   * top-level folder (what the SDK uploads) is that folder.
   */
  async unpack(fileUri: string, dest: string): Promise<string> {
    const zip = this.zipOf(fileUri);
    if (!zip) throw new PackageError(`working_dir ${fileUri} is not a package uploaded to this emulator`);
    mkdirSync(dest, { recursive: true });
    await run(this.python, ["-m", "zipfile", "-e", zip, dest]);
    const entries = readdirSync(dest);
    const only = entries.length === 1 ? join(dest, entries[0]!) : undefined;
    return only && statSync(only).isDirectory() ? only : dest;
  }
}
