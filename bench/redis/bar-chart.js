// Horizontal bar charts as one standalone SVG, drawn by hand (a chart this simple needs no
// dependency): panels stacked top to bottom, each with its own scale (a closed loop and an open
// loop differ twentyfold), one bar per row with its value printed.

const WIDTH = 820
const LEFT = 190
const RIGHT = WIDTH - 110
const BAR = 22
const HEADING = 26
const PANEL_GAP = 18
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]

const escapeXml = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/**
 * @param {object} chart
 * @param {string} chart.title
 * @param {string} chart.subtitle the command, the date, the machine
 * @param {{ heading: string, bars: { label: string, value: number }[] }[]} chart.panels
 * @param {(value: number) => string} chart.format
 */
export function barChart({ title, subtitle, panels, format }) {
  const top = 60
  const panelHeight = (panel) => HEADING + panel.bars.length * BAR + PANEL_GAP
  const height = top + panels.reduce((sum, panel) => sum + panelHeight(panel), 0)
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${WIDTH / 2}" y="44" text-anchor="middle" fill="#666">${escapeXml(subtitle)}</text>`,
  ]
  let y = top
  for (const panel of panels) {
    const largest = Math.max(...panel.bars.map((bar) => bar.value))
    parts.push(`<text x="${LEFT}" y="${y + 16}" font-weight="bold">${escapeXml(panel.heading)}</text>`)
    const barsTop = y + HEADING
    panel.bars.forEach((bar, i) => {
      const barY = barsTop + i * BAR
      const width = Math.max(1, ((RIGHT - LEFT) * bar.value) / largest)
      parts.push(
        `<text x="${LEFT - 8}" y="${barY + BAR / 2 + 2}" text-anchor="end">${escapeXml(bar.label)}</text>`,
        `<rect x="${LEFT}" y="${barY}" width="${width.toFixed(1)}" height="${BAR - 4}" fill="${COLORS[i % COLORS.length]}"/>`,
        `<text x="${(LEFT + width + 6).toFixed(1)}" y="${barY + BAR / 2 + 2}">${escapeXml(format(bar.value))}</text>`,
      )
    })
    const barsBottom = barsTop + panel.bars.length * BAR
    parts.push(`<line x1="${LEFT}" y1="${barsTop - 2}" x2="${LEFT}" y2="${barsBottom - 2}" stroke="#444"/>`)
    y += panelHeight(panel)
  }
  parts.push("</svg>")
  return `${parts.join("\n")}\n`
}
