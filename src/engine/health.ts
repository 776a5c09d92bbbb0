/**
 * The optional health capability of an engine (ENGINE-NOTES lesson 8: optional capabilities are
 * probed, so the core contract stays small). The dashboard shows it; `/readyz` fails while the
 * store is down, and `herald_engine_full` says when it is full.
 */

import type { Engine } from "./engine.js"

/** What a health probe found. */
export type EngineHealth =
  /** The store answered; `latencyMs` is one round trip to it. */
  | { readonly status: "up"; readonly latencyMs: number }
  /**
   * The store answered, but has no room for writes (a full disk, Redis's maxmemory, the memory
   * engine's maxBytes): a write failed for that reason lately (each engine says how long it holds
   * the state). Reads are still served; `reason` says what is full and what makes room.
   */
  | { readonly status: "full"; readonly latencyMs: number; readonly reason: string }
  /** The store did not answer; `reason` says why, for an operator. */
  | { readonly status: "down"; readonly reason: string }

/** An engine that can probe its store. */
export interface HealthCapability {
  /** Probes the store once; never rejects. */
  health(): Promise<EngineHealth>
}

/** Whether `engine` can probe its store's health. */
export function hasHealth(engine: Engine): engine is Engine & HealthCapability {
  return typeof (engine as Partial<HealthCapability>).health === "function"
}
