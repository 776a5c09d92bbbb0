// docs/deployment.md as the tests read it: each block marked `<!-- tested: NAME -->` is taken
// from the page's own text, with its ports moved to free loopback ports. The page and the tests
// cannot drift apart: change the page and the tests run the change.
import { readFileSync } from "node:fs"
import { join } from "node:path"

/** The page: docs/deployment.md. */
export const DEPLOYMENT_DOC = join(import.meta.dirname, "..", "..", "docs", "deployment.md")

/** The ports the page uses, and the ones a test uses instead. */
export interface Ports {
  readonly redis: number
  readonly nginx: number
  /** One per node, in the page's order (8081, 8082, 8083). */
  readonly nodes: readonly number[]
}

/** The ports as the page writes them. */
const PAGE_PORTS = { redis: 6379, nginx: 8080, nodes: [8081, 8082, 8083] } as const

/** The text of the fenced block that follows `<!-- tested: name -->` on the page. */
export function docBlock(name: string): string {
  const page = readFileSync(DEPLOYMENT_DOC, "utf8")
  const marker = `<!-- tested: ${name} -->`
  const at = page.indexOf(marker)
  if (at < 0) throw new Error(`docs/deployment.md has no block marked ${marker}`)
  const block = /```[^\n]*\n([\s\S]*?)\n```/.exec(page.slice(at + marker.length))
  if (block === null) throw new Error(`docs/deployment.md: no fenced block after ${marker}`)
  return block[1] as string
}

/**
 * `text` with the page's ports replaced by `ports`. nginx's `listen 8080` (every interface on
 * the page) becomes a loopback address: the tests listen on loopback only.
 */
export function localize(text: string, ports: Ports): string {
  const moved = new Map<number, number>([
    [PAGE_PORTS.redis, ports.redis],
    [PAGE_PORTS.nginx, ports.nginx],
    ...PAGE_PORTS.nodes.map((port, i): [number, number] => [port, ports.nodes[i] as number]),
  ])
  return text
    .replace(/\blisten 8080;/g, `listen 127.0.0.1:${PAGE_PORTS.nginx};`)
    .replace(/\b(6379|8080|8081|8082|8083)\b/g, (port) => String(moved.get(Number(port))))
}

/** The page's Redis settings (`name value` lines) as `redis-server` arguments. */
export function redisSettings(): string[] {
  return docBlock("redis.conf")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .flatMap((line) => {
      const [name, ...value] = line.split(/\s+/)
      return [`--${name}`, value.join(" ")]
    })
}

/** How the page starts its nodes: shell lines that set the environment, and each node's arguments. */
export interface NodeSetup {
  /** The `export …` lines, to run in a shell (they generate the shared key). */
  readonly exports: string
  /** Per node, the arguments after `herald serve`. */
  readonly nodes: readonly (readonly string[])[]
}

/** The page's node block, with the test's ports. */
export function nodeSetup(ports: Ports): NodeSetup {
  const lines = localize(docBlock("nodes"), ports).split("\n")
  const exports = lines.filter((line) => line.startsWith("export ")).join("\n")
  const nodes = lines
    .filter((line) => line.startsWith("herald serve "))
    .map((line) => {
      const args = line.replace(/^herald serve /, "").replace(/\s*&$/, "")
      if (/["'$\\]/.test(args)) throw new Error(`a node line the tests cannot split: ${line}`)
      return args.split(/\s+/)
    })
  if (nodes.length !== PAGE_PORTS.nodes.length) {
    throw new Error(`docs/deployment.md starts ${nodes.length} nodes; the tests expect 3`)
  }
  return { exports, nodes }
}

/** The page's nginx config (http-context blocks), with the test's ports. */
export function nginxConfig(ports: Ports): string {
  return localize(docBlock("nginx"), ports)
}
