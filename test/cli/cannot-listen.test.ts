// What herald serve logs when it cannot bind its ports: one line naming the setting to change,
// as a flag and as an environment variable (docs/cli.md, "Running").
import { expect, it } from "vitest"
import { cannotListen } from "../../src/cli/serve.js"

const failure = (code: string) => Object.assign(new Error(`listen ${code}`), { code })

it("names the flag and the variable that pick another port", () => {
  expect(cannotListen(failure("EADDRINUSE"), "127.0.0.1", 8080, "port")).toBe(
    "port 8080 is already in use (another herald serve?); pick another with --port or HERALD_PORT",
  )
  expect(cannotListen(failure("EACCES"), undefined, 80, "port")).toBe(
    "no permission to bind all interfaces port 80 (ports below 1024 need privileges); pick another with --port or HERALD_PORT",
  )
  expect(cannotListen(failure("EADDRINUSE"), "127.0.0.1", 9090, "metricsPort")).toBe(
    "port 9090 is already in use (another herald serve?); pick another with --metrics-port or HERALD_METRICS_PORT",
  )
  expect(cannotListen(failure("EADDRNOTAVAIL"), "10.9.9.9", 8080, "port")).toBe(
    "cannot listen on 10.9.9.9 port 8080: listen EADDRNOTAVAIL",
  )
})
