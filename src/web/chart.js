// The dashboard's chart: updates in and out per second over the last two minutes, hand-drawn in
// SVG (no library: two paths, a grid and a hover rule are all it needs). It redraws on every
// sample, so it scrolls as time passes, and on every resize of its container.

const SVG = "http://www.w3.org/2000/svg"
const PAD = { top: 14, right: 14, bottom: 26, left: 46 }
/** Two samples further apart than this (a reconnect, a paused tab) are not joined by a line. */
const GAP_MS = 2500
const SERIES = /** @type {const} */ (["in", "out"])

/**
 * @typedef {{ time: number, in: number, out: number }} RateSample
 */

/**
 * Draws the chart into `container` and returns what feeds it.
 * @param {HTMLElement} container
 * @param {{ windowMs?: number }} [options]
 */
export function createRateChart(container, options = {}) {
  const windowMs = options.windowMs ?? 120_000
  /** @type {RateSample[]} */
  let samples = []
  let width = 0
  let height = 0
  let drawnOnce = false

  const svg = node("svg", { class: "chart-svg", role: "img", "aria-label": "Updates in and out per second" })
  const defs = node("defs")
  for (const name of SERIES) {
    const gradient = node("linearGradient", { id: `fade-${name}`, x1: "0", x2: "0", y1: "0", y2: "1" })
    gradient.append(
      node("stop", { offset: "0%", class: `stop-${name}`, "stop-opacity": "0.28" }),
      node("stop", { offset: "100%", class: `stop-${name}`, "stop-opacity": "0" }),
    )
    defs.append(gradient)
  }
  const grid = node("g", { class: "chart-grid" })
  const axis = node("g", { class: "chart-axis" })
  const areas = Object.fromEntries(
    SERIES.map((name) => [
      name,
      node("path", { class: `chart-area area-${name}`, fill: `url(#fade-${name})` }),
    ]),
  )
  const lines = Object.fromEntries(
    SERIES.map((name) => [name, node("path", { class: `chart-line line-${name}` })]),
  )
  const dots = Object.fromEntries(
    SERIES.map((name) => [name, node("circle", { class: `chart-dot dot-${name}`, r: "3.5" })]),
  )
  const hover = node("g", { class: "chart-hover", visibility: "hidden" })
  const rule = node("line", { class: "chart-rule" })
  const label = node("text", { class: "chart-tip" })
  hover.append(rule, label)
  const empty = node("text", { class: "chart-empty", "text-anchor": "middle" })
  empty.textContent = "Waiting for the first samples…"
  svg.append(defs, grid, axis, areas.out, areas.in, lines.out, lines.in, dots.out, dots.in, hover, empty)
  container.append(svg)

  const draw = () => {
    if (width === 0 || height === 0) return
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`)
    const end = samples.at(-1)?.time ?? Date.now()
    const start = end - windowMs
    const visible = samples.filter((sample) => sample.time >= start)
    // Four gridlines a whole, round step apart, the highest above every value.
    const top = 4 * niceCeiling(Math.max(4, ...visible.flatMap((sample) => [sample.in, sample.out])) / 4)
    const plotWidth = width - PAD.left - PAD.right
    const plotHeight = height - PAD.top - PAD.bottom
    const x = (/** @type {number} */ time) => PAD.left + ((time - start) / windowMs) * plotWidth
    const y = (/** @type {number} */ value) => PAD.top + plotHeight - (value / top) * plotHeight

    grid.replaceChildren()
    axis.replaceChildren()
    for (let step = 0; step <= 4; step++) {
      const value = (top * step) / 4
      grid.append(node("line", { x1: PAD.left, x2: width - PAD.right, y1: y(value), y2: y(value) }))
      axis.append(text(PAD.left - 8, y(value) + 4, compact(value), "end"))
    }
    for (let ago = windowMs; ago >= 0; ago -= 30_000) {
      const caption =
        ago === 0 ? "now" : `−${Math.floor(ago / 60_000)}:${String((ago / 1000) % 60).padStart(2, "0")}`
      axis.append(
        text(x(end - ago), height - 8, caption, ago === windowMs ? "start" : ago === 0 ? "end" : "middle"),
      )
    }

    for (const name of SERIES) {
      let line = ""
      let area = ""
      /** @type {RateSample[]} */
      let run = []
      const close = () => {
        if (run.length === 0) return
        const points = run.map((sample) => `${x(sample.time).toFixed(1)},${y(sample[name]).toFixed(1)}`)
        line += `M${points.join("L")}`
        const first = run[0]
        const last = run.at(-1)
        if (first !== undefined && last !== undefined) {
          area += `M${x(first.time).toFixed(1)},${y(0)}L${points.join("L")}L${x(last.time).toFixed(1)},${y(0)}Z`
        }
        run = []
      }
      for (const sample of visible) {
        const previous = run.at(-1)
        if (previous !== undefined && sample.time - previous.time > GAP_MS) close()
        run.push(sample)
      }
      close()
      lines[name].setAttribute("d", line)
      areas[name].setAttribute("d", area)
      const last = visible.at(-1)
      dots[name].setAttribute("visibility", last === undefined ? "hidden" : "visible")
      if (last !== undefined) {
        dots[name].setAttribute("cx", x(last.time).toFixed(1))
        dots[name].setAttribute("cy", y(last[name]).toFixed(1))
      }
    }
    empty.setAttribute("x", String(PAD.left + plotWidth / 2))
    empty.setAttribute("y", String(PAD.top + plotHeight / 2))
    empty.setAttribute("visibility", visible.length < 2 ? "visible" : "hidden")
    if (!drawnOnce && visible.length >= 2) {
      drawnOnce = true
      performance.mark("herald:first-chart")
    }
    svg.dataset.samples = String(visible.length)

    svg.onpointermove = (event) => {
      const box = svg.getBoundingClientRect()
      const at = start + ((event.clientX - box.left - PAD.left) / plotWidth) * windowMs
      const nearest = visible.reduce(
        (best, sample) =>
          best === undefined || Math.abs(sample.time - at) < Math.abs(best.time - at) ? sample : best,
        /** @type {RateSample | undefined} */ (undefined),
      )
      if (nearest === undefined) return
      const atX = x(nearest.time)
      rule.setAttribute("x1", String(atX))
      rule.setAttribute("x2", String(atX))
      rule.setAttribute("y1", String(PAD.top))
      rule.setAttribute("y2", String(PAD.top + plotHeight))
      label.textContent = `${new Date(nearest.time).toLocaleTimeString()}  in ${compact(nearest.in)}/s  out ${compact(nearest.out)}/s`
      const right = atX > width / 2
      label.setAttribute("x", String(right ? atX - 8 : atX + 8))
      label.setAttribute("y", String(PAD.top + 12))
      label.setAttribute("text-anchor", right ? "end" : "start")
      hover.setAttribute("visibility", "visible")
    }
    svg.onpointerleave = () => hover.setAttribute("visibility", "hidden")
  }

  new ResizeObserver(([entry]) => {
    if (entry === undefined) return
    width = Math.round(entry.contentRect.width)
    height = Math.round(entry.contentRect.height)
    draw()
  }).observe(container)

  return {
    /** Replaces every sample (the stream's `history` event). @param {readonly RateSample[]} all */
    set(all) {
      samples = [...all]
      draw()
    },
    /** Adds the newest sample, and forgets those out of the window. @param {RateSample} sample */
    push(sample) {
      const last = samples.at(-1)
      if (last !== undefined && sample.time <= last.time) return
      samples.push(sample)
      samples = samples.filter((each) => each.time >= sample.time - windowMs - GAP_MS)
      draw()
    },
  }
}

/**
 * @param {string} name
 * @param {Record<string, string | number>} [attributes]
 */
function node(name, attributes = {}) {
  const element = document.createElementNS(SVG, name)
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value))
  return element
}

/**
 * @param {number} x
 * @param {number} y
 * @param {string} content
 * @param {"start" | "middle" | "end"} anchor
 */
function text(x, y, content, anchor) {
  const element = node("text", { x, y, "text-anchor": anchor })
  element.textContent = content
  return element
}

/** The smallest round step (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10ⁿ) at or above `value`: a round step for the axis. @param {number} value */
function niceCeiling(value) {
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * power >= value) return step * power
  return 10 * power
}

/** `1234` as `1.2k`. @param {number} value */
function compact(value) {
  return new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 }).format(value)
}
