import type { Engine } from "../../src/engine/engine.js"

/** `engine`, recording its reads: how many, and the `limit` each asked for. */
export function countingReads(engine: Engine): { engine: Engine; reads: () => number; limits: number[] } {
  const limits: number[] = []
  const counted = new Proxy(engine, {
    get(target, property) {
      const value = Reflect.get(target, property, target)
      if (property === "read") {
        return (...args: Parameters<Engine["read"]>) => {
          limits.push(args[2])
          return target.read(...args)
        }
      }
      return typeof value === "function" ? value.bind(target) : value
    },
  })
  return { engine: counted, reads: () => limits.length, limits }
}
