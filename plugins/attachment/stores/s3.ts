import { createReadStream } from 'node:fs';
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type ObjectCannedACL,
} from '@aws-sdk/client-s3';
import { joinLocation, numberedName, type FileStore, type SaveOptions, type StagedFile } from './types.ts';

export interface S3StoreOptions {
  readonly bucket: string;
  readonly accessKey: string | null;
  readonly secretKey: string | null;
  readonly region: string | null;
  /** `host`/`port`/`is_secure` of an S3-compatible endpoint; AWS itself when null. */
  readonly endpoint: string | null;
  readonly pathStyle: boolean;
  readonly acl: string | null;
}

const MAX_COLLISIONS = 1000;

/** kinto-attachment's legacy S3 backend (`attachment.aws.*`), on the AWS SDK. */
export class S3FileStore implements FileStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  private readonly options: S3StoreOptions;

  constructor(options: S3StoreOptions) {
    this.options = options;
    const credentials =
      options.accessKey && options.secretKey ? { accessKeyId: options.accessKey, secretAccessKey: options.secretKey } : undefined;
    this.client = new S3Client({
      region: options.region ?? 'us-east-1',
      endpoint: options.endpoint ?? undefined,
      forcePathStyle: options.pathStyle,
      credentials,
      // Streamed bodies get aws-chunked framing with checksums by default, which
      // S3-compatible stores may keep in the object (see tech.md): only when required.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    });
  }

  async save(file: StagedFile, options: SaveOptions): Promise<string> {
    let location = joinLocation(options.folder, options.name);
    // S3 has no exclusive create everywhere: pick a free name, as pyramid_storage did.
    for (let counter = 1; !options.replace && (await this.exists(location)); counter += 1) {
      if (counter > MAX_COLLISIONS) throw new Error(`No free name for '${options.name}' in '${options.folder}'`);
      location = joinLocation(options.folder, numberedName(options.name, counter));
    }
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: location,
        Body: createReadStream(file.path),
        ContentLength: file.size,
        ContentType: file.mimetype,
        ACL: (this.options.acl ?? undefined) as ObjectCannedACL | undefined,
      }),
    );
    return location;
  }

  async delete(location: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: location }));
  }

  async exists(location: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: location }));
      return true;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) return false;
      throw error;
    }
  }

  /** Where files are read when no `attachment.base_url` is set. */
  defaultBaseUrl(): string {
    const { endpoint, bucket, pathStyle, region } = this.options;
    if (endpoint) return pathStyle ? `${endpoint}/${bucket}/` : `${endpoint.replace('://', `://${bucket}.`)}/`;
    return `https://${bucket}.s3${region && region !== 'us-east-1' ? `.${region}` : ''}.amazonaws.com/`;
  }

  close(): void {
    this.client.destroy();
  }
}
