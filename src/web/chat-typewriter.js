// The typewriter effect: text received in bursts (one entry per flush window on the server) is
// shown character by character, catching up smoothly however far behind it is.

/** The display closes this fraction of its lag per millisecond: about 150 ms behind the stream. */
const CATCH_UP_PER_MS = 1 / 150

/**
 * Shows a growing text in `element`, typed out; the text only grows (a reader never rewrites what
 * it showed), unless cleared.
 */
export class Typewriter {
  /** @type {Text} */
  #node
  #target = ""
  #shown = 0
  /** @type {number | undefined} */
  #frame
  #last = 0
  /** @type {() => void} */
  #onIdle

  /**
   * @param {HTMLElement} element  emptied, then given the text
   * @param {() => void} onIdle    called each time the shown text catches up with the text
   */
  constructor(element, onIdle) {
    this.#node = document.createTextNode("")
    element.replaceChildren(this.#node)
    this.#onIdle = onIdle
  }

  /** Whether characters received are still waiting to be shown. */
  get typing() {
    return this.#shown < this.#target.length
  }

  /**
   * The text to show: the one before plus what arrived since. `instant` shows it at once (text the
   * page had before a reload, or a tab nobody sees).
   * @param {string} text
   * @param {boolean} [instant]
   */
  show(text, instant = false) {
    this.#target = text
    if (instant || document.hidden) this.#reveal(text.length)
    else if (this.#frame === undefined && this.typing) {
      this.#last = performance.now()
      this.#frame = requestAnimationFrame((now) => this.#tick(now))
    }
  }

  /** Withdraws all the text shown, to start over (the server no longer holds it). */
  clear() {
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame)
    this.#frame = undefined
    this.#target = ""
    this.#shown = 0
    this.#node.data = ""
  }

  /** Shows everything received at once, and stops typing. */
  flush() {
    this.#reveal(this.#target.length)
  }

  /** @param {number} now */
  #tick(now) {
    this.#frame = undefined
    const lag = this.#target.length - this.#shown
    const step = Math.max(1, Math.ceil(lag * Math.min(1, (now - this.#last) * CATCH_UP_PER_MS)))
    this.#last = now
    this.#reveal(this.#shown + step)
    if (this.typing) this.#frame = requestAnimationFrame((next) => this.#tick(next))
  }

  /** @param {number} end */
  #reveal(end) {
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame)
    this.#frame = undefined
    let cut = Math.min(end, this.#target.length)
    // Never cut a character in two: a surrogate pair is shown whole.
    if (cut < this.#target.length && /[\udc00-\udfff]/.test(this.#target[cut] ?? "")) cut++
    if (cut > this.#shown) {
      this.#node.appendData(this.#target.slice(this.#shown, cut))
      this.#shown = cut
    }
    if (!this.typing) this.#onIdle()
  }
}
