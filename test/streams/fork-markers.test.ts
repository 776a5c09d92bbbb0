// The records of a stream's forks (src/streams/fork.ts) carry the stream's log as their hash tag:
// on a Redis Cluster they live in the stream's slot.
import { expect, it } from "vitest"
import { logKeys } from "../../src/engine/redis-keys.js"
import { markerOf } from "../../src/streams/fork.js"
import { logOf } from "../../src/streams/stream.js"
import { hashTag } from "../engine/hash-tag.js"

it("puts the markers of a stream's forks in the stream's Redis slot", () => {
  const source = "/v1/stream/chat/1"
  const sourceTag = hashTag(logKeys("herald", logOf(source)).meta)
  for (const fork of ["/v1/stream/chat/1-a", "/v1/stream/other/%7Bb%7D"]) {
    for (const key of Object.values(logKeys("herald", markerOf(source, fork)))) {
      expect(hashTag(key), key).toBe(sourceTag)
    }
  }
  expect(hashTag(logKeys("herald", markerOf("/v1/stream/chat/2", "/v1/stream/chat/1-a")).meta)).not.toBe(
    sourceTag,
  )
})
