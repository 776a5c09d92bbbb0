// AI generations (issue 12): Herald against resumable-stream 2.2.13 on the same Redis, same run.
//   1. latency: what each peer adds per token to a direct pipe from the upstream. An
//      OpenAI-compatible upstream in this process (loopback, one token per `data:` chunk, 16
//      answers of 200 tokens at 50 tokens/s) answers every peer: the direct pipe, Herald on
//      sqlite (the creator's POST stream, and a follower on GET /v1/generations/{id}/stream),
//      Herald on redis (the follower on a second node), resumable-stream (the creator's stream,
//      and a follower resumed with resumeExistingStream on a second server, through Redis
//      pub/sub). The clients run here too: one clock (bench/ai/token-latency.js).
//   2. resume: 200 cuts at seeded random points per case, resumed, the text shown compared with
//      the whole answer; mid-answer and after the end; Herald by Last-Event-ID (redis: on the
//      other node), resumable-stream by resumeAt (and, for information, without it: the AI SDK's
//      stock resume) (bench/ai/resume-check.js).
//   3. load: 1,000 concurrent generations at 30 tokens/s on one node, the demo model (no time to
//      first token), on sqlite and on redis, and resumable-stream making the same answers in
//      process: token lateness, CPU per process, memory per generation, nothing lost; a cold
//      round then a warm one per cell (bench/ai/thousand.js).
// Every server under test runs in a process of its own. Herald runs `herald serve` in dev mode
// (local clients need no token and are not counted by the per-subject AI limits), sqlite with
// its default durability (--sync normal: WAL, a commit survives a crash of the process, not a
// power loss), redis on bench/redis/redis-server.js's Redis (AOF, appendfsync everysec).
//
// `npm run bench -- ai`: medians of HERALD_BENCH_RUNS runs (default 5) for parts 1 and 3, about
// 8 minutes on the shared 2-core machine. Quick look: `HERALD_BENCH_RUNS=1
// HERALD_BENCH_AI_GENERATIONS=200 npm run bench -- ai`; some parts only:
// HERALD_BENCH_AI_PARTS=latency,resume,load (any of them); the load part's servers only:
// HERALD_BENCH_AI_LOAD=herald-sqlite,herald-redis,resumable (any of them). HERALD_BENCH_AI_SEED (default 12)
// seeds the resume part's cut points. HERALD_BENCH_SVG=<file> writes the latency bar chart there.
// HERALD_BENCH_HERALD_CLI=<another checkout>/dist/cli/herald.js runs that build's nodes instead.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { PEER_LABELS, startPeers } from "./ai/peers.js"
import { checkResumes } from "./ai/resume-check.js"
import { measureThousand } from "./ai/thousand.js"
import { measureTokenLatency } from "./ai/token-latency.js"
import { startUpstream } from "./ai/upstream.js"
import { barChart } from "./redis/bar-chart.js"
import { startRedis } from "./redis/redis-server.js"
import { median, printTable } from "./stats.js"

const RUNS = Number(process.env.HERALD_BENCH_RUNS ?? 5)
const PARTS = (process.env.HERALD_BENCH_AI_PARTS ?? "latency,resume,load").split(",")
const SEED = Number(process.env.HERALD_BENCH_AI_SEED ?? 12)
const LATENCY = { answers: 16, tokens: 200, rate: 50, warmTokens: 10 }
const RESUME = { trials: 200, parallel: 8, rate: 200, minTokens: 100, maxTokens: 200, settleMs: 200 }
const GENERATIONS = Number(process.env.HERALD_BENCH_AI_GENERATIONS ?? 1000)
const LOAD_CONTENDERS = (process.env.HERALD_BENCH_AI_LOAD ?? "herald-sqlite,herald-redis,resumable").split(
  ",",
)

const goal = (met, text) => console.log(`\n${met ? "Goal met" : "Goal NOT met"}: ${text}`)
const ms = (value) => value.toFixed(2)
const signed = (value) => `${value >= 0 ? "+" : ""}${value.toFixed(2)}`
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(", ")

const redis = await startRedis()
console.log(`Redis: ${redis.description}`)
console.log(
  `Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.versions.node}, ` +
    `${new Date().toISOString().slice(0, 10)}; load average at the start ${load()}`,
)
const dir = mkdtempSync(join(tmpdir(), "herald-bench-ai-"))
try {
  if (PARTS.includes("latency") || PARTS.includes("resume")) {
    const upstream = await startUpstream()
    const cell = await startPeers({ upstreamPort: upstream.port, redisUrl: redis.url, dir })
    try {
      if (PARTS.includes("latency")) await latency(cell.peers, upstream)
      if (PARTS.includes("resume")) await resume(cell.peers, upstream)
    } finally {
      await cell.stop()
      await upstream.close()
    }
  }
  if (PARTS.includes("load")) await loadPart()
} finally {
  rmSync(dir, { recursive: true, force: true })
  const warnings = await redis.stop()
  console.log(`\nLoad average at the end: ${load()}`)
  if (warnings.length > 0) console.log(`Redis logged slow disk writes:\n${warnings.join("\n")}`)
}

async function latency(peers, upstream) {
  const rows = [
    ["pipe", "creator", "direct pipe (the baseline)"],
    ["herald-sqlite", "creator", "Herald, sqlite: the creator's POST stream"],
    ["herald-sqlite", "follower", "Herald, sqlite: a follower, GET …/stream on the same node"],
    ["herald-redis", "creator", "Herald, redis: the creator's POST stream"],
    ["herald-redis", "follower", "Herald, redis: a follower, GET …/stream on the other node"],
    ["resumable", "creator", "resumable-stream: the creator's stream"],
    ["resumable", "follower", "resumable-stream: a resumed follower on the other server (Redis pub/sub)"],
  ]
  // One uncounted round first, so that every peer's processes are past their JIT warm-up, as a
  // server is after its first minutes; the load part's first round is uncounted for the same reason.
  for (const name of Object.keys(PEER_LABELS)) await measureTokenLatency(peers[name], upstream, LATENCY)
  /** runs[run][peer][role] */
  const runs = []
  for (let run = 0; run < RUNS; run++) {
    const results = {}
    // Each run starts with another peer, so that none is always measured at the same point of a
    // run (right after the same neighbour, at the same distance from the warm-up).
    const names = Object.keys(PEER_LABELS)
    const order = [...names.slice(run % names.length), ...names.slice(0, run % names.length)]
    for (const name of order) {
      results[name] = await measureTokenLatency(peers[name], upstream, LATENCY)
    }
    runs.push(results)
    console.error(
      `  run ${run + 1} latency: ${rows
        .map(
          ([name, role]) =>
            `${name} ${role} ${ms(results[name][role].p50)}/${ms(results[name][role].p99)} ms`,
        )
        .join(", ")}`,
    )
  }
  const of = (name, role, key) => median(runs.map((run) => run[name][role][key]))
  // What a peer adds to the pipe, within each run (the same minute of the shared machine), then the median.
  const added = (name, role, key) => median(runs.map((run) => run[name][role][key] - run.pipe.creator[key]))
  const sum = (name, role, key) => runs.reduce((total, run) => total + run[name][role][key], 0)
  printTable(
    `Added latency per token: ${LATENCY.answers} answers of ${LATENCY.tokens} tokens at ${LATENCY.rate} tokens/s from a loopback upstream, upstream write → client parse, the first ${LATENCY.warmTokens} tokens of each answer not counted (median of ${RUNS} runs; added = within each run, peer − pipe)`,
    [
      "peer",
      "p50 ms",
      "p99 ms",
      "added p50 ms",
      "added p99 ms",
      "tokens that arrived merged with others",
      "lost / duplicated / unfinished",
    ],
    rows.map(([name, role, label]) => [
      label,
      ms(of(name, role, "p50")),
      ms(of(name, role, "p99")),
      name === "pipe" ? "—" : signed(added(name, role, "p50")),
      name === "pipe" ? "—" : signed(added(name, role, "p99")),
      `${(of(name, role, "mergedShare") * 100).toFixed(1)} %`,
      `${sum(name, role, "lost")} / ${sum(name, role, "duplicates")} / ${sum(name, role, "unfinished")}`,
    ]),
  )
  if (process.env.HERALD_BENCH_SVG !== undefined) {
    const short = {
      "herald-sqlite": "Herald sqlite",
      "herald-redis": "Herald redis",
      resumable: "resumable-stream",
    }
    const panel = (key) => ({
      heading: `Added ${key} ms: peer − direct pipe, same run`,
      bars: rows
        .filter(([name]) => name !== "pipe")
        .map(([name, role]) => ({ label: `${short[name]}, ${role}`, value: added(name, role, key) })),
    })
    writeFileSync(
      process.env.HERALD_BENCH_SVG,
      barChart({
        title: `Added latency per token: ${LATENCY.answers} answers at ${LATENCY.rate} tokens/s`,
        subtitle: `npm run bench -- ai · median of ${RUNS} runs · ${new Date().toISOString().slice(0, 10)} · shared 2-core VM`,
        panels: [panel("p50"), panel("p99")],
        format: (value) => value.toFixed(2),
      }),
    )
    console.log(`\nChart written to ${process.env.HERALD_BENCH_SVG}`)
  }
  const bar = { p50: added("resumable", "follower", "p50"), p99: added("resumable", "follower", "p99") }
  for (const name of ["herald-sqlite", "herald-redis"]) {
    const worst = (key) => Math.max(added(name, "creator", key), added(name, "follower", key))
    goal(
      worst("p50") <= bar.p50 && worst("p99") <= bar.p99,
      `${PEER_LABELS[name]} (every token stored before it is shown) adds no more than resumable-stream's resumed follower ` +
        `(added p50 ${ms(worst("p50"))} vs ${ms(bar.p50)} ms, p99 ${ms(worst("p99"))} vs ${ms(bar.p99)} ms; Herald's worse of creator and follower)`,
    )
  }
}

async function resume(peers, upstream) {
  const cases = [
    ["herald-sqlite", false, true, "Herald, sqlite (Last-Event-ID, same node)"],
    ["herald-sqlite", true, true, "Herald, sqlite (Last-Event-ID, same node)"],
    ["herald-redis", false, true, "Herald, redis (Last-Event-ID, the other node)"],
    ["herald-redis", true, true, "Herald, redis (Last-Event-ID, the other node)"],
    ["resumable", false, true, "resumable-stream (resumeAt = characters received, the other server)"],
    ["resumable", true, true, "resumable-stream (resumeAt = characters received, the other server)"],
    ["resumable", false, false, "resumable-stream without resumeAt (the AI SDK's stock resume)"],
  ]
  const rows = []
  const heraldExact = []
  for (const [name, afterEnd, explicit, label] of cases) {
    const counts = await checkResumes(peers[name], upstream, { ...RESUME, seed: SEED, afterEnd, explicit })
    console.error(
      `  resume ${name} ${afterEnd ? "after the end" : "mid-answer"}${explicit ? "" : " (no resumeAt)"}: ${JSON.stringify(counts)}`,
    )
    if (name.startsWith("herald")) heraldExact.push(counts.exact)
    rows.push([
      label,
      afterEnd ? "after the end" : "mid-answer",
      `${counts.exact} / ${RESUME.trials}`,
      String(counts.lost),
      String(counts.duplicated),
      String(counts.refused),
      String(counts.whileRunning),
      String(counts.unterminated),
    ])
  }
  printTable(
    `Resume correctness: ${RESUME.trials} cuts per case at seeded random points (seed ${SEED}), answers of ${RESUME.minTokens}–${RESUME.maxTokens} tokens at ${RESUME.rate} tokens/s; text shown before the cut + after the resume against the whole answer, token by token`,
    [
      "peer",
      "resumed",
      "exact",
      "lost text",
      "duplicated text",
      "refused (the rest lost)",
      "resumes asked while it ran",
      "resumed stream without its end",
    ],
    rows,
  )
  goal(
    heraldExact.every((exact) => exact === RESUME.trials),
    `Herald ${RESUME.trials}/${RESUME.trials} exact in every case (measured: ${heraldExact.join(", ")})`,
  )
}

async function loadPart() {
  const results = new Map(LOAD_CONTENDERS.map((contender) => [contender, []]))
  for (let run = 0; run < RUNS; run++) {
    for (const contender of LOAD_CONTENDERS) {
      const result = await measureThousand(contender, { redisUrl: redis.url, count: GENERATIONS })
      results.get(contender).push(result)
      console.error(
        `  run ${run + 1} load ${contender}: lateness p50 ${result.p50.toFixed(0)} p99 ${result.p99.toFixed(0)} ms ` +
          `(first token p50 ${result.firstP50.toFixed(0)} p99 ${result.firstP99.toFixed(0)} ms), ` +
          `${result.peakOpen} open at most, heads within ${result.rampMs.toFixed(0)} ms, CPU server ${pct(result.cpu.server)} ` +
          `(${result.serverCpuPerToken.toFixed(0)} µs per token) ` +
          `redis ${pct(result.cpu.redis)} client ${pct(result.cpu.client)}, ${kib(result.rssPerGeneration)} RSS / ` +
          `${kib(result.heapPerGeneration)} heap per open generation; cold round: ${result.coldPeakOpen} open at most, ` +
          `heads within ${result.coldRampMs.toFixed(0)} ms; exact and ended ${result.complete} of ${result.streams}, ` +
          `refused ${result.refused}, listen drops ${result.listenDrops}`,
      )
    }
  }
  const of = (contender, pick) => median(results.get(contender).map(pick))
  const total = (contender, pick) => results.get(contender).reduce((sum, result) => sum + pick(result), 0)
  const labels = {
    "herald-sqlite": "Herald, sqlite, demo model",
    "herald-redis": "Herald, redis, demo model",
    resumable: "resumable-stream, the same answers made in process",
  }
  printTable(
    `${GENERATIONS.toLocaleString("en-US")} generations opened at once on one node, 30 tokens/s each, ~125 tokens, no time to first token (median of ${RUNS} runs; a fresh server per cell: a cold round then a warm one; lateness = receive − (request sent + (n − 1) / 30 s) and CPU in % of one core from the first request to the last end, warm round; memory per open generation, cold round; exact and ended, both rounds)`,
    [
      "server",
      "token lateness p50 ms",
      "p99 ms",
      "first token p50 ms",
      "first token p99 ms",
      "open at once, most",
      "all heads in, s",
      "cold round: open at once, most",
      "cold round: all heads in, s",
      "CPU server",
      "server CPU µs per token",
      "CPU redis-server",
      "CPU load client",
      "RSS per open generation",
      "heap per open generation",
      "exact text, ended with [DONE]",
      "listen-queue drops",
    ],
    LOAD_CONTENDERS.map((contender) => [
      labels[contender],
      of(contender, (r) => r.p50).toFixed(0),
      of(contender, (r) => r.p99).toFixed(0),
      of(contender, (r) => r.firstP50).toFixed(0),
      of(contender, (r) => r.firstP99).toFixed(0),
      of(contender, (r) => r.peakOpen).toFixed(0),
      (of(contender, (r) => r.rampMs) / 1000).toFixed(1),
      of(contender, (r) => r.coldPeakOpen).toFixed(0),
      (of(contender, (r) => r.coldRampMs) / 1000).toFixed(1),
      pct(of(contender, (r) => r.cpu.server)),
      of(contender, (r) => r.serverCpuPerToken).toFixed(0),
      contender === "herald-sqlite" ? "—" : pct(of(contender, (r) => r.cpu.redis)),
      pct(of(contender, (r) => r.cpu.client)),
      kib(of(contender, (r) => r.rssPerGeneration)),
      kib(of(contender, (r) => r.heapPerGeneration)),
      `${total(contender, (r) => r.complete)} of ${total(contender, (r) => r.streams)}`,
      String(total(contender, (r) => r.listenDrops)),
    ]),
  )
  const herald = ["herald-sqlite", "herald-redis"].filter((contender) => LOAD_CONTENDERS.includes(contender))
  const lost = herald.map(
    (contender) => total(contender, (r) => r.streams) - total(contender, (r) => r.complete),
  )
  goal(
    lost.every((count) => count === 0),
    `nothing lost under load on Herald: every text exact and ended (streams not: ${herald
      .map((contender, i) => `${contender.replace("herald-", "")} ${lost[i]}`)
      .join(", ")})`,
  )
}

function pct(share) {
  return `${(share * 100).toFixed(0)} %`
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`
}
