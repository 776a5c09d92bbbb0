import { ParseError } from "./errors.js"
import type { Parser, ParserHandlers, ParserOptions, ServerSentEvent } from "./types.js"

/** 32 Mi UTF-16 code units: far above any sane event, low enough that a runaway stream cannot exhaust memory. */
const DEFAULT_MAX_EVENT_SIZE = 32 * 1024 * 1024

const LF = 10
const SPACE = 32
const BOM = 0xfeff

/**
 * Creates a streaming parser for `text/event-stream`, following the WHATWG HTML
 * "Interpreting an event stream" algorithm step by step.
 *
 * Runs in time linear in the input whatever the chunking: every character is searched once,
 * and an unterminated line is only joined when its end arrives.
 *
 * @example
 * ```ts
 * const parser = createParser({ onEvent: (e) => console.log(e.type, e.data) })
 * parser.feed("data: hello\n\n") // logs: message hello
 * ```
 */
export function createParser(handlers: ParserHandlers, options: ParserOptions = {}): Parser {
  const { onEvent, onRetry, onComment } = handlers
  const maxEventSize = options.maxEventSize ?? DEFAULT_MAX_EVENT_SIZE

  let decoder: TextDecoder | undefined
  let atStreamStart = true
  // The previous chunk ended with CR: an LF opening the next one belongs to the same line end.
  let skipLeadingLF = false
  // The start of a line whose end has not arrived yet.
  let pendingLine = ""

  // "data buffer, event type buffer, and last event ID buffer": the data buffer is kept without
  // its trailing LF, `hasData` tells "empty" apart from "one empty data line".
  let data = ""
  let hasData = false
  let eventType = ""
  let lastEventIdBuffer = options.lastEventId ?? ""
  let lastEventId = lastEventIdBuffer

  // An error thrown by a handler is held until the chunk is fully parsed, so nothing after it is lost.
  let handlerError: { error: unknown } | undefined

  function feed(chunk: string | Uint8Array): void {
    let text: string
    if (typeof chunk === "string") {
      text = chunk
    } else {
      // "Streams must be decoded using the UTF-8 decode algorithm": invalid bytes become U+FFFD.
      // The BOM is kept here and dropped below, so strings and bytes follow one path.
      decoder ??= new TextDecoder("utf-8", { ignoreBOM: true })
      text = decoder.decode(chunk, { stream: true })
    }
    parseText(text)
    rethrowHandlerError()
  }

  function end(): void {
    // Bytes left in the decoder are an incomplete character: U+FFFD, then the block is discarded anyway.
    if (decoder) parseText(decoder.decode())
    // "If the file ends in the middle of an event, before the final empty line, the incomplete
    // event is not dispatched." Its fields (id included) never take effect.
    decoder = undefined
    atStreamStart = true
    skipLeadingLF = false
    pendingLine = ""
    resetEvent()
    rethrowHandlerError()
  }

  function rethrowHandlerError(): void {
    if (!handlerError) return
    const { error } = handlerError
    handlerError = undefined
    throw error
  }

  function parseText(text: string): void {
    let position = 0
    const length = text.length
    if (length === 0) return

    if (atStreamStart) {
      atStreamStart = false
      // "One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present."
      if (text.charCodeAt(0) === BOM) position = 1
    }
    if (skipLeadingLF) {
      skipLeadingLF = false
      if (text.charCodeAt(position) === LF) position++
    }

    // Positions of the next LF, CR and colon, each searched for once per chunk and reused until
    // passed: that keeps the scan linear even when a chunk holds a million short lines.
    let nextLF = -2
    let nextCR = -2
    let nextColon = -2

    while (position < length) {
      if (nextLF !== -1 && nextLF < position) nextLF = text.indexOf("\n", position)
      if (nextCR !== -1 && nextCR < position) nextCR = text.indexOf("\r", position)
      // "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF)
      // character pair, a single U+000A LINE FEED (LF) character, or a single U+000D CARRIAGE
      // RETURN (CR) character."
      let lineEnd: number
      if (nextLF === -1) {
        if (nextCR === -1) break
        lineEnd = nextCR
      } else {
        lineEnd = nextCR === -1 || nextLF < nextCR ? nextLF : nextCR
      }

      if (pendingLine === "") {
        if (nextColon !== -1 && nextColon < position) nextColon = text.indexOf(":", position)
        parseLine(text, position, lineEnd, nextColon === -1 || nextColon > lineEnd ? -1 : nextColon)
      } else {
        const line = pendingLine + text.slice(position, lineEnd)
        pendingLine = ""
        parseLine(line, 0, line.length, line.indexOf(":"))
      }

      position = lineEnd + 1
      if (lineEnd === nextCR) {
        if (position === length) skipLeadingLF = true
        else if (text.charCodeAt(position) === LF) position++
      }
    }

    if (position < length) {
      pendingLine += position === 0 ? text : text.slice(position)
      checkSize(data.length + pendingLine.length)
    }
  }

  /** Interprets `text[start, end)`, one line; `colon` is the index of its first colon, or -1. */
  function parseLine(text: string, start: number, end: number, colon: number): void {
    // "If the line is empty (a blank line): Dispatch the event."
    if (start === end) {
      dispatch()
      return
    }

    // "If the line starts with a U+003A COLON character (:): Ignore the line." Handed to onComment.
    if (colon === start) {
      if (onComment) {
        const textStart = start + 1 < end && text.charCodeAt(start + 1) === SPACE ? start + 2 : start + 1
        onComment(text.slice(textStart, end))
      }
      return
    }

    // "If the line contains a U+003A COLON character: collect the characters on the line before
    // the first colon, and let field be that string. Collect the characters on the line after the
    // first colon, and let value be that string. If value starts with a U+0020 SPACE character,
    // remove it from value." Otherwise "using the whole line as the field name, and the empty
    // string as the field value."
    const nameEnd = colon === -1 ? end : colon
    let valueStart = colon === -1 ? end : colon + 1
    if (valueStart < end && text.charCodeAt(valueStart) === SPACE) valueStart++

    // Field names are compared character by character to avoid a slice per line; they are case-sensitive.
    switch (nameEnd - start) {
      case 4:
        if (isField(text, start, "data")) {
          // "Append the field value to the data buffer, then append a single U+000A LINE FEED (LF)
          // character to the data buffer."
          const value = text.slice(valueStart, end)
          if (hasData) {
            checkSize(data.length + 1 + value.length)
            data = `${data}\n${value}`
          } else {
            checkSize(value.length)
            data = value
            hasData = true
          }
        }
        return
      case 2:
        if (isField(text, start, "id")) {
          // "If the field value does not contain U+0000 NULL, then set the last event ID buffer to the field value."
          const value = text.slice(valueStart, end)
          if (value.indexOf("\0") === -1) lastEventIdBuffer = value
        }
        return
      case 5:
        if (isField(text, start, "event")) {
          // "Set the event type buffer to field value."
          eventType = text.slice(valueStart, end)
        } else if (isField(text, start, "retry")) {
          // "If the field value consists of only ASCII digits, then interpret the field value as an
          // integer in base ten, and set the event stream's reconnection time to that integer."
          if (valueStart < end && isAsciiDigits(text, valueStart, end)) {
            onRetry?.(Number.parseInt(text.slice(valueStart, end), 10))
          }
        }
        return
      default:
      // "Otherwise: The field is ignored."
    }
  }

  function dispatch(): void {
    // "Set the last event ID string of the event source to the value of the last event ID
    // buffer. The buffer does not get reset."
    lastEventId = lastEventIdBuffer
    // "If the data buffer is an empty string, set the data buffer and the event type buffer to
    // the empty string and return."
    if (!hasData) {
      eventType = ""
      return
    }
    // "If the event type buffer has a value other than the empty string, change the type of the
    // newly created event to equal the value of the event type buffer."
    const event: ServerSentEvent = { type: eventType === "" ? "message" : eventType, data, lastEventId }
    resetEvent()
    try {
      onEvent(event)
    } catch (error) {
      handlerError ??= { error }
    }
  }

  function resetEvent(): void {
    data = ""
    hasData = false
    eventType = ""
  }

  function checkSize(size: number): void {
    if (size <= maxEventSize) return
    // The event is lost either way; dropping it here keeps memory bounded and the state consistent.
    pendingLine = ""
    resetEvent()
    throw new ParseError(
      "event-too-large",
      `An event in the stream is over maxEventSize (${maxEventSize} characters). ` +
        "If such events are expected, raise the parser's maxEventSize option; otherwise the " +
        "server is sending an unterminated or runaway event, so drop the connection.",
    )
  }

  return {
    feed,
    end,
    get lastEventId() {
      return lastEventId
    },
  }
}

function isField(text: string, start: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    if (text.charCodeAt(start + i) !== name.charCodeAt(i)) return false
  }
  return true
}

function isAsciiDigits(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i)
    if (code < 48 || code > 57) return false
  }
  return true
}
