// The HTTP fuzz campaign (issue 10): a real `herald serve` on sqlite takes randomized and mutated
// requests on every route, through raw sockets, in runs of a few scenarios. After each run the
// hub must be alive, answer /healthz, hold no subscriber connection, keep its heap within a few
// MB of its baseline, and still carry an update from a publisher to a subscriber.
//
// Bounded in runs and in time, so it fits in `npm test`. The seed is random and printed;
// HERALD_FUZZ_SEED=<seed> replays a campaign, HERALD_FUZZ_RUNS=<n> runs longer (without the
// time bound). A failure prints fast-check's counterexample, the requests of the failing run and
// what they got, and the hub's output.
import fc from "fast-check"
import { beforeAll, it } from "vitest"
import { useCliProcesses } from "../cli/cli-helpers.js"
import { type FuzzHub, startFuzzHub } from "./fuzz-hub.js"
import { checkAlive, checkHub, checkRoundTrip } from "./hub-checks.js"
import { ROUTES, scenario } from "./hub-requests.js"
import { exchange, wellFormedRequest } from "./raw-http.js"
import { runScenario } from "./scenario-runner.js"

useCliProcesses()

const DEFAULT_RUNS = 150
/** The campaign stops here whatever is left of its runs (as a pass), so the file fits in 60 s on 2 cores. */
const DEFAULT_TIME_LIMIT_MS = 35_000

const seed = Number(process.env.HERALD_FUZZ_SEED ?? Math.floor(Math.random() * 0x7fffffff))
const runs = Number(process.env.HERALD_FUZZ_RUNS ?? DEFAULT_RUNS)
const timeLimitMs = process.env.HERALD_FUZZ_RUNS === undefined ? DEFAULT_TIME_LIMIT_MS : undefined

let hub: FuzzHub
let heapBaseline: number

beforeAll(async () => {
  hub = await startFuzzHub()
  // Each route once, so code loaded on first use and caches that fill once are in the baseline.
  for (const path of Object.values(ROUTES)) {
    await exchange(hub.port, wellFormedRequest("GET", path), { kind: "whole" }, { deadlineMs: 5000 })
  }
  await checkRoundTrip(hub)
  heapBaseline = await hub.heapUsed()
})

it(
  "survives randomized and mutated requests on every route",
  async () => {
    // The seed must reach the CI log, pass or fail.
    console.info(`HTTP fuzz campaign: seed ${seed}, ${runs} runs (replay with HERALD_FUZZ_SEED=${seed})`)
    const log: string[] = []
    const property = fc.asyncProperty(
      fc.array(scenario, { minLength: 1, maxLength: 4 }),
      async (scenarios) => {
        log.length = 0
        try {
          for (const step of scenarios) await runScenario(step, hub, log)
        } catch (error) {
          // A dying hub fails requests before its exit is seen: name the exit, not the symptom.
          await exitOrAnswer(hub)
          checkAlive(hub)
          throw error
        }
        await checkHub(hub, heapBaseline)
      },
    )
    const details = await fc.check(property, {
      seed,
      numRuns: runs,
      // Shrinking would replay requests on a hub that a crash already killed; a run is short enough.
      endOnFailure: true,
      ...(timeLimitMs === undefined ? {} : { interruptAfterTimeLimit: timeLimitMs }),
    })
    if (details.failed) {
      const cause = details.errorInstance
      throw new Error(
        [
          `Failed after ${details.numRuns} runs: ${cause instanceof Error ? cause.message : String(cause)}`,
          `Replay: HERALD_FUZZ_SEED=${details.seed} (fast-check path "${details.counterexamplePath}")`,
          `Counterexample (strings past ${PRINTED_STRING} characters cut): ${printable(details.counterexample)}`,
          `The failing run's requests and what they got:\n${log.join("\n")}`,
          hub.output(),
        ].join("\n\n"),
        { cause },
      )
    }
    const growth = ((await hub.heapUsed()) - heapBaseline) / 1024 / 1024
    console.info(
      `HTTP fuzz campaign: ${details.numRuns} runs passed${details.interrupted ? " (stopped at the time limit)" : ""}; ` +
        `heap ${growth.toFixed(1)} MB over its baseline`,
    )
  },
  (timeLimitMs ?? 3_600_000) + 20_000,
)

/** Longer strings in a printed counterexample are cut: a 20 kB path says nothing more than its start. */
const PRINTED_STRING = 200

/** A counterexample as JSON, long strings cut and their length told. */
function printable(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === "string" && item.length > PRINTED_STRING
      ? `${item.slice(0, PRINTED_STRING)}… (${item.length} characters)`
      : item,
  )
}

/** Resolves once the hub has exited, or has answered /healthz (bounded: 5 s). */
async function exitOrAnswer(hub: FuzzHub): Promise<void> {
  const exited = new Promise<void>((resolve) => {
    if (!hub.alive()) resolve()
    hub.process.child.once("exit", () => resolve())
  })
  const answered = exchange(
    hub.port,
    wellFormedRequest("GET", "/healthz"),
    { kind: "whole" },
    { deadlineMs: 5000 },
  )
    .then((answer) => (answer.status === 200 ? undefined : exited))
    .catch(() => exited)
  let timer: NodeJS.Timeout | undefined
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, 5000)
  })
  await Promise.race([exited, answered, bound])
  clearTimeout(timer)
}
