import { sendText } from "../hub/responses.js"
import { exactPaths, type Mount } from "./router.js"

/**
 * `/healthz` (liveness: the process answers) and `/readyz` (readiness: `ready` finds nothing
 * wrong; 503 with the reason otherwise), for probes and load balancers.
 */
export function healthMount(ready: () => Promise<string | undefined>): Mount {
  return {
    serves: "/healthz and /readyz",
    owns: exactPaths("/healthz", "/readyz"),
    async handle(request, response) {
      if (new URL(request.url ?? "/", "http://localhost").pathname === "/healthz") {
        sendText(response, 200, "ok")
        return
      }
      const problem = await ready()
      if (problem === undefined) sendText(response, 200, "ready")
      else sendText(response, 503, problem)
    },
  }
}
