// Publishing to an S3-compatible bucket with the AWS SDK's S3 client: the reference
// implementation of the protocol (signing, retries, the XML listing, every provider's quirks),
// loaded only for s3:// targets so other publishes keep their start-up time.
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { EnvironmentError, InterruptedError } from '../errors.js';
import { mapLimit } from '../util/concurrency.js';
import { listSstateFiles, publishGroups, type SstateFile } from './objects.js';
import type { PublishOptions, PublishResult } from './publish.js';

/**
 * The environment variables an S3 publish reads, the AWS CLI's names: credentials never come
 * from the manifest or the conf, and CI passes them as secrets by these names.
 */
export const S3_ENVIRONMENT = {
  accessKeyId: 'AWS_ACCESS_KEY_ID',
  secretAccessKey: 'AWS_SECRET_ACCESS_KEY',
  sessionToken: 'AWS_SESSION_TOKEN',
  region: 'AWS_REGION',
  /** an S3-compatible server (MinIO, Ceph, Garage, R2...): AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL */
  endpoints: ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
} as const;

/** Regions are mandatory for signing; S3-compatible servers accept AWS's default. */
const DEFAULT_REGION = 'us-east-1';
/** objects (each with its companions, in order) in flight at once */
const UPLOADS_IN_FLIGHT = 8;

export interface S3Location {
  bucket: string;
  /** key prefix without a trailing slash, '' for the bucket's root */
  prefix: string;
}

export function s3ClientFromEnvironment(env: NodeJS.ProcessEnv = process.env): S3Client {
  const accessKeyId = env[S3_ENVIRONMENT.accessKeyId];
  const secretAccessKey = env[S3_ENVIRONMENT.secretAccessKey];
  if (!accessKeyId || !secretAccessKey)
    throw new EnvironmentError(
      `publishing to S3 needs ${S3_ENVIRONMENT.accessKeyId} and ${S3_ENVIRONMENT.secretAccessKey} in the environment (never in layers.yaml)`,
    );
  const endpoint = S3_ENVIRONMENT.endpoints.map((name) => env[name]).find(Boolean);
  // The SDK warns on every run under Node 20 that its 2027 releases will need Node 22: noise in
  // every CI log for a fact about upgrades (package.json's range decides which release we get).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    region: env[S3_ENVIRONMENT.region] || env.AWS_DEFAULT_REGION || DEFAULT_REGION,
    credentials: { accessKeyId, secretAccessKey, sessionToken: env[S3_ENVIRONMENT.sessionToken] || undefined },
    // self-hosted S3-compatible servers rarely have a DNS name per bucket
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // the SDK's default CRC trailers (aws-chunked bodies) are refused by many S3-compatible servers
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * Puts the sstate objects the bucket lacks into it, with the directory publish's rules: one
 * listing of the prefix tells what is there (size compared, never content: an object's name is
 * the hash of its inputs), a name the bucket has is never replaced, `.siginfo`/`.sig` before
 * their object. A PUT is atomic (a reader sees a whole object or none), so a publish stopped
 * halfway leaves only whole objects; `If-None-Match: *` makes the no-overwrite rule atomic too on
 * servers that support it (AWS since 2024, MinIO), and a refused PUT is looked at like a name the
 * listing had.
 */
/** One line for a failed request: what, where, the service's error name and HTTP status. */
function s3Failure(what: string, location: S3Location, error: unknown): EnvironmentError {
  const e = error as Error & { $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
  return new EnvironmentError(`${what} s3://${location.bucket}/${location.prefix} failed: ${e.name}${status}: ${e.message}`);
}

/** Every key under the prefix with its size (ListObjectsV2, page after page). */
export async function listBucket(client: S3Client, location: S3Location): Promise<Map<string, number>> {
  const keys = new Map<string, number>();
  try {
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: location.bucket,
          Prefix: location.prefix ? `${location.prefix}/` : undefined,
          ContinuationToken: token,
        }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.set(o.Key, o.Size ?? 0);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    throw s3Failure('listing', location, error);
  }
  return keys;
}

export async function publishToS3(
  sstateDir: string,
  location: S3Location,
  options: PublishOptions = {},
  client: S3Client = s3ClientFromEnvironment(),
): Promise<PublishResult> {
  const where = `s3://${location.bucket}/${location.prefix}`;
  const keyOf = (rel: string): string => (location.prefix ? `${location.prefix}/${rel}` : rel);
  const failure = (what: string, error: unknown): EnvironmentError => s3Failure(what, location, error);

  const groups = publishGroups(await listSstateFiles(sstateDir));
  let remote: Map<string, number>;
  try {
    remote = await listBucket(client, location);
  } catch (error) {
    client.destroy();
    throw error;
  }

  const result: PublishResult = { target: where, uploaded: 0, uploadedBytes: 0, present: 0, conflicts: [] };
  const compare = (file: SstateFile, size: number | undefined): void => {
    if (size === file.size) result.present++;
    else result.conflicts.push(file.rel);
  };
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = signal;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await mapLimit(groups, UPLOADS_IN_FLIGHT, async (group) => {
      for (const file of group) {
        if (interrupted) return;
        const key = keyOf(file.rel);
        if (remote.has(key)) {
          compare(file, remote.get(key));
          continue;
        }
        await options.beforeEach?.(file);
        try {
          await client.send(
            new PutObjectCommand({
              Bucket: location.bucket,
              Key: key,
              Body: createReadStream(path.join(sstateDir, file.rel)),
              ContentLength: file.size,
              ContentType: 'application/octet-stream',
              IfNoneMatch: '*',
            }),
          );
          result.uploaded++;
          result.uploadedBytes += file.size;
        } catch (error) {
          const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
          // 412: the name appeared since the listing (another publisher); 409: a concurrent PUT
          if (status !== 412 && status !== 409) throw failure(`uploading ${file.rel} to`, error);
          const head = await client
            .send(new HeadObjectCommand({ Bucket: location.bucket, Key: key }))
            .catch((e: unknown) => Promise.reject(failure(`looking at ${file.rel} in`, e)));
          compare(file, head.ContentLength);
        }
      }
    });
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    client.destroy();
  }
  if (interrupted)
    throw new InterruptedError(`interrupted by ${interrupted} after ${result.uploaded} files; the bucket holds only whole objects`);
  return result;
}
