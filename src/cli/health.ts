import { sendText } from "../hub/responses.js"
import { exactPaths, type Mount } from "./router.js"

/**
 * `/healthz` (liveness: the process answers) and `/readyz` (readiness: `ready` finds nothing
 * wrong; 503 with the reason otherwise), for probes and load balancers. A node whose writes fail
 * (`full`: its storage has no room) is still ready, since it serves reads, and its 200 says why
 * its writes fail, for the operator who looks at the probe.
 */
export function healthMount(
  ready: () => Promise<string | undefined>,
  full: () => Promise<string | undefined> = async () => undefined,
): Mount {
  return {
    serves: "/healthz and /readyz",
    owns: exactPaths("/healthz", "/readyz"),
    async handle(request, response) {
      if (new URL(request.url ?? "/", "http://localhost").pathname === "/healthz") {
        sendText(response, 200, "ok")
        return
      }
      const problem = await ready()
      if (problem !== undefined) {
        sendText(response, 503, problem)
        return
      }
      const writesFail = await full()
      sendText(response, 200, writesFail === undefined ? "ready" : `ready, but writes fail: ${writesFail}`)
    },
  }
}
