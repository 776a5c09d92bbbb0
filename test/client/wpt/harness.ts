// The tiny test harness the ported WPT cases use. No vitest and no Node built-ins here: the same
// cases run in Node, in a Chromium page and in a Chromium dedicated worker.

/** The standard EventSource interface, as the cases use it (Herald's, the browser's, or a peer's). */
export interface EventSourceLike extends EventTarget {
  readonly url: string
  readonly readyState: number
  readonly withCredentials: boolean
  readonly CONNECTING: number
  readonly OPEN: number
  readonly CLOSED: number
  onopen: ((event: Event) => unknown) | null
  onmessage: ((event: MessageEvent) => unknown) | null
  onerror: ((event: Event) => unknown) | null
  close(): void
}

export interface EventSourceClass {
  new (url: string, init?: { withCredentials?: boolean }): EventSourceLike
  readonly CONNECTING: number
  readonly OPEN: number
  readonly CLOSED: number
}

/** What the test server saw for one key (see server.ts). */
export interface KeyStats {
  requests: number
  aborted: number
  lastEventIds: string[]
  paths: string[]
}

export interface CaseContext {
  EventSource: EventSourceClass
  /** The test server's origin, `http://127.0.0.1:<port>`. */
  origin: string
  /** An absolute URL on the test server for this case (its own key is added to the query). */
  url(path: string, params?: Record<string, string>): string
  /** Creates a source that the runner closes when the case ends. */
  open(url: string, init?: { withCredentials?: boolean }): EventSourceLike
  /** What the server saw for this case's key. */
  stats(): Promise<KeyStats>
}

export interface WptCase {
  /** The ported WPT file, then what this case checks. */
  name: string
  /** How long the case may take, when its own waits need more than {@link CASE_TIMEOUT}. */
  timeoutMs?: number
  run(context: CaseContext): Promise<void>
}

export interface CaseResult {
  name: string
  ok: boolean
  error?: string
  ms: number
}

const CASE_TIMEOUT = 5000

export class AssertionError extends Error {
  override name = "AssertionError"
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message)
}

export function assertEquals(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual)
  const e = JSON.stringify(expected)
  if (a !== e) throw new AssertionError(`${what}: expected ${e}, got ${a}`)
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Resolves with the next event of `type`, or rejects after `ms`. */
export function nextEvent<E extends Event = Event>(target: EventTarget, type: string, ms = 3000): Promise<E> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      target.removeEventListener(type, listener)
      reject(new AssertionError(`no "${type}" event within ${ms} ms`))
    }, ms)
    function listener(event: Event): void {
      clearTimeout(timer)
      target.removeEventListener(type, listener)
      resolve(event as E)
    }
    target.addEventListener(type, listener)
  })
}

/** Collects the next `count` message events. */
export function messageEvents(source: EventSourceLike, count: number, ms = 3000): Promise<MessageEvent[]> {
  return new Promise((resolve, reject) => {
    const seen: MessageEvent[] = []
    const timer = setTimeout(() => {
      source.removeEventListener("message", listener)
      const data = JSON.stringify(seen.map((event) => event.data))
      reject(new AssertionError(`expected ${count} messages within ${ms} ms, got ${data}`))
    }, ms)
    function listener(event: Event): void {
      seen.push(event as MessageEvent)
      if (seen.length < count) return
      clearTimeout(timer)
      source.removeEventListener("message", listener)
      resolve(seen)
    }
    source.addEventListener("message", listener)
  })
}

/** Collects the data of the next `count` message events. */
export async function messages(source: EventSourceLike, count: number, ms = 3000): Promise<string[]> {
  return (await messageEvents(source, count, ms)).map((event) => event.data as string)
}

/** Logs `open`, `message:<data>`, `<type>:<data>` and `error:<readyState>` in order. */
export function recordEvents(source: EventSourceLike, extraTypes: string[] = []): string[] {
  const log: string[] = []
  source.addEventListener("open", () => log.push("open"))
  source.addEventListener("error", () => log.push(`error:${source.readyState}`))
  for (const type of ["message", ...extraTypes]) {
    source.addEventListener(type, (event) => log.push(`${type}:${(event as MessageEvent).data}`))
  }
  return log
}

/** Polls `check` until it returns true, or fails after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new AssertionError(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** Runs the cases one after the other against `EventSource`, closing every source a case opened. */
export async function runCases(
  cases: readonly WptCase[],
  EventSource: EventSourceClass,
  origin: string,
  label: string,
): Promise<CaseResult[]> {
  const results: CaseResult[] = []
  let counter = 0
  for (const testCase of cases) {
    const key = `${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`
    const sources: EventSourceLike[] = []
    const context: CaseContext = {
      EventSource,
      origin,
      url(path, params = {}) {
        const query = new URLSearchParams({ key, ...params })
        return `${origin}${path}?${query}`
      },
      open(url, init) {
        const source = new EventSource(url, init)
        sources.push(source)
        return source
      },
      async stats() {
        const response = await fetch(`${origin}/stats?key=${encodeURIComponent(key)}`)
        return (await response.json()) as KeyStats
      },
    }
    const started = Date.now()
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeoutMs = testCase.timeoutMs ?? CASE_TIMEOUT
    try {
      await Promise.race([
        testCase.run(context),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new AssertionError(`case timed out after ${timeoutMs} ms`)),
            timeoutMs,
          )
        }),
      ])
      results.push({ name: testCase.name, ok: true, ms: Date.now() - started })
    } catch (error) {
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      results.push({ name: testCase.name, ok: false, error: text, ms: Date.now() - started })
    } finally {
      clearTimeout(timer)
      for (const source of sources) source.close()
    }
  }
  return results
}
