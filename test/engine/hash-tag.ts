// What Redis Cluster hashes of a key to find its slot (https://redis.io/docs/reference/cluster-spec/
// "Hash tags"): between the first `{` and the next `}` when that is not empty, else the whole key.
// Keys with the same hash tag are in the same slot.

/** The part of `key` Redis hashes to place it in a Cluster slot. */
export function hashTag(key: string): string {
  const open = key.indexOf("{")
  if (open === -1) return key
  const close = key.indexOf("}", open + 1)
  return close > open + 1 ? key.slice(open + 1, close) : key
}
