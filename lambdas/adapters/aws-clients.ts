/**
 * AWS SDK clients, built the same way for every handler. Region, credentials and endpoints come from
 * the SDK's own resolution (AWS_REGION, AWS_ENDPOINT_URL_<SERVICE>), which is how the local twin and
 * the tests point the very same handler code at dynalite and at the twin's protocol front.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export function createDynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({});
}

/** Optional attributes are left out of items rather than stored as NULL. */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function createSfnClient(): SFNClient {
  return new SFNClient({});
}

export function createEventBridgeClient(): EventBridgeClient {
  return new EventBridgeClient({});
}

export function createKmsClient(): KMSClient {
  return new KMSClient({});
}

/**
 * Path-style addressing (`https://s3.<region>.amazonaws.com/<bucket>/<key>`), which S3 serves in every
 * Region and the twin's S3 is addressed by; the client otherwise behaves as S3's defaults say.
 */
export function createS3Client(): S3Client {
  return new S3Client({ forcePathStyle: true });
}
