import { Registry } from "prom-client"
import type { Hub } from "../hub/hub.js"
import { sendProblem } from "../server/problem.js"
import { healthMount } from "./health.js"
import { type MetricsAccess, metricsMount } from "./metrics.js"
import { exactPaths, type Mount } from "./router.js"

/** What {@link serveMounts} mounts. */
export interface ServedApps {
  readonly hub: Hub
  /** The AI endpoints (`/v1/chat/completions`, `/v1/messages`, `/v1/models`, `/v1/generations/`), when served. */
  readonly ai?: Mount
  /** The hub's path, for the 404 that lists what is served. */
  readonly hubPath: string
  readonly metricsAccess: MetricsAccess
  /**
   * `/metrics` goes on this port of its own (with the health probes) rather than on the main one;
   * 0: one the system picks.
   */
  readonly metricsPort: number | undefined
  /** Durable Streams (cli/streams-mount.ts), when served. */
  readonly streams?: Mount
  /** The dashboard's admin API (cli/admin/), when served. */
  readonly admin?: Mount
  /** The web pages (cli/web.ts), when served: they own `/` and `/_herald/`, so they go last. */
  readonly web?: Mount
  /** Metrics of other apps (the AI endpoints'), served on `/metrics` with the hub's. */
  readonly registries?: readonly Registry[]
}

/**
 * The mount tables of `herald serve`: one line per app, the first owner of a path wins (so a
 * catch-all such as the web pages goes last). `metrics` is the table of the metrics port, when
 * it has one.
 */
export function serveMounts(apps: ServedApps): { main: Mount[]; metrics: Mount[] | undefined } {
  const { hub } = apps
  const health = healthMount(
    () => hub.ready(),
    () => hub.full(),
  )
  const registries = apps.registries ?? []
  const registry = registries.length === 0 ? hub.metrics : Registry.merge([hub.metrics, ...registries])
  const metrics = metricsMount(registry, apps.metricsAccess)
  const main: Mount[] = [
    { serves: `the Mercure hub at ${apps.hubPath}`, owns: hub.owns, handle: hub.handle },
    ...(apps.streams === undefined ? [] : [apps.streams]),
    ...(apps.ai === undefined ? [] : [apps.ai]),
    health,
    ...(apps.admin === undefined ? [] : [apps.admin]),
  ]
  const pages = apps.web === undefined ? [] : [apps.web]
  if (apps.metricsPort === undefined) return { main: [...main, metrics, ...pages], metrics: undefined }
  return { main: [...main, elsewhere(apps.metricsPort), ...pages], metrics: [metrics, health] }
}

/**
 * `/metrics` on the main port when it is served on a port of its own: a 404 that says where, not
 * the "Nothing here" a scraper left pointing at the main port would get.
 */
function elsewhere(port: number): Mount {
  const where = `on the metrics port${port === 0 ? "" : `, ${port}`} (--metrics-port)`
  return {
    serves: `/metrics ${where}`,
    owns: exactPaths("/metrics"),
    handle(_request, response) {
      sendProblem(response, 404, `/metrics is served ${where}, not on this port.`)
    },
  }
}
