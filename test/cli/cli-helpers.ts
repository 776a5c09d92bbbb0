// Runs the built CLI (dist/cli/herald.js) as a user would: a real process, real sockets on
// loopback, a temp working directory, and an environment without the caller's HERALD_* variables.
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, sep } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { waitUntil } from "../server/helpers.js"

const ROOT = join(import.meta.dirname, "..", "..")
/** The CLI as `npm start` and the `herald` bin run it. */
export const HERALD = join(ROOT, "dist", "cli", "herald.js")

/**
 * Fails early, and says what to do, when dist/ is missing or older than the sources it is built
 * from (tests of a stale build would pass or fail for the wrong reasons).
 */
function assertBuilt(): void {
  if (!existsSync(HERALD)) throw new Error(`${HERALD} is missing — run \`npm run build\` first.`)
  const built = statSync(HERALD).mtimeMs
  const sources = readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" })
    // The TypeScript, and the web pages' files that the build copies.
    .filter((file) => file.endsWith(".ts") || file.startsWith(`web${sep}`))
    .map((file) => join(ROOT, "src", file))
  const stale = sources.filter((file) => statSync(file).mtimeMs > built)
  if (stale.length > 0) {
    throw new Error(`dist/ is older than ${stale.join(", ")} — run \`npm run build\` first.`)
  }
}

/** A running `herald …` process and everything it wrote so far. */
export interface Run {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /**
   * Resolves with the exit code (or the signal's name); rejects, with everything the process
   * wrote, if it has not exited within 30 s (a hung child names itself instead of timing out the test).
   */
  readonly exited: Promise<number | string>
  /** Resolves with the first match of `pattern` in stdout + stderr. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
}

const running: ChildProcess[] = []

/** SIGKILLs what a test left running. */
function killAll(): void {
  for (const child of running.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
}

/** The environment a run gets: the caller's, minus every HERALD_* variable, plus `env`. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("HERALD_")))
  return { ...base, ...env }
}

/** How a run is started. */
export interface RunOptions {
  cwd: string
  env?: Record<string, string>
  stdin?: string
  /** Flags for node itself, before the CLI's path (`--expose-gc`, `--require …`). */
  nodeArgs?: readonly string[]
  /** Open an IPC channel to the process (`child.send`, `child.on("message")`). */
  ipc?: boolean
}

/** Spawns `herald …args` in `cwd`. */
export function herald(args: readonly string[], options: RunOptions): Run {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), HERALD, ...args], {
    cwd: options.cwd,
    env: cleanEnv(options.env ?? {}),
    stdio: options.ipc ? ["pipe", "pipe", "pipe", "ipc"] : ["pipe", "pipe", "pipe"],
  })
  running.push(child)
  let stdout = ""
  let stderr = ""
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  child.stdin?.end(options.stdin ?? "")
  const exit = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))
  })
  const output = () => `\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    get exited() {
      return withTimeout(exit, EXIT_TIMEOUT_MS, () => `herald ${args.join(" ")} did not exit${output()}`)
    },
    waitFor: (pattern, timeoutMs = 15_000) =>
      waitUntil(
        () => {
          if (pattern.test(stdout + stderr)) return true
          if (child.exitCode !== null) {
            throw new Error(`exited (${child.exitCode})`)
          }
          return false
        },
        () => pattern.exec(stdout + stderr) as RegExpExecArray,
        timeoutMs,
      ).catch((error: Error) => {
        throw new Error(`herald ${args.join(" ")}: ${error.message} waiting for ${pattern}${output()}`)
      }),
  }
}

const EXIT_TIMEOUT_MS = 30_000

function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms)
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

/** Runs `herald …args` to its end. */
export async function heraldDone(
  args: readonly string[],
  options: Omit<RunOptions, "nodeArgs" | "ipc">,
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const run = herald(args, options)
  const code = await run.exited
  return { code, stdout: run.stdout(), stderr: run.stderr() }
}

/** A started `herald serve`: its process, the hub URL it logged, and its dev tokens if it printed them. */
export interface Hub extends Run {
  readonly hubUrl: string
  readonly port: number
}

/** Starts `herald serve …args` and waits until it is listening. */
export async function startHub(args: readonly string[], options: Omit<RunOptions, "stdin">) {
  const run = herald(["serve", ...args], options)
  const match = await run.waitFor(/"hubUrl":"(https?:\/\/localhost:(\d+)[^"]*)"/)
  return {
    child: run.child,
    stdout: run.stdout,
    stderr: run.stderr,
    // Not spread: the getter starts its exit timeout when a test awaits the exit, not now.
    get exited() {
      return run.exited
    },
    waitFor: run.waitFor,
    hubUrl: match[1] as string,
    port: Number(match[2]),
  } satisfies Hub
}

/** The publisher and subscriber tokens the dev-mode banner printed. */
export function bannerTokens(output: string): { publisher: string; subscriber: string } {
  const publisher = /Publisher token[^\n]*\n\s+(\S+)/.exec(output)?.[1]
  const subscriber = /Subscriber token[^\n]*\n\s+(\S+)/.exec(output)?.[1]
  if (publisher === undefined || subscriber === undefined) throw new Error(`no dev tokens in:\n${output}`)
  return { publisher, subscriber }
}

/** A port that was free a moment ago (bound on 0, then released). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === "string") throw new Error("no port")
  return address.port
}

const dirs: string[] = []

/** A fresh working directory (removed by {@link removeTempDirs}). */
export function tempCwd(): string {
  const dir = mkdtempSync(join(tmpdir(), "herald-cli-"))
  dirs.push(dir)
  return dir
}

/** Removes the working directories. */
function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/**
 * The set-up every CLI test file needs: a fresh build is checked before the first test, and the
 * processes and working directories the tests left behind are cleaned up after the last.
 */
export function useCliProcesses(): void {
  beforeAll(assertBuilt)
  afterAll(() => {
    killAll()
    removeTempDirs()
  })
}
