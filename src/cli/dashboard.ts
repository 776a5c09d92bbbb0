import { fileURLToPath } from "node:url"
import type { GenerationActivity } from "../ai/generation-activity.js"
import { DEFAULT_COOKIE_NAMES } from "../auth/presentation.js"
import type { Engine } from "../engine/engine.js"
import type { Hub } from "../hub/hub.js"
import type { Logger } from "../logger.js"
import { createAdminAccess } from "./admin/admin-access.js"
import { type AdminApp, createAdminApp } from "./admin/admin-app.js"
import type { AdminSources } from "./admin/snapshot.js"
import { appAuth } from "./app-auth.js"
import type { HeraldConfig } from "./config.js"
import type { Mount } from "./router.js"
import { webMount } from "./web.js"

/** The dashboard as `herald serve` runs it: the admin API, and the web pages that read it. */
export interface ServedDashboard {
  readonly admin: AdminApp
  /** The pages at `/` and their files under `/_herald/`: mounted last. */
  readonly web: Mount
}

/** What the dashboard shows, from the apps `herald serve` runs. */
export interface DashboardApps {
  readonly hub: Hub
  readonly ai?: { readonly generations: { readonly node: string; activity(): GenerationActivity } }
  readonly streams?: AdminSources["streams"]
}

/**
 * The dashboard of `herald serve`. The admin API follows the one rule of dev mode (a local
 * client needs no token) and otherwise takes tokens signed with the publisher keys that grant
 * the `admin` action of the `admin` app. The pages come from `dist/web` (built by `npm run
 * build` from `src/web`), the browser client they use from `dist/browser`.
 */
export function createDashboard(
  config: HeraldConfig,
  engine: Engine,
  apps: DashboardApps,
  engineFile: string | undefined,
  logger: Logger,
): ServedDashboard {
  const hubUrl = new URL(config.hubUrl)
  const access = createAdminAccess({
    ...appAuth(config),
    cookieNames: config.cookieNames ?? DEFAULT_COOKIE_NAMES,
  })
  const sources: AdminSources = {
    node: apps.ai?.generations.node ?? "this node",
    hubPath: hubUrl.pathname,
    hub: apps.hub.activity,
    engine,
    ...(engineFile === undefined ? {} : { engineFile }),
    ...(apps.ai === undefined ? {} : { generations: apps.ai.generations }),
    ...(apps.streams === undefined ? {} : { streams: apps.streams }),
  }
  return {
    admin: createAdminApp({ sources, access, logger, heartbeatMs: config.heartbeatMs }),
    web: webMount({
      directory: fileURLToPath(new URL("../web/", import.meta.url)),
      extraFiles: Object.fromEntries(
        ["herald-client.js", "herald-client.js.map"].map((name) => [
          name,
          fileURLToPath(new URL(`../browser/${name}`, import.meta.url)),
        ]),
      ),
    }),
  }
}
