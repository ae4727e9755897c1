/**
 * Kinto's timestamp rule for one (resource, parent): every write gets a value strictly
 * greater than the list timestamp, unless the client supplied its own `last_modified`
 * (replication): a future one becomes the new list timestamp, an equal one is bumped by
 * one, a past one is kept on the object without moving the list timestamp (API 1.18).
 */
export function nextTimestamp(
  current: number,
  now: number,
  requested: number | undefined,
): { objectTimestamp: number; resourceTimestamp: number } {
  if (requested === undefined) {
    const next = Math.max(now, current + 1);
    return { objectTimestamp: next, resourceTimestamp: next };
  }
  const objectTimestamp = requested === current ? current + 1 : requested;
  return { objectTimestamp, resourceTimestamp: Math.max(current, objectTimestamp) };
}
