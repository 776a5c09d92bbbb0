import type { Engine } from "../../src/engine/engine.js"

/**
 * `engine`, recording its reads: how many, the `limit` and `maxBytes` each asked for, and the
 * bytes of data each returned (0 for a read not held).
 */
export function countingReads(engine: Engine): {
  engine: Engine
  reads: () => number
  limits: number[]
  maxBytes: (number | undefined)[]
  returned: number[]
} {
  const limits: number[] = []
  const maxBytes: (number | undefined)[] = []
  const returned: number[] = []
  const counted = new Proxy(engine, {
    get(target, property) {
      const value = Reflect.get(target, property, target)
      if (property === "read") {
        return async (...args: Parameters<Engine["read"]>) => {
          limits.push(args[2])
          maxBytes.push(args[3]?.maxBytes)
          const result = await target.read(...args)
          returned.push(result.held ? result.entries.reduce((sum, entry) => sum + entry.data.length, 0) : 0)
          return result
        }
      }
      return typeof value === "function" ? value.bind(target) : value
    },
  })
  return { engine: counted, reads: () => limits.length, limits, maxBytes, returned }
}
