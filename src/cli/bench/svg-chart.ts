import { count, describeParameters } from "./render-table.js"
import type { BenchReport } from "./report.js"
import type { TimelineSecond } from "./timeline.js"

const WIDTH = 820
const HEIGHT = 420
const PLOT = { left: 70, right: WIDTH - 80, top: 70, bottom: HEIGHT - 55 }
const TICKS = 5
const COLORS = { p50: "#1f77b4", p99: "#d62728", bars: "#c7d7ea", axis: "#444", grid: "#e5e5e5" }

/**
 * The run over time as a standalone SVG: publish→receive p50 and p99 per second as lines
 * (latency axis on the left), deliveries per second as bars (axis on the right), with the run's
 * parameters in the title. Drawn by hand: a chart this simple needs no dependency.
 */
export function svgChart(report: BenchReport): string {
  const timeline = report.timeline
  const seconds = Math.max(1, timeline.length)
  const latencyTop = niceCeiling(Math.max(0, ...timeline.map((second) => second.p99Ms ?? 0)))
  const deliveriesTop = niceCeiling(Math.max(0, ...timeline.map((second) => second.deliveries)))
  const slot = (PLOT.right - PLOT.left) / seconds
  const x = (second: number) => PLOT.left + slot * (second + 0.5)
  const yLatency = (ms: number) => PLOT.bottom - (ms / latencyTop) * (PLOT.bottom - PLOT.top)
  const yDeliveries = (n: number) => PLOT.bottom - (n / deliveriesTop) * (PLOT.bottom - PLOT.top)

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    text(WIDTH / 2, 24, `herald bench: ${describeParameters(report)}`, {
      anchor: "middle",
      size: 15,
      weight: "bold",
    }),
    text(WIDTH / 2, 44, report.hubUrl, { anchor: "middle", fill: "#666" }),
  ]
  for (let tick = 0; tick <= TICKS; tick++) {
    const y = PLOT.bottom - (tick / TICKS) * (PLOT.bottom - PLOT.top)
    parts.push(
      line(PLOT.left, y, PLOT.right, y, COLORS.grid),
      text(PLOT.left - 6, y + 4, trimmed((latencyTop * tick) / TICKS), { anchor: "end" }),
      text(PLOT.right + 6, y + 4, count(Math.round((deliveriesTop * tick) / TICKS)), { anchor: "start" }),
    )
  }
  const barWidth = Math.max(1, slot * 0.7)
  for (const second of timeline) {
    const top = yDeliveries(second.deliveries)
    parts.push(
      `<rect x="${fixed(x(second.second) - barWidth / 2)}" y="${fixed(top)}" width="${fixed(barWidth)}" height="${fixed(PLOT.bottom - top)}" fill="${COLORS.bars}"/>`,
    )
  }
  const labelEvery = Math.ceil(seconds / 20)
  for (let second = 0; second < seconds; second += labelEvery)
    parts.push(text(x(second), PLOT.bottom + 16, String(second), { anchor: "middle" }))
  parts.push(
    line(PLOT.left, PLOT.top, PLOT.left, PLOT.bottom, COLORS.axis),
    line(PLOT.right, PLOT.top, PLOT.right, PLOT.bottom, COLORS.axis),
    line(PLOT.left, PLOT.bottom, PLOT.right, PLOT.bottom, COLORS.axis),
    text((PLOT.left + PLOT.right) / 2, HEIGHT - 18, "seconds since publishing began", { anchor: "middle" }),
    verticalText(18, (PLOT.top + PLOT.bottom) / 2, "publish→receive latency (ms)"),
    verticalText(WIDTH - 14, (PLOT.top + PLOT.bottom) / 2, "deliveries per second"),
    series(timeline, (second) => second.p50Ms, x, yLatency, COLORS.p50),
    series(timeline, (second) => second.p99Ms, x, yLatency, COLORS.p99),
    legend(),
    "</svg>",
  )
  return `${parts.join("\n")}\n`
}

/**
 * A line through the seconds that have a value, with a dot on each (a one-second run is one
 * dot); a second without deliveries breaks the line.
 */
function series(
  timeline: readonly TimelineSecond[],
  value: (second: TimelineSecond) => number | undefined,
  x: (second: number) => number,
  y: (ms: number) => number,
  color: string,
): string {
  let path = ""
  const dots: string[] = []
  let drawing = false
  for (const second of timeline) {
    const ms = value(second)
    if (ms === undefined) {
      drawing = false
      continue
    }
    const [px, py] = [fixed(x(second.second)), fixed(y(ms))]
    path += `${drawing ? "L" : "M"}${px},${py} `
    dots.push(`<circle cx="${px}" cy="${py}" r="2.5" fill="${color}"/>`)
    drawing = true
  }
  return [
    `<path d="${path.trim()}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"/>`,
    ...dots,
  ].join("\n")
}

function legend(): string {
  const entries: [string, string, boolean][] = [
    ["p50 latency", COLORS.p50, false],
    ["p99 latency", COLORS.p99, false],
    ["deliveries/s", COLORS.bars, true],
  ]
  return entries
    .map(([label, color, bar], index) => {
      const left = PLOT.left + index * 130
      const swatch = bar
        ? `<rect x="${left}" y="${PLOT.top - 18}" width="18" height="10" fill="${color}"/>`
        : `<line x1="${left}" y1="${PLOT.top - 13}" x2="${left + 18}" y2="${PLOT.top - 13}" stroke="${color}" stroke-width="2"/>`
      return `${swatch}\n${text(left + 24, PLOT.top - 9, label, { anchor: "start" })}`
    })
    .join("\n")
}

/** A round number at or above `value` (1, 2 or 5 × a power of ten), so the axis ticks read well. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1
  const power = 10 ** Math.floor(Math.log10(value))
  const step = [1, 2, 5, 10].find((factor) => factor * power >= value) ?? 10
  return step * power
}

function line(x1: number, y1: number, x2: number, y2: number, color: string): string {
  return `<line x1="${fixed(x1)}" y1="${fixed(y1)}" x2="${fixed(x2)}" y2="${fixed(y2)}" stroke="${color}"/>`
}

function text(
  x: number,
  y: number,
  content: string,
  style: { anchor: "start" | "middle" | "end"; size?: number; weight?: string; fill?: string },
): string {
  const size = style.size === undefined ? "" : ` font-size="${style.size}"`
  const weight = style.weight === undefined ? "" : ` font-weight="${style.weight}"`
  return `<text x="${fixed(x)}" y="${fixed(y)}" text-anchor="${style.anchor}" fill="${style.fill ?? "#222"}"${size}${weight}>${escapeXml(content)}</text>`
}

function verticalText(x: number, y: number, content: string): string {
  return `<text x="${fixed(x)}" y="${fixed(y)}" text-anchor="middle" fill="#222" transform="rotate(-90 ${fixed(x)} ${fixed(y)})">${escapeXml(content)}</text>`
}

function trimmed(value: number): string {
  return String(Number(value.toPrecision(3)))
}

function fixed(value: number): string {
  return String(Math.round(value * 10) / 10)
}

function escapeXml(value: string): string {
  return value.replace(/[&<>"]/g, (char) => `&#${char.charCodeAt(0)};`)
}
