// A horizontal bar chart as a standalone SVG, drawn by hand (a chart this simple needs no
// dependency): one group of bars per row label, one bar per series, with its value printed.

const WIDTH = 820
const LEFT = 190
const RIGHT = WIDTH - 110
const BAR = 18
const GAP = 14
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]

const escapeXml = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/**
 * @param {object} chart
 * @param {string} chart.title
 * @param {string} chart.subtitle the command, the date, the machine
 * @param {string[]} chart.series the bars of each row, in order (the legend)
 * @param {{ label: string, values: number[] }[]} chart.rows one value per series
 * @param {(value: number) => string} chart.format
 */
export function barChart({ title, subtitle, series, rows, format }) {
  const top = 80
  const rowHeight = series.length * BAR + GAP
  const height = top + rows.length * rowHeight + 40
  const largest = Math.max(...rows.flatMap((row) => row.values))
  const scale = (value) => ((RIGHT - LEFT) * value) / largest
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${WIDTH / 2}" y="44" text-anchor="middle" fill="#666">${escapeXml(subtitle)}</text>`,
  ]
  series.forEach((name, i) => {
    const x = LEFT + i * 200
    parts.push(
      `<rect x="${x}" y="56" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${x + 18}" y="66">${escapeXml(name)}</text>`,
    )
  })
  rows.forEach((row, r) => {
    const y = top + r * rowHeight
    parts.push(
      `<text x="${LEFT - 8}" y="${y + (series.length * BAR) / 2 + 4}" text-anchor="end">${escapeXml(row.label)}</text>`,
    )
    row.values.forEach((value, i) => {
      const barY = y + i * BAR
      const width = Math.max(1, scale(value))
      parts.push(
        `<rect x="${LEFT}" y="${barY}" width="${width.toFixed(1)}" height="${BAR - 3}" fill="${COLORS[i % COLORS.length]}"/>`,
        `<text x="${(LEFT + width + 6).toFixed(1)}" y="${barY + BAR - 7}">${escapeXml(format(value))}</text>`,
      )
    })
  })
  parts.push(`<line x1="${LEFT}" y1="${top - 4}" x2="${LEFT}" y2="${height - 36}" stroke="#444"/>`, "</svg>")
  return `${parts.join("\n")}\n`
}
