/**
 * Logs another app writes, served read-only as Durable Streams (Herald's AI generations, at
 * `/v1/stream/_generations/{id}` under `herald serve`): GET and HEAD with the protocol's
 * semantics — catch-up, long-poll, SSE, the log's positions as offsets, its close as the
 * stream's — and 405 for PUT, POST and DELETE. Access is the owning app's to decide.
 */

import type { IncomingMessage } from "node:http"
import type { LogHead } from "../engine/engine.js"
import { isJsonMode } from "./content.js"
import type { Reply, StreamRequest, StreamsContext } from "./context.js"
import { StreamsError } from "./errors.js"
import { streamMetadata } from "./metadata.js"
import { readStream } from "./read.js"
import type { Stream } from "./stream.js"

/** A log opened for one request, or why the owning app refuses it. */
export type OpenedLog =
  | {
      readonly log: string
      readonly head: LogHead
      /** Called when a live read begins; what it returns, when it ends. */
      readonly watch?: () => () => void
    }
  | {
      readonly refusal: {
        readonly status: number
        /** What a developer can act on, answered as the problem's `detail`. */
        readonly message: string
        /** A 401's `WWW-Authenticate` challenge, and the like. */
        readonly headers?: Readonly<Record<string, string>>
      }
    }

/** Read-only streams over another app's logs, under a path prefix (option `views` of the handler). */
export interface LogView {
  /** The path prefix of these streams (`/v1/stream/_generations/`); a path is the prefix and a name. */
  readonly prefix: string
  /** The content type the log's entries are served as (`application/json`: JSON mode). */
  readonly contentType: string
  /** Finds the log named `name` for this request, with the owning app's access checks. */
  open(name: string, request: IncomingMessage, url: URL): Promise<OpenedLog>
}

/** Answers a request to a path of `view`. */
export function serveView(
  context: StreamsContext,
  view: LogView,
  request: StreamRequest,
): Promise<Reply | undefined> {
  const method = request.request.method
  if (method !== "GET" && method !== "HEAD") {
    throw new StreamsError(405, `The stream at ${request.path} is read-only.`, {
      allow: "GET, HEAD, OPTIONS",
    })
  }
  const open = async (): Promise<Stream> => {
    const opened = await view.open(
      request.path.slice(view.prefix.length),
      request.request,
      request.target.url,
    )
    if ("refusal" in opened) {
      const { status, message, headers } = opened.refusal
      throw new StreamsError(status, message, headers)
    }
    return {
      path: request.path,
      log: opened.log,
      head: opened.head,
      contentType: view.contentType,
      json: isJsonMode(view.contentType),
      owner: undefined,
      fork: undefined,
      // The log's stop flag is its app's (a generation's cancel), not a soft delete.
      softDeleted: false,
      private: true,
      ...(opened.watch === undefined ? {} : { watch: opened.watch }),
    }
  }
  return method === "GET" ? readStream(context, request, open) : streamMetadata(open)
}
