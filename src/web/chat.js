// The chat page at /chat: a conversation with a model of `herald serve`, each answer a generation
// streamed from its log (docs/ai.md, "Chat page"). The page keeps the generation's id in the URL
// (#g=…) and, per answer, the text with the cursor of its last event (chat-store.js): a reload
// follows the same generation from that cursor, a second tab opened on the link follows it from
// the start, and Stop cancels it on whichever node runs it.

import { cancelGeneration, currentToken, generationState, listModels, storeToken } from "./chat-api.js"
import { flushSave, loadTurns, requestToKeep, savedModel, saveModel, saveTurns } from "./chat-store.js"
import { GenerationStream } from "./chat-stream.js"
import { Typewriter } from "./chat-typewriter.js"

/** @typedef {import("./chat-store.js").Turn} Turn */

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id))

const thread = byId("thread")
const prompt = /** @type {HTMLTextAreaElement} */ (byId("prompt"))
const modelSelect = /** @type {HTMLSelectElement} */ (byId("model"))
const template = /** @type {HTMLTemplateElement} */ (byId("turn-template"))

/** What each status says on an answer's badge. */
const STATUS_LABELS = {
  starting: "Waiting for the model",
  running: "Streaming",
  done: "Done",
  cancelled: "Stopped",
  interrupted: "Interrupted",
  failed: "Failed",
  lost: "Gone",
}

/** What the badge says while the connection, not the generation, is the news. */
const CONNECTION_LABELS = { reconnecting: "Reconnecting…", offline: "Disconnected", token: "Token needed" }

const numbers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 })

/** @type {Turn[]} */
const turns = loadTurns()

/** An answer on screen: its record, its elements, and the stream reading it while it runs. */
class TurnView {
  /** @type {GenerationStream | undefined} */
  stream
  /** @type {"connecting" | "live" | "reconnecting" | "offline" | "token"} */
  connection = "connecting"
  stopping = false

  /** @param {Turn} turn */
  constructor(turn) {
    this.turn = turn
    this.root = /** @type {HTMLElement} */ (
      /** @type {DocumentFragment} */ (template.content.cloneNode(true)).firstElementChild
    )
    /** @param {string} selector */
    this.part = (selector) => /** @type {HTMLElement} */ (this.root.querySelector(selector))
    const promptText = this.part(".prompt")
    if (turn.prompt === undefined) {
      promptText.textContent = "Watching an answer from a link"
      this.part(".message.user").classList.add("watched")
    } else promptText.textContent = turn.prompt
    this.typewriter = new Typewriter(this.part(".answer-text"), () => this.render())
    this.typewriter.show(turn.text, true)
    this.part(".reconnect").addEventListener("click", () => this.stream?.reconnect())
    thread.append(this.root)
    this.render()
  }

  get running() {
    return this.turn.status === "starting" || this.turn.status === "running"
  }

  /** Shows the record's state (cheap: called on every event). */
  render() {
    const { turn, root } = this
    root.dataset.status = turn.status
    // The connection is news only while the answer runs.
    if (this.running) root.dataset.connection = this.connection
    else delete root.dataset.connection
    if (turn.id !== undefined) root.dataset.generation = turn.id
    const busy = this.running || this.typewriter.typing
    this.part(".answer").setAttribute("aria-busy", String(busy))
    root.classList.toggle("typing", busy)
    const badge = this.part(".badge")
    badge.textContent =
      this.running && this.stopping
        ? "Stopping…"
        : ((this.running ? CONNECTION_LABELS[this.connection] : undefined) ?? STATUS_LABELS[turn.status])
    this.part(".model-name").textContent = turn.model
    this.part(".stats").textContent = describeStats(turn.stats)
    const reasoning = this.part(".reasoning")
    reasoning.hidden = turn.reasoning === ""
    this.part(".reasoning-text").textContent = turn.reasoning
    const end = this.part(".end-message")
    const message = endMessage(turn)
    end.hidden = message === undefined
    end.textContent = message ?? ""
    this.part(".reconnect").hidden = !(this.running && this.connection === "offline")
    const watch = /** @type {HTMLAnchorElement} */ (this.part(".watch"))
    watch.hidden = turn.id === undefined
    if (turn.id !== undefined) {
      watch.href = `/chat#g=${encodeURIComponent(turn.id)}`
      watch.textContent = this.running ? "Watch in a new tab" : "Open in a new tab"
    }
  }
}

/** @type {Map<string, TurnView>} */
const views = new Map()

/** The answers' numbers, once the generation ended. */
function describeStats(stats) {
  if (stats === undefined) return ""
  const parts = []
  const tokens = stats.usage?.outputTokens
  if (tokens !== undefined) parts.push(`${numbers.format(tokens)} tokens`)
  if (stats.tokensPerSecond !== undefined) parts.push(`${numbers.format(stats.tokensPerSecond)} tok/s`)
  if (stats.timeToFirstTokenMs !== undefined)
    parts.push(`first token ${numbers.format(stats.timeToFirstTokenMs)} ms`)
  return parts.join(" · ")
}

/** A server's message inside a sentence of the page's: without its own final period. */
const clause = (/** @type {string} */ message) => message.replace(/\.+$/, "")

/** @param {Turn} turn */
function endMessage(turn) {
  switch (turn.status) {
    case "cancelled":
      return "Stopped: the model was told to stop. The text above is what it wrote until then."
    case "interrupted":
      return `Interrupted: ${clause(turn.message ?? "the node running it stopped")}. The text above is everything it wrote before.`
    case "failed":
      return `Failed: ${clause(turn.message ?? "the generation failed")}.`
    case "lost":
      return turn.message
    case "done":
      return turn.finishReason === "length" ? "Cut at the maximum number of tokens." : undefined
    default:
      return undefined
  }
}

/**
 * The key of a new turn: unique in this tab, and sent as its request's Idempotency-Key, which the
 * server scopes to the token's subject only (tabs and users with one share them): 96 random bits.
 */
function newKey() {
  const random = crypto.getRandomValues(new Uint8Array(12))
  return `${Date.now().toString(36)}-${Array.from(random, (byte) => byte.toString(16).padStart(2, "0")).join("")}`
}

/** @param {Turn} turn */
function addTurn(turn) {
  byId("welcome").hidden = true
  const view = new TurnView(turn)
  views.set(turn.key, view)
  return view
}

function save() {
  saveTurns(turns)
}

/** The answer the Stop button stops: the latest one still running. */
function runningView() {
  for (let index = turns.length - 1; index >= 0; index--) {
    const view = views.get(/** @type {Turn} */ (turns[index]).key)
    if (view?.running && view.stream !== undefined) return view
  }
  return undefined
}

/** Send while idle, Stop while an answer runs. */
function updateComposer() {
  const running = runningView()
  byId("send").hidden = running !== undefined
  const stop = /** @type {HTMLButtonElement} */ (byId("stop"))
  stop.hidden = running === undefined
  stop.disabled = running?.stopping === true
}

/** Keeps the generation's id in the URL: the address to come back to, or to share with a second tab. */
function showInUrl(id) {
  history.replaceState(null, "", id === undefined ? location.pathname : `#g=${encodeURIComponent(id)}`)
}

/** The id the URL names (`#g=…`), if any. */
function idInUrl() {
  const id = new URLSearchParams(location.hash.slice(1)).get("g")
  return id === null || id === "" ? undefined : id
}

/**
 * Reads `view`'s generation: a new one from `body`, or the one it names from its cursor.
 * @param {TurnView} view
 * @param {object} [body]  a Chat Completions request, to create the generation
 */
function stream(view, body) {
  const { turn } = view
  const reader = new GenerationStream({
    onId(id) {
      turn.id = id
      delete turn.request
      turn.status = "running"
      showInUrl(id)
      save()
      view.render()
      if (view.stopping) void stop(view)
    },
    onEvent(event) {
      // Text and cursor change together, in one task: whatever save lands holds both or neither.
      turn.text += event.text
      turn.reasoning += event.reasoning
      turn.cursor = event.cursor
      if (event.finishReason !== undefined) turn.finishReason = event.finishReason
      if (turn.status === "starting") turn.status = "running"
      save()
      view.typewriter.show(turn.text)
      view.render()
    },
    onConnection(state) {
      view.connection = state
      view.render()
    },
    onRestart() {
      turn.text = ""
      turn.reasoning = ""
      delete turn.cursor
      delete turn.finishReason
      save()
      view.typewriter.clear()
      view.render()
    },
    onEnd(status, message) {
      view.stream = undefined
      view.stopping = false
      delete turn.request
      delete turn.stopRequested
      turn.status = status
      if (message !== undefined) turn.message = message
      save()
      view.render()
      updateComposer()
      if (turn.id !== undefined && status !== "lost") void fetchStats(view)
    },
    onRefused(_status, message) {
      view.stream = undefined
      updateComposer()
      if (turn.id === undefined) {
        // Refused before it started: nothing was created. The prompt goes back to the box.
        removeTurn(view)
        if (prompt.value === "") prompt.value = turn.prompt ?? ""
      } else {
        view.connection = "token"
        view.render()
      }
      showTokenPanel(message)
    },
  })
  view.stream = reader
  if (body !== undefined) reader.create(body, turn.key)
  else reader.follow(/** @type {string} */ (turn.id), turn.cursor)
  updateComposer()
}

/** @param {TurnView} view */
async function fetchStats(view) {
  try {
    const state = await generationState(/** @type {string} */ (view.turn.id))
    view.turn.stats = state.stats
    if (view.turn.model === "") view.turn.model = state.model
    save()
    view.render()
  } catch {
    // The numbers are a nicety: without them the answer stands.
  }
}

/** @param {TurnView} view */
function removeTurn(view) {
  view.root.remove()
  views.delete(view.turn.key)
  turns.splice(turns.indexOf(view.turn), 1)
  save()
  byId("welcome").hidden = turns.length > 0
}

/** @param {TurnView} view */
async function stop(view) {
  view.stopping = true
  view.render()
  updateComposer()
  if (view.turn.stopRequested !== true) {
    // Kept at once: a reload before the cancel is sent (before the head names the generation, and
    // the re-sent request brings it back) sends it then.
    view.turn.stopRequested = true
    save()
    flushSave()
  }
  // Without an id yet, the stop is sent as soon as the server names the generation (onId).
  if (view.turn.id === undefined) return
  try {
    await cancelGeneration(view.turn.id)
  } catch (error) {
    delete view.turn.stopRequested
    save()
    view.stopping = false
    view.render()
    updateComposer()
    if (/** @type {any} */ (error).needsToken) showTokenPanel(/** @type {Error} */ (error).message)
    else showBanner(`Could not stop the answer: ${/** @type {Error} */ (error).message}.`)
  }
}

/** The conversation so far, as Chat Completions messages, then `text` from the user. */
function messagesWith(text) {
  const messages = []
  for (const turn of turns) {
    if (turn.prompt === undefined) continue
    messages.push({ role: "user", content: turn.prompt })
    if (turn.text !== "") messages.push({ role: "assistant", content: turn.text })
  }
  messages.push({ role: "user", content: text })
  return messages
}

/** @param {string} text */
function send(text) {
  const model = modelSelect.value
  if (text.trim() === "" || runningView() !== undefined) return
  if (modelSelect.disabled || model === "") {
    showBanner("No model to send to yet: the list of models has not loaded.")
    return
  }
  hideBanner()
  const body = { model, messages: messagesWith(text) }
  /** @type {Turn} */
  const turn = { key: newKey(), model, prompt: text, text: "", reasoning: "", status: "starting" }
  const request = requestToKeep(body)
  if (request !== undefined) turn.request = request
  turns.push(turn)
  save()
  const view = addTurn(turn)
  stickToBottom = true
  scrollToBottom()
  stream(view, body)
}

/** Follows the generation a link names (a second tab on the same answer), unless it is here already. */
function watchFromUrl() {
  const id = idInUrl()
  if (id === undefined || turns.some((turn) => turn.id === id)) return
  /** @type {Turn} */
  const turn = { key: newKey(), id, model: "", text: "", reasoning: "", status: "running" }
  turns.push(turn)
  save()
  const view = addTurn(turn)
  stream(view)
  void fetchStats(view)
}

// ---- the token ----

/**
 * Asks for a token, saying why: the server's reason for a refusal, or what the tab sends now.
 * @param {string} reason
 * @param {boolean} [refused]  whether the server refused a request (or the token the tab sent)
 */
function showTokenPanel(reason, refused = true) {
  byId("token-panel").hidden = false
  const text = byId("token-reason")
  text.textContent = refused && currentToken() !== undefined ? `The token was refused: ${reason}` : reason
  text.dataset.kind = refused ? "refused" : "info"
  byId("token-forget").hidden = currentToken() === undefined
  byId("token-input").focus()
}

byId("token-button").addEventListener("click", () => {
  const panel = byId("token-panel")
  if (!panel.hidden) panel.hidden = true
  else if (currentToken() === undefined) showTokenPanel("This tab sends no token.", false)
  else showTokenPanel("This tab sends a token: paste another to replace it, or forget it.", false)
})

byId("token-form").addEventListener("submit", (event) => {
  event.preventDefault()
  const input = /** @type {HTMLInputElement} */ (byId("token-input"))
  const value = input.value.trim()
  if (value === "") return
  storeToken(value)
  input.value = ""
  afterTokenChange()
})

byId("token-forget").addEventListener("click", () => {
  storeToken(undefined)
  afterTokenChange()
})

/** With another token, the models may list and the answers waiting for one may go on. */
function afterTokenChange() {
  byId("token-panel").hidden = true
  byId("token-button").classList.toggle("has-token", currentToken() !== undefined)
  void loadModels()
  for (const view of views.values()) {
    if (view.running && view.connection === "token" && view.turn.id !== undefined) stream(view)
  }
}

// ---- the models ----

async function loadModels() {
  try {
    const models = await listModels()
    const wanted = savedModel() ?? modelSelect.value
    modelSelect.replaceChildren(
      ...models.map((name) => {
        const option = document.createElement("option")
        option.value = name
        option.textContent = name
        return option
      }),
    )
    modelSelect.value = models.includes(wanted)
      ? wanted
      : models.includes("demo")
        ? "demo"
        : (models[0] ?? "")
    modelSelect.disabled = models.length === 0
    hideBanner()
  } catch (error) {
    const reason = /** @type {Error} */ (error).message
    modelSelect.replaceChildren(
      new Option(/** @type {any} */ (error).needsToken ? "Token needed" : "No models"),
    )
    modelSelect.disabled = true
    if (/** @type {any} */ (error).needsToken) showTokenPanel(reason)
    else showBanner(`Cannot list the models: ${reason}.`)
  }
}

modelSelect.addEventListener("change", () => saveModel(modelSelect.value))

// ---- banner, scrolling, composer ----

/** @param {string} text */
function showBanner(text) {
  const banner = byId("banner")
  banner.textContent = text
  banner.hidden = false
}

function hideBanner() {
  byId("banner").hidden = true
}

/** Whether the thread follows the newest text: until the user scrolls up to read. */
let stickToBottom = true

function scrollToBottom() {
  thread.scrollTop = thread.scrollHeight
}

thread.addEventListener("scroll", () => {
  stickToBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 48
})
new ResizeObserver(() => {
  if (stickToBottom) scrollToBottom()
}).observe(thread)
new MutationObserver(() => {
  if (stickToBottom) scrollToBottom()
}).observe(thread, { childList: true, subtree: true, characterData: true })

function fitPrompt() {
  prompt.style.height = "auto"
  prompt.style.height = `${Math.min(prompt.scrollHeight, 240)}px`
}

prompt.addEventListener("input", fitPrompt)
prompt.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault()
    byId("composer").requestSubmit()
  }
})

byId("composer").addEventListener("submit", (event) => {
  event.preventDefault()
  const text = prompt.value
  if (text.trim() === "" || runningView() !== undefined) return
  prompt.value = ""
  fitPrompt()
  send(text)
})

byId("stop").addEventListener("click", () => {
  const view = runningView()
  if (view !== undefined && !view.stopping) void stop(view)
})

for (const suggestion of document.querySelectorAll(".suggestion")) {
  suggestion.addEventListener("click", () => send(suggestion.textContent ?? ""))
}

byId("new-chat").addEventListener("click", () => {
  // Leaving answers is not stopping them: a running one finishes (or stops after the server's grace).
  for (const view of views.values()) view.stream?.close()
  for (const view of [...views.values()]) removeTurn(view)
  showInUrl(undefined)
  updateComposer()
  prompt.focus()
})

window.addEventListener("hashchange", watchFromUrl)
// A page may go away without pagehide (a mobile browser discarding a hidden tab): save when hidden too.
window.addEventListener("pagehide", flushSave)
document.addEventListener("visibilitychange", () => {
  if (document.hidden) flushSave()
})

// ---- start: the turns this tab had, each running one followed from its cursor ----

byId("token-button").classList.toggle("has-token", currentToken() !== undefined)
for (const turn of turns) {
  const view = addTurn(turn)
  if (!view.running) continue
  if (turn.id !== undefined) stream(view)
  else if (turn.request !== undefined) {
    // The page went away before the server named the generation: the same request with the same
    // key answers the generation the first one started (or starts it, if that one never arrived).
    stream(view, turn.request)
  } else {
    delete turn.stopRequested
    turn.status = "lost"
    turn.message =
      "The page was reloaded before the answer started, and its request was too large to keep for sending again: this answer cannot be followed."
    view.render()
  }
  // Stopped before the page went away: the stop goes on (sent once the generation is named).
  if (view.running && turn.stopRequested === true) void stop(view)
}
save()
watchFromUrl()
updateComposer()
scrollToBottom()
void loadModels()
prompt.focus()
