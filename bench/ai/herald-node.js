// One `herald serve` under test, in its own process (its CPU and memory read from /proc), on a
// spare loopback port, in dev mode (a local client without a token gets every grant and is not
// counted by the per-subject AI limits), logging warnings only.
import { spawn } from "node:child_process"
import { once } from "node:events"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { sparePort } from "../redis/redis-server.js"

const thisCheckout = join(dirname(fileURLToPath(import.meta.url)), "../../dist/cli/herald.js")
/**
 * The `herald` CLI the nodes run: HERALD_BENCH_HERALD_CLI when set (another build's
 * `dist/cli/herald.js`, to measure two builds in one run), else this checkout's.
 */
const heraldCli = () => process.env.HERALD_BENCH_HERALD_CLI ?? thisCheckout
const START_LIMIT_MS = 15_000
/** More Node.js flags for the servers under test, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile them. */
const NODE_ARGS = (process.env.HERALD_BENCH_NODE_ARGS ?? "").split(" ").filter((flag) => flag !== "")

/**
 * Starts `herald serve --engine <engine>` with the models of `modelsFile`; `flags` adds more.
 * Resolves once /readyz answers 200, with its `port`, `pid` and `stop()`.
 */
export async function startHeraldNode({ engine, dataDir, modelsFile, nodeId, flags = [] }) {
  const port = await sparePort()
  const child = spawn(
    process.execPath,
    [
      ...NODE_ARGS,
      heraldCli(),
      "serve",
      ...["--port", String(port), "--host", "127.0.0.1", "--engine", engine, "--data-dir", dataDir],
      ...["--ai-models", modelsFile, "--node-id", nodeId, "--log-level", "warn"],
      // The load client opens every stream from one address: past the per-address bound (256).
      ...["--max-connections-per-address", "1000000"],
      ...flags,
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  )
  const killOnExit = () => child.kill("SIGKILL")
  process.once("exit", killOnExit)
  const started = Date.now()
  for (;;) {
    if (child.exitCode !== null) throw new Error(`herald serve ${nodeId} exited (${child.exitCode})`)
    const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (response) => response.status,
      () => 0,
    )
    if (status === 200) break
    if (Date.now() - started > START_LIMIT_MS) {
      child.kill("SIGKILL")
      throw new Error(`herald serve ${nodeId} was not ready within ${START_LIMIT_MS} ms`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    port,
    pid: child.pid,
    stop: async () => {
      process.off("exit", killOnExit)
      if (child.exitCode !== null) return
      const exited = once(child, "exit")
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000)
      await exited
      clearTimeout(timer)
    },
  }
}
