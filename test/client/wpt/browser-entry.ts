// Bundled with esbuild for Chromium: the same WPT case list, run in a page (on Herald's
// EventSource, and on the browser's own as a check of the port) and in a dedicated worker.
import { EventSource as HeraldEventSource } from "../../../src/client/index.js"
import { wptCases } from "./cases.js"
import { type CaseResult, type EventSourceClass, runCases } from "./harness.js"

export type Implementation = "herald" | "native" | "herald-worker"

const implementations: Record<"herald" | "native", EventSourceClass> = {
  herald: HeraldEventSource as unknown as EventSourceClass,
  native: globalThis.EventSource as unknown as EventSourceClass,
}

function run(implementation: "herald" | "native"): Promise<CaseResult[]> {
  return runCases(wptCases, implementations[implementation], location.origin, `browser-${implementation}`)
}

/** From the page: the same cases inside a dedicated worker, running this very bundle. */
function runInWorker(): Promise<CaseResult[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { type: "module" })
    worker.onmessage = (event: MessageEvent<CaseResult[]>) => {
      worker.terminate()
      resolve(event.data)
    }
    worker.onerror = (event) => reject(new Error(`worker failed: ${event.message}`))
  })
}

const inWorker = typeof (globalThis as { document?: unknown }).document === "undefined"
if (inWorker) {
  void runCases(wptCases, implementations.herald, location.origin, "browser-worker").then((results) =>
    (globalThis as unknown as { postMessage(data: unknown): void }).postMessage(results),
  )
} else {
  ;(globalThis as unknown as { heraldWpt: unknown }).heraldWpt = {
    run: (implementation: Implementation) =>
      implementation === "herald-worker" ? runInWorker() : run(implementation),
  }
}
