// The peers of the AI bench's latency and resume parts, all in processes of their own and all
// answering from the driver's upstream: the direct pipe, Herald on sqlite (one node), Herald on
// redis (two nodes on one Redis: the follower and the resume on the other node) and
// resumable-stream (two servers on the same Redis: the follower and the resume on the other).
// Each peer says how to create an answer, follow it and resume it, as openEventStream options.
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { deleteKeys } from "../redis/redis-server.js"
import { startChild } from "../server/harness.js"
import { startHeraldNode } from "./herald-node.js"

export const PEER_LABELS = {
  pipe: "direct pipe (baseline)",
  "herald-sqlite": "Herald, sqlite",
  "herald-redis": "Herald, redis",
  resumable: "resumable-stream 2.2.13",
}

/** Flags every node of these parts runs with: nothing to raise at this load; a quick stop. */
const NODE_FLAGS = ["--shutdown-timeout", "1s"]

const chatBody = (model, key) => ({ model, stream: true, messages: [{ role: "user", content: key }] })

/** A Herald peer on `nodes` (the first creates, the last follows and resumes). */
function heraldPeer(name, nodes) {
  const [creator, other] = [nodes[0], nodes.at(-1)]
  return {
    name,
    pids: nodes.map((node) => node.pid),
    create: (key) => ({
      port: creator.port,
      method: "POST",
      path: "/v1/chat/completions",
      body: chatBody("upstream", key),
    }),
    idOf: (headers) => headers["herald-generation-id"],
    follow: (id) => ({ port: other.port, path: `/v1/generations/${id}/stream` }),
    /** Resumes after the last event id seen. */
    resume: (id, { lastEventId }) => ({
      port: other.port,
      path: `/v1/generations/${id}/stream`,
      headers: lastEventId === undefined ? {} : { "last-event-id": lastEventId },
    }),
    stop: () => Promise.all(nodes.map((node) => node.stop())),
  }
}

/** resumable-stream on two servers: the first creates, the second follows and resumes. */
function resumablePeer(servers) {
  const [creator, other] = servers.map((server) => server.ready.port)
  return {
    name: "resumable",
    pids: servers.map((server) => server.ready.pid),
    create: (key) => ({
      port: creator,
      method: "POST",
      path: "/v1/chat/completions",
      body: chatBody("bench", key),
    }),
    idOf: (headers) => headers["x-stream-id"],
    follow: (id) => ({ port: other, path: `/resume/${id}?resumeAt=0` }),
    /** Resumes after the characters received (its documented explicit resumption), or without them. */
    resume: (id, { chars }) => ({
      port: other,
      path: chars === undefined ? `/resume/${id}` : `/resume/${id}?resumeAt=${chars}`,
    }),
    stop: () => Promise.all(servers.map((server) => server.stop())),
  }
}

/** Starts every peer against the upstream on `upstreamPort`; `redisUrl` is the shared Redis. */
export async function startPeers({ upstreamPort, redisUrl, dir }) {
  const modelsFile = join(dir, "models.json")
  writeFileSync(
    modelsFile,
    JSON.stringify({ upstream: { provider: "openai", baseURL: `http://127.0.0.1:${upstreamPort}/v1` } }),
  )
  const prefix = `herald-bench-ai-${process.pid}`
  const pipe = await startChild("../ai/pipe-server.js", [String(upstreamPort)])
  const sqlite = await startHeraldNode({
    engine: "sqlite",
    dataDir: join(dir, "sqlite"),
    modelsFile,
    nodeId: "bench-sqlite",
    flags: NODE_FLAGS,
  })
  const redisNodes = []
  for (const tag of ["a", "b"]) {
    redisNodes.push(
      await startHeraldNode({
        engine: redisUrl,
        dataDir: join(dir, `redis-${tag}`),
        modelsFile,
        nodeId: `bench-redis-${tag}`,
        flags: [...NODE_FLAGS, "--redis-key-prefix", prefix],
      }),
    )
  }
  const resumableServers = []
  for (let i = 0; i < 2; i++) {
    resumableServers.push(
      await startChild("../ai/resumable-server.js", [redisUrl, `${prefix}-rs`, String(upstreamPort)]),
    )
  }
  const peers = {
    pipe: {
      name: "pipe",
      pids: [pipe.ready.pid],
      create: (key) => ({
        port: pipe.ready.port,
        method: "POST",
        path: "/v1/chat/completions",
        body: chatBody("bench", key),
      }),
      stop: () => pipe.stop(),
    },
    "herald-sqlite": heraldPeer("herald-sqlite", [sqlite]),
    "herald-redis": heraldPeer("herald-redis", redisNodes),
    resumable: resumablePeer(resumableServers),
  }
  return {
    peers,
    stop: async () => {
      for (const peer of Object.values(peers)) await peer.stop()
      await deleteKeys(redisUrl, prefix)
      await deleteKeys(redisUrl, `${prefix}-rs`)
    },
  }
}
