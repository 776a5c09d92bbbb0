import { monitorEventLoopDelay } from "node:perf_hooks"

/** This process as the dashboard shows it. */
export interface ProcessStatus {
  /** The Node.js version. */
  readonly node: string
  readonly pid: number
  readonly rssBytes: number
  readonly heapUsedBytes: number
  /** CPU time over wall time between the last two samples, in percent of one core. */
  readonly cpuPercent: number
  /** The 99th percentile of the event loop's delay between the last two samples, in ms. */
  readonly eventLoopDelayMs: number
}

/**
 * Samples the process once an interval: CPU and event loop delay are rates, so they need two
 * readings. Its histogram is its own (prom-client's default metrics keep another), reset at
 * each sample so each reading covers one interval.
 */
export class ProcessProbe {
  readonly #delay = monitorEventLoopDelay({ resolution: 10 })
  #last: { readonly time: number; readonly cpu: NodeJS.CpuUsage }
  #latest: ProcessStatus

  constructor(now: number) {
    this.#delay.enable()
    this.#last = { time: now, cpu: process.cpuUsage() }
    this.#latest = this.#read(0, 0)
  }

  sample(now: number): void {
    const cpu = process.cpuUsage()
    const elapsedMs = now - this.#last.time
    const usedMs = (cpu.user - this.#last.cpu.user + cpu.system - this.#last.cpu.system) / 1000
    const cpuPercent = elapsedMs > 0 ? Math.round((usedMs / elapsedMs) * 1000) / 10 : 0
    const delayMs = Math.round(this.#delay.percentile(99) / 1e4) / 100
    this.#delay.reset()
    this.#last = { time: now, cpu }
    this.#latest = this.#read(cpuPercent, delayMs)
  }

  latest(): ProcessStatus {
    return this.#latest
  }

  stop(): void {
    this.#delay.disable()
  }

  #read(cpuPercent: number, eventLoopDelayMs: number): ProcessStatus {
    const memory = process.memoryUsage()
    return {
      node: process.version,
      pid: process.pid,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      cpuPercent,
      eventLoopDelayMs,
    }
  }
}
