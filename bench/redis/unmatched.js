// What a subscriber that wants none of the updates costs the node that holds it: a hub node on
// the redis engine with MANY subscribers of another topic, and the same with FEW, publishing
// the same updates; the difference in the node's CPU per update, divided by the difference in
// subscribers. Each subscriber's follower sees every update of the hub's log and checks its
// matchers against it: a node pays this for every update, whatever its subscribers want.
import { startCell } from "../server/harness.js"
import { cpuMicrosBetween } from "../stats.js"

const MANY = 10_000
const FEW = 10
const EVENTS = 300
const ELSEWHERE = "/.well-known/mercure?match=elsewhere"

/** The node's CPU µs per update with `subscribers` subscribers of another topic. */
async function cpuPerUpdate(subscribers) {
  const cell = await startCell("hub-redis", subscribers, 1, ELSEWHERE)
  try {
    await cell.server.request("burst", { events: 10 })
    const before = await cell.server.request("cpu")
    await cell.server.request("burst", { events: EVENTS })
    const after = await cell.server.request("cpu")
    return cpuMicrosBetween(before, after) / EVENTS
  } finally {
    await cell.stop()
  }
}

/** Node CPU per update with FEW and with MANY unmatched subscribers, and ns per unmatched subscriber. */
export async function measureUnmatched() {
  const few = await cpuPerUpdate(FEW)
  const many = await cpuPerUpdate(MANY)
  return {
    few,
    many,
    nanosPerSubscriber: ((many - few) / (MANY - FEW)) * 1000,
    sizes: { few: FEW, many: MANY },
  }
}
