/**
 * A Fetch response whose record sets are RecordParts (several batches, not joined) encodes to
 * the same bytes as with one joined Buffer, at classic and flexible versions, and keeps the large
 * parts by reference (no copy before the socket).
 */
import { expect, it } from 'vitest';
import {
  decodeFetchResponse, defaultFetchResponse, defaultFetchResponseFetchableTopicResponse,
  defaultFetchResponsePartitionData, encodeFetchResponse, type FetchResponse,
} from '../../protocol/generated/messages/fetch.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { RecordParts, type RecordSet } from '../../protocol/primitives/record-set.js';
import { Writer } from '../../protocol/primitives/writer.js';

const parts = [Buffer.alloc(5000, 1), Buffer.alloc(100, 2), Buffer.alloc(20_000, 3)];
const joined = Buffer.concat(parts);

function response(records: RecordSet): FetchResponse {
  return { ...defaultFetchResponse(), responses: [{ ...defaultFetchResponseFetchableTopicResponse(), topic: 't',
    partitions: [{ ...defaultFetchResponsePartitionData(), partitionIndex: 0, highWatermark: 9n, records }] }] };
}

for (const version of [4, 11, 12, 16]) {
  it(`Fetch v${version}: RecordParts encode like the joined bytes and decode to them`, () => {
    const asParts = new Writer();
    encodeFetchResponse(asParts, version, response(new RecordParts(parts)));
    const asOne = new Writer();
    encodeFetchResponse(asOne, version, response(joined));
    const bytes = asParts.toBuffer();
    expect(bytes.equals(asOne.toBuffer())).toBe(true);
    // The 5000- and 20000-byte parts travel by reference: the very same Buffer objects.
    const chunks = asParts.toChunks();
    expect(chunks).toContain(parts[0]);
    expect(chunks).toContain(parts[2]);
    const decoded = decodeFetchResponse(new Reader(bytes), version);
    expect(decoded.responses[0]!.partitions[0]!.records).toEqual(joined);
  });
}
