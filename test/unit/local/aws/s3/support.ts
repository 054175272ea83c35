/** Shared pieces of the S3 engine tests. */

/** The example credentials, date and scope of the S3 API reference's SigV4 examples. */
export const DOC = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  amzDate: '20130524T000000Z',
  scope: '20130524/us-east-1/s3/aws4_request',
} as const;

/** The buffer cut into pieces of `size` bytes, as a network might deliver it. */
export function split(buffer: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < buffer.length; offset += size) {
    pieces.push(buffer.subarray(offset, offset + size));
  }
  return pieces;
}

/** An unsigned aws-chunked body with optional trailer lines, as the SDK frames one. */
export function chunkedBody(chunks: readonly Buffer[], ...trailers: string[]): Buffer {
  const parts: Buffer[] = [];
  for (const chunk of chunks) {
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`0\r\n${trailers.map((line) => `${line}\r\n`).join('')}\r\n`));
  return Buffer.concat(parts);
}
