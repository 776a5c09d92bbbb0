// CPU time and memory of processes under test, read from /proc (Linux), sampled on a timer so a
// window can be chosen afterwards (e.g. the steady part of a load).
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"

const TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim())

/** CPU time (user + system, all threads) of `pid` so far, in ms. */
export function cpuMs(pid) {
  // Fields after the command name (which may hold spaces), from field 3: utime and stime are 14 and 15.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND
}

/** Resident memory of `pid`, in bytes. */
export function rssBytes(pid) {
  const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
  return Number(kib) * 1024
}

/**
 * Samples the CPU time and RSS of `pids` (by name) every `intervalMs`, with the wall-clock time
 * (ms since the epoch). `stop()` returns the samples; `cpuShare(name, from, to)` the share of one
 * core `name` used between the samples nearest the two times; `rssMax(name, from, to)` its largest
 * RSS sampled between them.
 */
export function sampleProcesses(pids, intervalMs) {
  const samples = []
  const take = () => {
    const at = performance.timeOrigin + performance.now()
    const sample = { at, cpu: {}, rss: {} }
    try {
      for (const [name, pid] of Object.entries(pids)) {
        sample.cpu[name] = cpuMs(pid)
        sample.rss[name] = rssBytes(pid)
      }
    } catch {
      // A process that exited (a failed cell) has no more samples; the cell reports its error.
      return
    }
    samples.push(sample)
  }
  take()
  const timer = setInterval(take, intervalMs)
  const nearest = (at) =>
    samples.reduce((best, sample) => (Math.abs(sample.at - at) < Math.abs(best.at - at) ? sample : best))
  return {
    stop: () => {
      clearInterval(timer)
      take()
    },
    cpuShare(name, from, to) {
      const [first, last] = [nearest(from), nearest(to)]
      return (last.cpu[name] - first.cpu[name]) / (last.at - first.at)
    },
    rssMax(name, from, to) {
      return Math.max(
        ...samples.filter((sample) => sample.at >= from && sample.at <= to).map((s) => s.rss[name]),
      )
    },
  }
}
