// The dashboard at `/`: Herald watching itself. One admin stream (`/_herald/admin/stream`) sends
// a snapshot a second; this module renders it, and drives the publish form and the tail. It uses
// Herald's own browser client, which (unlike the built-in EventSource) can send the admin token
// in an Authorization header. Every value from the server is set as text, never as HTML.

import { createRateChart } from "./chart.js"
import { EventSource } from "./herald-client.js"

const ADMIN_STREAM = "/_herald/admin/stream"
const TOKEN_KEY = "herald.adminToken"
/** After the admin stream fails for good (not for a missing token), try again this much later. */
const RETRY_MS = 5000
/** Lines the tail keeps. */
const TAIL_LINES = 100

const numbers = new Intl.NumberFormat()
const rates = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 })

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id))

/** @type {string | undefined} */
let token = sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY) ?? undefined
let hubPath = "/.well-known/mercure"
/** @type {EventSource | undefined} */
let admin
/** @type {AbortController | undefined} */
let tail

const chart = createRateChart(byId("rate-chart"))

/** The Authorization header, when the page holds a token (dev mode on loopback needs none). */
const authorization = () => (token === undefined ? {} : { authorization: `Bearer ${token}` })

// ---- the admin stream ----------------------------------------------------------------------

function connect() {
  admin?.close()
  setStatus("connecting", "Connecting…")
  const source = new EventSource(ADMIN_STREAM, { headers: authorization })
  admin = source
  source.addEventListener("open", () => setStatus("live", "Live"))
  source.addEventListener("history", (event) => chart.set(JSON.parse(event.data).samples))
  source.addEventListener("snapshot", (event) => render(JSON.parse(event.data)))
  source.addEventListener("error", (event) => {
    const error = /** @type {any} */ (event).error
    if (error?.status === 401 || error?.status === 403) {
      source.close()
      askForToken(error.status, problemDetail(error.body))
    } else if (source.readyState === EventSource.CLOSED) {
      setStatus("down", "Disconnected — retrying")
      setTimeout(() => admin === source && connect(), RETRY_MS)
    } else {
      setStatus("connecting", "Reconnecting…")
    }
  })
}

/**
 * @param {"connecting" | "live" | "down" | "token"} state
 * @param {string} text
 */
function setStatus(state, text) {
  byId("status").dataset.state = state
  byId("status-text").textContent = text
}

/**
 * @param {number} status
 * @param {string} detail
 */
function askForToken(status, detail) {
  setStatus("token", status === 401 ? "Token needed" : "Token lacks the admin grant")
  byId("token-reason").textContent = detail
  byId("token-panel").hidden = false
  byId("forget-token").hidden = token === undefined
  byId("token-input").focus()
}

byId("token-form").addEventListener("submit", (event) => {
  event.preventDefault()
  const input = /** @type {HTMLInputElement} */ (byId("token-input"))
  const value = input.value.trim()
  if (value === "") return
  token = value
  const remember = /** @type {HTMLInputElement} */ (byId("token-remember")).checked
  ;(remember ? localStorage : sessionStorage).setItem(TOKEN_KEY, value)
  input.value = ""
  byId("token-panel").hidden = true
  byId("forget-token").hidden = false
  connect()
})

byId("forget-token").addEventListener("click", () => {
  token = undefined
  sessionStorage.removeItem(TOKEN_KEY)
  localStorage.removeItem(TOKEN_KEY)
  byId("forget-token").hidden = true
  connect()
})

// ---- rendering a snapshot ------------------------------------------------------------------

/** @param {any} snapshot */
function render(snapshot) {
  const { hub } = snapshot
  hubPath = snapshot.hubPath
  for (const [name, value] of Object.entries({
    connections: hub.connections,
    subscriptions: hub.subscriptions,
    published: hub.published,
    delivered: hub.delivered,
    overflows: hub.overflows,
    replaysWaiting: hub.replaysWaiting,
  })) {
    setFigure(name, numbers.format(value), value)
  }
  setFigure("in", rates.format(hub.rate.in), hub.rate.in)
  setFigure("out", rates.format(hub.rate.out), hub.rate.out)
  chart.push(hub.rate)

  byId("node-id").textContent = snapshot.node
  byId("node-id").title = snapshot.node
  byId("uptime").textContent = duration(snapshot.time - snapshot.startedAt)
  byId("hub-path").textContent = hubPath
  renderEngine(snapshot.engine)
  renderProcess(snapshot.process)
  renderNodes(snapshot.nodes)
  renderTopics(hub.mostSubscribed)
  renderRecent(hub.recentUpdates, snapshot.time)
  renderGenerations(snapshot.generations)
  renderStreams(snapshot.streams, snapshot.time)
}

/**
 * Sets every element showing figure `name`: the text, and the exact value (tests read it).
 * @param {string} name
 * @param {string} text
 * @param {number} value
 */
function setFigure(name, text, value) {
  for (const element of document.querySelectorAll(`[data-figure="${name}"]`)) {
    const figure = /** @type {HTMLElement} */ (element)
    figure.textContent = text
    figure.dataset.value = String(value)
  }
}

/** @param {any} engine */
function renderEngine(engine) {
  byId("engine-name").textContent = engine.name
  const { status } = engine.health
  const badge = byId("engine-badge")
  // "full": reads are served, writes fail until space is freed.
  badge.textContent = status === "up" ? "healthy" : status
  badge.dataset.tone = status === "up" ? "good" : "bad"
  /** @type {Array<[string, string]>} */
  const facts = [["Name", engine.name]]
  if (status !== "down") facts.push(["Round trip", `${rates.format(engine.health.latencyMs)} ms`])
  if (status !== "up") facts.push(["Problem", engine.health.reason])
  if (engine.file !== undefined) {
    facts.push(["Database", engine.file.path])
    facts.push(["Size", `${bytes(engine.file.bytes)} + ${bytes(engine.file.walBytes)} WAL`])
  }
  pairs("engine-facts", facts)
}

/** @param {any} process */
function renderProcess(process) {
  pairs("process-facts", [
    ["Node.js", `${process.node} · pid ${process.pid}`],
    ["CPU", `${rates.format(process.cpuPercent)} % of a core`],
    ["Event loop", `${rates.format(process.eventLoopDelayMs)} ms delay (p99)`],
    ["Memory", `${bytes(process.rssBytes)} RSS · ${bytes(process.heapUsedBytes)} heap`],
  ])
}

/**
 * Fills a definition list with name–value pairs.
 * @param {string} id
 * @param {Array<[string, string]>} facts
 */
function pairs(id, facts) {
  byId(id).replaceChildren(
    ...facts.flatMap(([name, value]) => [h("dt", {}, name), h("dd", { title: value }, value)]),
  )
}

/** @param {any[]} nodes */
function renderNodes(nodes) {
  byId("nodes-count").textContent = nodes.length === 1 ? "1 node" : `${nodes.length} nodes`
  rows(
    "nodes",
    nodes.map((node, index) =>
      h(
        "tr",
        {},
        h(
          "td",
          { class: "mono ellipsis", title: node.node },
          node.node,
          index === 0 ? h("span", { class: "tag" }, "this") : "",
        ),
        num(numbers.format(node.connections)),
        num(numbers.format(node.subscriptions)),
        num(rates.format(node.in)),
        num(rates.format(node.out)),
        num(numbers.format(node.generations)),
      ),
    ),
    6,
    "No node answered yet.",
  )
}

/** @param {Array<{ match: string, subscriptions: number }>} topics */
function renderTopics(topics) {
  const most = Math.max(1, ...topics.map((topic) => topic.subscriptions))
  rows(
    "topics",
    topics.map((topic) => {
      const bar = h("span", { class: "bar" })
      bar.style.width = `${(topic.subscriptions / most) * 100}%`
      return h(
        "tr",
        {},
        h(
          "td",
          { class: "mono ellipsis", title: topic.match },
          topic.match,
          h("span", { class: "bar-track" }, bar),
        ),
        num(numbers.format(topic.subscriptions)),
      )
    }),
    2,
    "No subscriptions yet.",
  )
}

/**
 * What a panel shows when the engine failed to give its list (a snapshot's `{ unavailable, reason }`):
 * not "nothing yet", which would be false.
 * @param {{ reason: string }} failed
 */
const unavailableText = (failed) => `Unavailable: the engine did not answer (${failed.reason}).`

/**
 * @param {any} updates
 * @param {number} now
 */
function renderRecent(updates, now) {
  if (updates.unavailable) {
    rows("recent", [], 4, unavailableText(updates))
    return
  }
  rows(
    "recent",
    updates.map((update) =>
      h(
        "tr",
        {},
        h(
          "td",
          { class: "nowrap muted", title: new Date(update.time).toLocaleString() },
          ago(now - update.time),
        ),
        h(
          "td",
          { class: "mono", title: `${update.topics.join("\n")}\nid ${update.id}` },
          h(
            "span",
            { class: "line ellipsis" },
            update.private ? h("span", { class: "tag" }, "private") : "",
            update.topics[0] ?? "",
            update.topics.length > 1 ? h("span", { class: "muted" }, ` +${update.topics.length - 1}`) : "",
          ),
          h("span", { class: "line ellipsis faint" }, update.id),
        ),
        h("td", { class: "mono ellipsis", title: update.type ?? "message" }, update.type ?? "message"),
        num(bytes(update.bytes)),
      ),
    ),
    4,
    "Nothing published yet.",
  )
}

/** @param {any} generations */
function renderGenerations(generations) {
  if (generations === null) {
    byId("generations-count").textContent = "not served"
    rows("generations", [], 8, "The AI endpoints are not served.")
    return
  }
  const all = [...generations.running, ...generations.recent]
  byId("generations-count").textContent =
    `${generations.running.length} running · ${generations.recent.length} recent`
  rows(
    "generations",
    all.map((generation) => {
      const { stats } = generation
      const watch = h("a", { href: `/v1/generations/${generation.id}/stream`, class: "action" }, "Watch")
      watch.addEventListener("click", (event) => {
        event.preventDefault()
        startTail(
          `/v1/generations/${encodeURIComponent(generation.id)}/stream`,
          `generation ${generation.id}`,
        )
      })
      return h(
        "tr",
        {},
        h("td", { class: "mono ellipsis", title: generation.id }, generation.id),
        h("td", { class: "ellipsis", title: generation.model }, generation.model),
        h("td", {}, h("span", { class: "state", "data-state": generation.status }, generation.status)),
        num(stats.timeToFirstTokenMs === undefined ? "—" : `${numbers.format(stats.timeToFirstTokenMs)} ms`),
        num(stats.tokensPerSecond === undefined ? "—" : rates.format(stats.tokensPerSecond)),
        num(stats.usage?.outputTokens === undefined ? "—" : numbers.format(stats.usage.outputTokens)),
        num(duration(stats.durationMs)),
        h("td", { class: "num" }, watch),
      )
    }),
    8,
    "No generation ran on this node yet. Try POST /v1/chat/completions with the demo model.",
  )
}

/**
 * @param {any} streams
 * @param {number} now
 */
function renderStreams(streams, now) {
  if (streams === null) {
    byId("streams-count").textContent = "not served"
    rows("streams", [], 4, "Durable Streams are not served.")
    return
  }
  if (streams.unavailable) {
    byId("streams-count").textContent = "unavailable"
    rows("streams", [], 4, unavailableText(streams))
    return
  }
  byId("streams-count").textContent = `${numbers.format(streams.count)}${streams.more ? "+" : ""} streams`
  rows(
    "streams",
    streams.newest.map((stream) =>
      h(
        "tr",
        {},
        h(
          "td",
          { class: "mono ellipsis", title: stream.path },
          stream.closed ? h("span", { class: "tag" }, "closed") : "",
          stream.path.startsWith(streams.prefix) ? stream.path.slice(streams.prefix.length) : stream.path,
        ),
        h("td", { class: "ellipsis muted", title: stream.contentType }, stream.contentType),
        num(numbers.format(stream.messages)),
        h(
          "td",
          { class: "nowrap muted", title: new Date(stream.createdAt).toLocaleString() },
          ago(now - stream.createdAt),
        ),
      ),
    ),
    4,
    "No stream yet. PUT /v1/stream/{path} creates one.",
  )
}

/**
 * Replaces a table body's rows, or shows `empty` across `columns` when there are none.
 * @param {string} id
 * @param {HTMLElement[]} list
 * @param {number} columns
 * @param {string} empty
 */
function rows(id, list, columns, empty) {
  byId(id).replaceChildren(
    ...(list.length > 0 ? list : [h("tr", { class: "empty" }, h("td", { colspan: String(columns) }, empty))]),
  )
}

// ---- publish -------------------------------------------------------------------------------

byId("publish-form").addEventListener("submit", async (event) => {
  event.preventDefault()
  const form = /** @type {HTMLFormElement} */ (event.currentTarget)
  const fields = new FormData(form)
  const body = new URLSearchParams()
  body.set("topic", String(fields.get("topic")))
  body.set("data", String(fields.get("data") ?? ""))
  for (const name of ["type", "id"]) {
    const value = String(fields.get(name) ?? "").trim()
    if (value !== "") body.set(name, value)
  }
  if (fields.get("private") !== null) body.set("private", "on")
  const result = byId("publish-result")
  result.dataset.tone = ""
  result.textContent = "Publishing…"
  try {
    const response = await fetch(hubPath, {
      method: "POST",
      headers: { ...authorization(), "content-type": "application/x-www-form-urlencoded" },
      body,
    })
    const text = await response.text()
    if (response.ok) {
      result.dataset.tone = "good"
      result.textContent = `Published ${text}`
    } else {
      result.dataset.tone = "bad"
      result.textContent = `${response.status}: ${problemDetail(text)}`
    }
  } catch (error) {
    result.dataset.tone = "bad"
    result.textContent = `Not sent: ${/** @type {Error} */ (error).message}`
  }
})

// ---- tail ----------------------------------------------------------------------------------

byId("tail-form").addEventListener("submit", (event) => {
  event.preventDefault()
  const topic = String(new FormData(/** @type {HTMLFormElement} */ (event.currentTarget)).get("topic")).trim()
  if (topic !== "") startTail(`${hubPath}?topic=${encodeURIComponent(topic)}`, topic)
})
byId("tail-stop").addEventListener("click", () => stopTail("stopped"))

/**
 * Streams every event of `url` (whatever its type) into the tail list, until stopped.
 * @param {string} url
 * @param {string} label
 */
async function startTail(url, label) {
  stopTail("stopped")
  const controller = new AbortController()
  tail = controller
  byId("tail-log").replaceChildren()
  byId("tail-state").textContent = `connecting to ${label}`
  byId("tail-stop").removeAttribute("disabled")
  const source = new EventSource(url, { headers: authorization, signal: controller.signal })
  source.addEventListener("open", () => {
    if (tail === controller) byId("tail-state").textContent = `live · ${label}`
  })
  try {
    for await (const event of source) {
      const log = byId("tail-log")
      log.prepend(
        h(
          "li",
          {},
          h("time", {}, new Date().toLocaleTimeString()),
          h("span", { class: "tag" }, event.type),
          event.lastEventId === ""
            ? ""
            : h("span", { class: "mono muted ellipsis", title: event.lastEventId }, event.lastEventId),
          h("code", { class: "tail-data" }, event.data),
        ),
      )
      while (log.childElementCount > TAIL_LINES) log.lastElementChild?.remove()
    }
    if (tail === controller) stopTail("ended")
  } catch (error) {
    if (tail === controller) {
      const failure = /** @type {any} */ (error)
      stopTail(
        failure.status === undefined ? failure.message : `${failure.status}: ${problemDetail(failure.body)}`,
      )
    }
  }
}

/** @param {string} state */
function stopTail(state) {
  tail?.abort()
  tail = undefined
  byId("tail-state").textContent = state
  byId("tail-stop").setAttribute("disabled", "")
}

// ---- helpers -------------------------------------------------------------------------------

/**
 * A DOM element with attributes and children (strings become text nodes: never HTML).
 * @param {string} tag
 * @param {Record<string, string>} attributes
 * @param {...(Node | string)} children
 */
function h(tag, attributes, ...children) {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value)
  element.append(...children)
  return element
}

/** @param {string} text */
function num(text) {
  return h("td", { class: "num" }, text)
}

/** The `detail` of a problem document, or the text itself. @param {string} text */
function problemDetail(text) {
  try {
    const parsed = JSON.parse(text)
    if (typeof parsed?.detail === "string") return parsed.detail
  } catch {}
  return text.trim() === "" ? "no reason given" : text.trim()
}

/** @param {number} value */
function bytes(value) {
  if (value < 1024) return `${value} B`
  const units = ["KiB", "MiB", "GiB", "TiB"]
  let scaled = value / 1024
  let unit = 0
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024
    unit++
  }
  return `${rates.format(scaled)} ${units[unit]}`
}

/** @param {number} ms */
function duration(ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`
  const seconds = ms / 1000
  if (seconds < 60) return `${rates.format(seconds)} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${Math.floor(seconds % 60)} s`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `${hours} h ${minutes % 60} min`
  return `${Math.floor(hours / 24)} d ${hours % 24} h`
}

/** @param {number} ms */
function ago(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000))
  if (seconds < 60) return `${seconds}s ago`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h ago`
  return `${Math.floor(seconds / 86_400)}d ago`
}

// ---- start ---------------------------------------------------------------------------------

// The chat page is another issue's: the link shows only once the page exists.
fetch("/chat", { method: "HEAD" })
  .then((response) => {
    byId("chat-link").hidden = !response.ok
  })
  .catch(() => {})

byId("forget-token").hidden = token === undefined
connect()
