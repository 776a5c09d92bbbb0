// The `herald serve` the fuzz campaign attacks: a real process on sqlite in a temp directory, in
// dev mode on loopback, with a heap probe preloaded, and the dev secret read from its data
// directory so that the campaign can sign valid tokens (and subtly invalid ones).
import { join } from "node:path"
import { createDevTokens } from "../../src/auth/dev-tokens.js"
import { readDevSecret } from "../../src/cli/config/dev-secret.js"
import { DEV_ISSUER } from "../../src/cli/hub-access.js"
import { type Hub, startHub, tempCwd } from "../cli/cli-helpers.js"

/** The preload that answers "heap" IPC messages with the heap in use after a full GC. */
const HEAP_PROBE = join(import.meta.dirname, "heap-probe.cjs")

/** The smallest body limit the campaign's oversize bodies go past cheaply. */
export const MAX_BODY_BYTES = 64 * 1024

/** The origin the hub's CORS allows, so preflights and credentialed requests take their allowed path too. */
export const ALLOWED_ORIGIN = "http://app.test"

/** A running hub under fuzz. */
export interface FuzzHub {
  readonly process: Hub
  readonly port: number
  /** The hub URL, which is also the `aud` its tokens need. */
  readonly hubUrl: string
  /** The dev-mode HS256 secret. */
  readonly secret: string
  readonly issuer: string
  readonly publisherToken: string
  readonly subscriberToken: string
  /** Whether the process is still running. */
  alive(): boolean
  /** The heap in use after a forced full GC, in bytes. */
  heapUsed(): Promise<number>
  /** Everything the process wrote, for a failure report. */
  output(): string
}

/** Starts `herald serve` for the campaign (sqlite, subscription API on, loopback only). */
export async function startFuzzHub(): Promise<FuzzHub> {
  const cwd = tempCwd()
  const dataDir = join(cwd, "data")
  const process = await startHub(
    [
      ...["--engine", "sqlite", "--data-dir", dataDir, "--host", "127.0.0.1", "--port", "0"],
      ...["--subscriptions", "--max-body-bytes", String(MAX_BODY_BYTES), "--cors-origins", ALLOWED_ORIGIN],
    ],
    { cwd, nodeArgs: ["--expose-gc", "--require", HEAP_PROBE], ipc: true },
  )
  const secret = readDevSecret(dataDir)
  if (secret === undefined) throw new Error(`herald serve wrote no dev secret in ${dataDir}`)
  const tokens = await createDevTokens({ secret, resource: process.hubUrl, issuer: DEV_ISSUER })
  const { child } = process
  return {
    process,
    port: process.port,
    hubUrl: process.hubUrl,
    secret,
    issuer: DEV_ISSUER,
    publisherToken: tokens.publisher,
    subscriberToken: tokens.subscriber,
    alive: () => child.exitCode === null && child.signalCode === null,
    heapUsed: () =>
      new Promise((resolve, reject) => {
        child.once("message", (message) => resolve((message as { heapUsed: number }).heapUsed))
        child.send("heap", (error) => error && reject(error))
      }),
    output: () =>
      `--- hub log ---\n${tail(logLines(process.stdout()))}\n--- hub stderr ---\n${tail(process.stderr())}`,
  }
}

/** The JSON log lines of stdout, without the dev banner. */
function logLines(stdout: string): string {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .join("\n")
}

/** The end of a long log: the crash is at the end. */
function tail(text: string): string {
  const limit = 20_000
  return text.length <= limit ? text : `…${text.slice(-limit)}`
}
