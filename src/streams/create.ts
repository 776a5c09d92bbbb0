/** PUT: create a stream, idempotently (protocol section 5.1), or a fork (section 4.2). */

import type { IncomingHttpHeaders } from "node:http"
import { isCreationConfig } from "../engine/config.js"
import type { AppendResult, CreateResult, LogConfig, LogHead, NewEntry } from "../engine/engine.js"
import { START } from "../engine/position.js"
import { readBody } from "./body.js"
import { bodyToEntries, defaultContentType, isJsonMode, mediaType, normalizeContentType } from "./content.js"
import type { Reply, StreamRequest, StreamsContext } from "./context.js"
import { StreamsError } from "./errors.js"
import { addMarker, forkStillHeld, formatForkPoint, keepMarker, markerOf, resolveForkPoint } from "./fork.js"
import { NO_STORE } from "./headers.js"
import type { StreamsLimits } from "./limits.js"
import { parseOffset, type StreamOffset } from "./offsets.js"
import { closedHeader, decimalHeader, expiryHeaders, header } from "./request-headers.js"
import {
  describedBy,
  exposedOffset,
  loadStream,
  logOf,
  META,
  type Stream,
  streamConfig,
  streamOf,
  tailOffset,
} from "./stream.js"

/** What a PUT asks for, its body read. */
interface Creation {
  readonly config: LogConfig
  readonly initial: NewEntry[]
  /** The source's path and its log's epoch, for a fork. */
  readonly source: string | undefined
  readonly sourceEpoch?: string
}

export async function createStream(context: StreamsContext, request: StreamRequest): Promise<Reply> {
  const headers = request.request.headers
  const closed = closedHeader(headers)
  const forkedFrom = header(headers, "stream-forked-from")
  if (forkedFrom !== undefined && forkedFrom.length > context.limits.maxPathLength)
    throw new StreamsError(
      400,
      `\`Stream-Forked-From\` names no stream: stream paths are at most ${context.limits.maxPathLength} characters.`,
    )
  const subOffset = header(headers, "stream-fork-sub-offset")
  const forkOffset = header(headers, "stream-fork-offset")
  if (forkedFrom === undefined && (subOffset !== undefined || forkOffset !== undefined)) {
    throw new StreamsError(
      400,
      "`Stream-Fork-Offset` and `Stream-Fork-Sub-Offset` need `Stream-Forked-From`.",
    )
  }
  const sub = subOffset === undefined ? 0 : decimalHeader(subOffset, "Stream-Fork-Sub-Offset")
  if (sub > 0 && forkOffset === undefined) {
    throw new StreamsError(400, "`Stream-Fork-Sub-Offset` counts past `Stream-Fork-Offset`: send both.")
  }
  request.caller.require("create", request.path, undefined)
  const expiry = expiryHeaders(headers)
  const body = await readBody(request.request, context.limits)
  const owner: Record<string, string> =
    request.caller.subject === undefined ? {} : { [META.owner]: request.caller.subject }
  const retained = (config: LogConfig): LogConfig =>
    context.retention === undefined ? config : { ...config, retention: context.retention }
  const log = logOf(request.path)
  // A stream that is there is compared, never written: the config decides 200 or 409. A fork is
  // compared with what the request says, not with its source now: a retry finds the fork it made
  // though the source has grown since (moving the default fork point, its tail) or been deleted.
  const before = await context.engine.head(log)
  if (before !== undefined && forkedFrom !== undefined) {
    const asked = askedFork(before.config, forkedFrom, forkOffset, sub, expiry, owner, headers)
    const found =
      asked === undefined ? { status: "conflict" as const, head: before } : compared(before, retained(asked))
    return existingReply(request.path, found, closed)
  }
  const creation =
    forkedFrom === undefined
      ? plainCreation(
          normalizeContentType(header(headers, "content-type")) ?? defaultContentType(),
          expiry,
          owner,
          body,
          context.limits,
        )
      : await forkCreation(context, request, forkedFrom, forkOffset, sub, expiry, owner, body)
  const config = retained(creation.config)
  if (before !== undefined) {
    return existingReply(request.path, compared(before, config), closed)
  }
  const place = await context.streamCount.reserve(async () => (await context.engine.head(log)) !== undefined)
  let marked = false
  let made: AppendResult | undefined
  try {
    marked =
      creation.source !== undefined && (await addMarker(context, creation.source, request.path, config))
    // Made with its first appends and its close in one step, so that no one sees it empty. The
    // creator's fence makes an identical PUT racing this one find it made (a duplicate) instead
    // of appending the same body again.
    made = await context.engine.append(log, creation.initial, {
      create: config,
      close: closed,
      producer: CREATOR,
    })
  } finally {
    if (made?.status === "appended") place.created()
    else place.release()
  }
  if (made.status !== "appended") {
    if (marked && made.status === "conflict")
      await context.engine.delete(markerOf(creation.source as string, request.path))
    if (made.status === "conflict") return existingReply(request.path, compared(made.head, config), closed)
    const head = await context.engine.head(log)
    if (made.status !== "duplicate" || head === undefined)
      throw new StreamsError(409, "The stream changed while it was created; retry.")
    return existingReply(request.path, { status: "exists", head }, closed)
  }
  // A marker another fork of this path left (this create made none, and it is past the sweep's
  // grace) may have been taken for a stale one by a sweep that looked before the fork was there,
  // and has that fork's expiry.
  if (creation.source !== undefined && !marked)
    await keepMarker(context, creation.source, request.path, config)
  if (
    creation.source !== undefined &&
    !(await forkStillHeld(context, creation.source, creation.sourceEpoch as string, request.path))
  ) {
    // Its source was deleted meanwhile (first, or taking this fork's marker for a stale one).
    if (await context.engine.delete(log)) context.streamCount.deleted()
    await context.engine.delete(markerOf(creation.source, request.path))
    throw new StreamsError(404, `The stream at ${creation.source} was deleted while this fork was made.`)
  }
  const stream = describedBy(config)
  return {
    status: 201,
    headers: {
      ...createdHeaders(stream, closed, exposedOffset(stream, made.tail)),
      location: new URL(request.path, request.target.url).href,
    },
  }
}

/**
 * The producer fence of a stream's creation: its id holds a line break, which no header (so no
 * client's `Producer-Id`) can.
 */
const CREATOR = Object.freeze({ id: "herald:create\n", epoch: 0, seq: 0 })

/**
 * What a PUT asking for `asked` finds in the stream whose log head is `head`: the stream it asks
 * for, or another. The content type is compared by its media type alone, as appends compare it
 * (fetch adds `;charset=UTF-8` to a string body's type of its own accord); the engine's create,
 * comparing configs whole, answers `conflict` for a parameter.
 */
function compared(head: LogHead, asked: LogConfig): CreateResult {
  const had = head.config.meta?.[META.contentType]
  const wants = asked.meta?.[META.contentType]
  const sameType = had !== undefined && wants !== undefined && mediaType(had) === mediaType(wants)
  const normalized = sameType ? { ...asked, meta: { ...asked.meta, [META.contentType]: had } } : asked
  return { status: isCreationConfig(head.config, normalized) ? "exists" : "conflict", head }
}

/** The answer to a PUT of a stream that exists: 200 when it asks for the same one, else 409. */
function existingReply(path: string, result: CreateResult, closed: boolean): Reply {
  const existing = streamOf(path, logOf(path), result.head)
  if (result.status === "conflict" || existing.softDeleted || existing.head.closed !== closed) {
    throw new StreamsError(409, conflictReason(existing, result.status === "conflict"))
  }
  return { status: 200, headers: createdHeaders(existing, existing.head.closed, tailOffset(existing)) }
}

function plainCreation(
  contentType: string,
  expiry: { ttlMs?: number; expiresAt?: number },
  owner: Record<string, string>,
  body: Buffer,
  limits: StreamsLimits,
): Creation {
  return {
    config: streamConfig(contentType, expiry, owner),
    initial: bodyToEntries(isJsonMode(contentType), body, true, limits),
    source: undefined,
  }
}

async function forkCreation(
  context: StreamsContext,
  request: StreamRequest,
  sourcePath: string,
  forkOffset: string | undefined,
  sub: number,
  expiry: { ttlMs?: number; expiresAt?: number },
  owner: Record<string, string>,
  body: Buffer,
): Promise<Creation> {
  const source = context.owns(sourcePath) ? await loadStream(context.engine, sourcePath) : undefined
  if (source === undefined) throw new StreamsError(404, `There is no stream at ${sourcePath} to fork.`)
  request.caller.require("read", sourcePath, source.owner)
  if (source.softDeleted)
    throw new StreamsError(409, `The stream at ${sourcePath} was deleted: it cannot be forked.`)
  const requested = normalizeContentType(header(request.request.headers, "content-type"))
  if (requested !== undefined && mediaType(requested) !== mediaType(source.contentType)) {
    throw new StreamsError(409, `A fork has its source's content type, ${source.contentType}.`)
  }
  const point = await resolveForkPoint(context, source, forkOffset, sub)
  const initial = bodyToEntries(source.json, body, true, context.limits)
  if (point.prefix !== undefined) initial.unshift({ data: point.prefix })
  return {
    config: forkConfig(source.contentType, expiryOr(expiry, source.head.config), owner, {
      source: sourcePath,
      at: formatForkPoint(point.at),
      sourceEpoch: source.head.epoch,
      sub,
    }),
    initial,
    source: sourcePath,
    sourceEpoch: source.head.epoch,
  }
}

/**
 * The config a PUT of the fork that is at its path asks for, read without its source: what the
 * source decided when the fork was made (the fork point when the request names none, the content
 * type, an expiry the request does not set, the source's epoch) is taken from the fork's config
 * `made`, the rest from the request. `undefined` when `made` is no fork's, or the request asks
 * for another content type.
 */
function askedFork(
  made: LogConfig,
  sourcePath: string,
  forkOffset: string | undefined,
  sub: number,
  expiry: { ttlMs?: number; expiresAt?: number },
  owner: Record<string, string>,
  headers: IncomingHttpHeaders,
): LogConfig | undefined {
  const { fork, contentType } = describedBy(made)
  if (fork === undefined) return undefined
  const requested = normalizeContentType(header(headers, "content-type"))
  if (requested !== undefined && mediaType(requested) !== mediaType(contentType)) return undefined
  const given = forkOffset === undefined ? undefined : parseOffset(forkOffset, "Stream-Fork-Offset", false)
  // `-1` is the beginning of the source, in the epoch of its offsets (and so of the fork point).
  const at = given === undefined ? fork.at : given === START ? { epoch: fork.at.epoch, seq: 0 } : given
  return forkConfig(contentType, expiryOr(expiry, made), owner, {
    source: sourcePath,
    at: formatForkPoint(at as StreamOffset),
    sourceEpoch: fork.sourceEpoch,
    sub,
  })
}

/** A fork's config: its source's content type, its expiry, owner, and where it forks which stream. */
function forkConfig(
  contentType: string,
  expiry: { ttlMs?: number; expiresAt?: number },
  owner: Record<string, string>,
  fork: { source: string; at: string; sourceEpoch: string | undefined; sub: number },
): LogConfig {
  return streamConfig(contentType, expiry, {
    ...owner,
    [META.forkOf]: fork.source,
    [META.forkAt]: fork.at,
    // Forks made before the source's epoch was kept have none.
    ...(fork.sourceEpoch === undefined ? {} : { [META.forkSourceEpoch]: fork.sourceEpoch }),
    ...(fork.sub === 0 ? {} : { [META.forkSub]: String(fork.sub) }),
  })
}

/** The expiry a request asks for, or when it asks for none, `config`'s (section 4.2: a fork inherits its source's). */
function expiryOr(
  expiry: { ttlMs?: number; expiresAt?: number },
  config: LogConfig,
): { ttlMs?: number; expiresAt?: number } {
  if (expiry.ttlMs !== undefined || expiry.expiresAt !== undefined) return expiry
  const { ttlMs, expiresAt } = config
  return { ...(ttlMs === undefined ? {} : { ttlMs }), ...(expiresAt === undefined ? {} : { expiresAt }) }
}

function conflictReason(existing: Stream, configDiffers: boolean): string {
  if (existing.softDeleted) return "A deleted stream that forks still read cannot be created again yet."
  if (configDiffers) return "A stream exists here with another configuration (content type, expiry or fork)."
  return existing.head.closed
    ? "The stream exists and is closed: create it with Stream-Closed: true, or use another URL."
    : "The stream exists and is open: Stream-Closed: true does not match it."
}

function createdHeaders(
  stream: Pick<Stream, "contentType">,
  closed: boolean,
  nextOffset: string,
): Record<string, string> {
  return {
    "content-type": stream.contentType,
    "stream-next-offset": nextOffset,
    "cache-control": NO_STORE,
    ...(closed ? { "stream-closed": "true" } : {}),
  }
}
