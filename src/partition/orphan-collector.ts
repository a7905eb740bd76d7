/**
 * Object hygiene: deletes segment objects that no index entry references and that are older than
 * a safe age. Such objects come from a broker that died (or was fenced) between its PUT and its
 * coordinator commit, from re-uploads of ranges already indexed, and from deletes that failed
 * after retention or DeleteTopics released them.
 *
 * The age guard is what makes this safe against an upload in progress: an object is young
 * between its PUT and its commit, which takes seconds; `orphanAgeMsMin` is minutes.
 */
import type { Metadata } from '../metadata/stores.js';
import { partitionLimits } from '../limits.js';
import type { ObjectStore } from '../../storage/object-store/object-store.js';
import { segmentKeyPrefix } from '../../storage/segment/naming.js';


export async function collectOrphans(store: ObjectStore, metadata: Metadata,
  nowMs: number, orphanAgeMsMin: number): Promise<string[]> {
  // Read the references after listing would miss an object committed in between; before listing
  // is safe: anything committed later is younger than the age guard.
  const referenced = await metadata.segments.referencedObjects();
  const orphans: string[] = [];
  let seen = 0;
  for await (const meta of store.list(segmentKeyPrefix)) {
    if (++seen > partitionLimits.orphanObjectsPerPassMax) break;
    if (referenced.has(meta.key)) continue;
    if (nowMs - meta.lastModifiedMs < orphanAgeMsMin) continue;
    orphans.push(meta.key);
  }
  if (orphans.length > 0) await store.deleteMany(orphans);
  return orphans;
}
