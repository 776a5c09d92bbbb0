// Test-only preload for the HTTP fuzz campaign (`node --expose-gc --require …/heap-probe.cjs`):
// answers each "heap" IPC message with the heap in use after a full collection, so the test can
// tell a leak from garbage not yet collected. CommonJS, because --require loads it before the app.
process.on("message", (message) => {
  if (message !== "heap") return
  globalThis.gc()
  process.send({ heapUsed: process.memoryUsage().heapUsed })
})
// The IPC channel must not keep the hub alive: it exits on its own after a graceful shutdown.
process.channel?.unref()
