// Debian's nginx on loopback ports, started by the test with its own prefix (config, pid,
// logs and temp files in a temp dir) and `daemon off`. Without nginx the tests skip — except
// under HERALD_TEST_STRICT=1 (CI), where they fail. Used by `herald doctor`'s proxy tests and by
// the multi-node tests (test/cluster/).
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { waitUntil } from "../server/helpers.js"

const NGINX_PATHS = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]

/** The nginx executable, or undefined when there is none (strict mode throws instead). */
export function findNginx(): string | undefined {
  const found = NGINX_PATHS.find((path) => existsSync(path))
  if (found === undefined && process.env.HERALD_TEST_STRICT === "1")
    throw new Error("HERALD_TEST_STRICT=1 and no nginx: install Debian's nginx package.")
  return found
}

/** A running nginx. */
export interface Nginx {
  /** What nginx wrote to its error log so far (for a failing test's message). */
  errorLog(): string
  stop(): Promise<void>
}

/** How {@link startNginx} sizes nginx. */
export interface NginxOptions {
  /**
   * Connections the worker may hold at once, clients and upstreams together: a proxied stream
   * takes two. Default 64. The worker's file-descriptor limit is set to twice this.
   */
  readonly workerConnections?: number
}

/**
 * Starts `executable` with the http-context blocks given (`server { … }`, `upstream … { … }`),
 * and resolves once every port in `ports` accepts connections. The rest of the config is
 * nginx's defaults.
 */
export async function startNginx(
  executable: string,
  servers: string,
  ports: readonly number[],
  options: NginxOptions = {},
): Promise<Nginx> {
  const workerConnections = options.workerConnections ?? 64
  const dir = mkdtempSync(join(tmpdir(), "herald-nginx-"))
  mkdirSync(join(dir, "temp"))
  const temp = join(dir, "temp")
  const config = `daemon off;
worker_processes 1;
worker_rlimit_nofile ${workerConnections * 2};
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} warn;
events { worker_connections ${workerConnections}; }
http {
  access_log off;
  client_body_temp_path ${temp}; proxy_temp_path ${temp}; fastcgi_temp_path ${temp};
  uwsgi_temp_path ${temp}; scgi_temp_path ${temp};
${servers}
}
`
  writeFileSync(join(dir, "nginx.conf"), config)
  const child: ChildProcess = spawn(
    executable,
    ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")],
    {
      stdio: "ignore",
    },
  )
  const log = () => (existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log"), "utf8") : "")
  try {
    await Promise.all(
      ports.map((port) =>
        waitForPort(port, () => {
          if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}):\n${log()}`)
        }),
      ),
    )
  } catch (error) {
    child.kill("SIGKILL")
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return {
    errorLog: log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve))
        // SIGTERM, nginx's fast shutdown: SIGQUIT would wait for every open stream to end.
        child.kill("SIGTERM")
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))])
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Resolves once `port` accepts a TCP connection (polled for at most 5 s); `alive` throws if the server died. */
async function waitForPort(port: number, alive: () => void): Promise<void> {
  let open = false
  await waitUntil(
    () => {
      alive()
      const socket = connect(port, "127.0.0.1")
      socket.once("connect", () => {
        open = true
        socket.destroy()
      })
      socket.once("error", () => socket.destroy())
      return open
    },
    () => undefined,
  )
}
