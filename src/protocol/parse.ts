import { ParseError } from "./errors.js"
import type { Parser, ParserHandlers, ParserOptions } from "./types.js"
import { Utf8StreamDecoder } from "./utf8.js"

/** 32 Mi UTF-16 code units: far above any sane event, low enough that a runaway stream cannot exhaust memory. */
const DEFAULT_MAX_EVENT_SIZE = 32 * 1024 * 1024

/** "Initialize event's type attribute to "message"": the type of events without an `event` field. */
const DEFAULT_TYPE = "message"

/**
 * An unterminated line's latest pieces are concatenated (a rope: the fastest way to join the few
 * pieces of a usual line) until they reach this many characters, then set aside as one block.
 * A line of megabytes in tiny chunks would otherwise make a rope of a million nodes, or an array
 * of a million strings, and both cost the garbage collector far more than a few hundred blocks.
 */
const PENDING_BLOCK_SIZE = 16 * 1024

/** A block made of more pieces than this is flattened when set aside, so its pieces can be freed. */
const FLATTEN_PIECES = 64

/** Bytes are decoded in pieces of at most this many. */
const DECODE_PIECE = 16 * 1024

const LF = 10
const CR = 13
const SPACE = 32
const COLON = 58
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

  let decoder: Utf8StreamDecoder | undefined
  let atStreamStart = true
  // The previous chunk ended with CR: an LF opening the next one belongs to the same line end.
  let skipLeadingLF = false
  // A line whose end has not arrived yet: its latest pieces concatenated, and the blocks of
  // earlier ones (see PENDING_BLOCK_SIZE), joined once when the line ends.
  let pendingLine = ""
  let pendingBlocks: string[] | undefined
  let ropePieces = 0
  let pendingLength = 0

  // "data buffer, event type buffer, and last event ID buffer": the data buffer is kept without
  // its trailing LF, `hasData` tells "empty" apart from "one empty data line". The type buffer
  // holds the type the event will get: "message" stands for the spec's empty buffer.
  let data = ""
  let hasData = false
  let eventType = DEFAULT_TYPE
  let lastEventIdBuffer = options.lastEventId ?? ""
  let lastEventId = lastEventIdBuffer

  // An error thrown by a handler is held until the chunk is fully parsed, so nothing after it is lost.
  let handlerError: { error: unknown } | undefined

  function feed(chunk: string | Uint8Array): void {
    if (typeof chunk === "string") {
      // Bytes held back come before the string.
      if (decoder !== undefined && decoder.heldLength !== 0) parseText(decoder.flush())
      parseText(chunk)
    } else {
      feedBytes(chunk)
    }
    rethrowHandlerError()
  }

  function feedBytes(chunk: Uint8Array): void {
    // "Streams must be decoded using the UTF-8 decode algorithm": invalid bytes become U+FFFD.
    // The BOM is kept here and dropped by parseText, so strings and bytes follow one path.
    decoder ??= new Utf8StreamDecoder()
    const length = chunk.length
    if (length <= DECODE_PIECE) {
      parseText(decoder.decode(chunk))
    } else {
      // A large string costs V8 far more to make than several small ones (about 1 GB/s against
      // 10 for ASCII here), so a large chunk is decoded piece by piece.
      for (let start = 0; start < length; start += DECODE_PIECE) {
        parseText(decoder.decode(chunk.subarray(start, start + DECODE_PIECE)))
      }
    }
    // Held bytes are never fewer than the characters they decode to: within the bound, their text
    // could not be over it. Past it, they are decoded, and the text is checked exactly.
    const held = decoder.heldLength
    if (held !== 0 && data.length + pendingLength + held > maxEventSize) parseText(decoder.flush())
  }

  function end(): void {
    // "If the file ends in the middle of an event, before the final empty line, the incomplete
    // event is not dispatched." Its fields (id included) never take effect. Bytes the decoder
    // holds end no line, so they are dropped with it undecoded.
    decoder = undefined
    atStreamStart = true
    skipLeadingLF = false
    dropPending()
    resetEvent()
    lastEventIdBuffer = lastEventId
    rethrowHandlerError()
  }

  function rethrowHandlerError(): void {
    if (!handlerError) return
    const { error } = handlerError
    handlerError = undefined
    throw error
  }

  function parseText(text: string): void {
    const length = text.length
    if (length === 0) return
    let position = 0

    if (atStreamStart) {
      atStreamStart = false
      // "One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present."
      if (text.charCodeAt(0) === BOM) position = 1
    }
    if (skipLeadingLF) {
      skipLeadingLF = false
      if (text.charCodeAt(position) === LF) position++
    }

    // Positions of the next LF and CR, each searched for once and reused until passed: that keeps
    // the scan linear even when a chunk holds a million lines and only one kind of line end.
    let nextLF = text.indexOf("\n", position)
    let nextCR = text.indexOf("\r", position)

    if (pendingLength !== 0) {
      if (nextLF === -1 && nextCR === -1) {
        // Still no line end: the piece is kept, not searched again.
        keepPending(position === 0 ? text : text.slice(position))
        return
      }
      // The pending line ends in this chunk: joined with its last piece, it is read on its own,
      // and the rest of the chunk is read in place, not copied.
      const lineEnd = nextCR === -1 || (nextLF !== -1 && nextLF < nextCR) ? nextLF : nextCR
      const line = joinPending(text.slice(position, lineEnd))
      if (isDataColon(line, 0)) appendData(fieldValue(line, 5, line.length))
      else parseLine(line, 0, line.length)
      position = lineEnd + 1
      if (lineEnd === nextCR) {
        if (position === length) skipLeadingLF = true
        else if (text.charCodeAt(position) === LF) position++
        nextCR = text.indexOf("\r", position)
      }
      if (nextLF !== -1 && nextLF < position) nextLF = text.indexOf("\n", position)
    }

    position =
      nextCR === -1
        ? parseLinesEndingInLF(text, position, nextLF)
        : parseLines(text, position, nextLF, nextCR)
    if (position < length) keepPending(position === 0 ? text : text.slice(position))
  }

  /** The pending line, completed by its last piece. */
  function joinPending(lastPiece: string): string {
    let line: string
    if (pendingBlocks === undefined) {
      line = pendingLine + lastPiece
    } else {
      pendingBlocks.push(pendingLine, lastPiece)
      line = pendingBlocks.join("")
    }
    dropPending()
    return line
  }

  function keepPending(piece: string): void {
    if (pendingLine.length >= PENDING_BLOCK_SIZE) {
      // Reading a character of a rope makes V8 flatten it into one string.
      if (ropePieces > FLATTEN_PIECES) pendingLine.charCodeAt(0)
      pendingBlocks ??= []
      pendingBlocks.push(pendingLine)
      pendingLine = ""
      ropePieces = 0
    }
    pendingLine += piece
    ropePieces++
    pendingLength += piece.length
    if (data.length + pendingLength > maxEventSize) tooLarge()
  }

  function dropPending(): void {
    pendingLine = ""
    pendingBlocks = undefined
    ropePieces = 0
    pendingLength = 0
  }

  /**
   * Reads the lines of a chunk that has no CR, the usual case, with one search per line. Returns
   * where the unterminated rest of the chunk begins.
   */
  function parseLinesEndingInLF(text: string, start: number, firstLF: number): number {
    let position = start
    let lineEnd = firstLF
    while (lineEnd !== -1) {
      if (isDataColon(text, position)) {
        let valueStart = text.charCodeAt(position + 5) === SPACE ? position + 6 : position + 5
        // A lone `data:` line and then a blank line, the commonest block (an LLM's tokens are
        // nothing else), is fired at once, and so is each such block straight after it: one
        // search per block, no buffering. Over the size bound, the ordinary path reports it.
        // Reads stop at the text's end: one read past it makes V8 recompile the loop slower.
        if (
          !hasData &&
          lineEnd + 1 < text.length &&
          text.charCodeAt(lineEnd + 1) === LF &&
          lineEnd - valueStart <= maxEventSize
        ) {
          // "Set the last event ID string of the event source to the value of the last event ID buffer."
          lastEventId = lastEventIdBuffer
          const id = lastEventId
          let type = eventType
          eventType = DEFAULT_TYPE
          for (;;) {
            try {
              onEvent({ type, data: text.slice(valueStart, lineEnd), lastEventId: id })
            } catch (error) {
              handlerError ??= { error }
            }
            type = DEFAULT_TYPE
            position = lineEnd + 2
            lineEnd = text.indexOf("\n", position)
            if (lineEnd === -1 || !isDataColon(text, position)) break
            valueStart = text.charCodeAt(position + 5) === SPACE ? position + 6 : position + 5
            if (
              lineEnd + 1 === text.length ||
              text.charCodeAt(lineEnd + 1) !== LF ||
              lineEnd - valueStart > maxEventSize
            )
              break
          }
          continue
        }
        lineEnd = appendDataLines(text, valueStart, lineEnd)
      } else if (lineEnd === position) {
        dispatch()
      } else {
        parseLine(text, position, lineEnd)
      }
      position = lineEnd + 1
      lineEnd = text.indexOf("\n", position)
    }
    return position
  }

  /**
   * Appends the value of the data line ending at `firstLineEnd`, and of the LF-terminated data
   * lines straight after it. Each value but the last is sliced with the LF that ends its line, the
   * very LF the spec puts between values, so a line costs one concatenation, not two. A blank line
   * straight after them dispatches the event. Returns where the last line read ends.
   */
  function appendDataLines(text: string, firstValueStart: number, firstLineEnd: number): number {
    let valueStart = firstValueStart
    let lineEnd = firstLineEnd
    let values = ""
    let next = lineEnd + 1
    for (;;) {
      // Only a line whose end is in the text is read, so no read runs past the text's end.
      const nextEnd = text.indexOf("\n", next)
      if (nextEnd === -1) break
      if (!isDataColon(text, next)) {
        // A blank line next, the usual end of the block: the event is dispatched here.
        if (nextEnd !== next) break
        appendData(values + text.slice(valueStart, lineEnd))
        dispatch()
        return nextEnd
      }
      values += text.slice(valueStart, next)
      valueStart = text.charCodeAt(next + 5) === SPACE ? next + 6 : next + 5
      lineEnd = nextEnd
      next = nextEnd + 1
    }
    appendData(values + text.slice(valueStart, lineEnd))
    return lineEnd
  }

  /** Reads the lines of a chunk with CRs: CR, LF and CRLF line ends, mixed. Returns where its unterminated rest begins. */
  function parseLines(text: string, start: number, firstLF: number, firstCR: number): number {
    const length = text.length
    let position = start
    let nextLF = firstLF
    let nextCR = firstCR
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

      // Blank lines and `data:` lines are nearly every line of a stream: they are read here, without a call.
      if (lineEnd === position) {
        dispatch()
      } else if (isDataColon(text, position)) {
        const value = fieldValue(text, position + 5, lineEnd)
        if (!hasData) {
          // Reads stop at the text's end, as in parseLinesEndingInLF.
          let blankStart = lineEnd + 1
          if (lineEnd === nextCR && blankStart < length && text.charCodeAt(blankStart) === LF) blankStart++
          const blankEnd = blankStart < length ? text.charCodeAt(blankStart) : -1
          if ((blankEnd === LF || blankEnd === CR) && fireLoneData(value)) {
            position = blankStart + 1
            if (blankEnd === CR) {
              if (position === length) skipLeadingLF = true
              else if (text.charCodeAt(position) === LF) position++
            }
            continue
          }
        }
        appendData(value)
      } else {
        parseLine(text, position, lineEnd)
      }
      position = lineEnd + 1
      if (lineEnd === nextCR) {
        if (position === length) skipLeadingLF = true
        else if (text.charCodeAt(position) === LF) position++
      }
    }
    return position
  }

  /** Interprets `text[start, end)`, one line, neither blank nor `data:`, without its line end. */
  function parseLine(text: string, start: number, end: number): void {
    const first = text.charCodeAt(start)
    // "If the line starts with a U+003A COLON character (:): Ignore the line." Handed to onComment.
    if (first === COLON) {
      if (onComment) {
        const textStart = start + 1 < end && text.charCodeAt(start + 1) === SPACE ? start + 2 : start + 1
        onComment(text.slice(textStart, end))
      }
      return
    }

    // "If the line contains a U+003A COLON character: collect the characters on the line before
    // the first colon, and let field be that string. Collect the characters on the line after the
    // first colon, and let value be that string. If value starts with a U+0020 SPACE character,
    // remove it from value." The usual `id:` and `event:` are recognised in place, which spares a
    // colon search and a name comparison on nearly every line.
    if (first === 105 && isIdColon(text, start)) {
      setLastEventId(fieldValue(text, start + 3, end))
    } else if (first === 101 && isEventColon(text, start)) {
      setEventType(fieldValue(text, start + 6, end))
    } else {
      // "Otherwise, the string is not empty but does not contain a U+003A COLON character: process
      // the field using the whole line as the field name, and the empty string as the field value."
      const colon = indexOfColon(text, start, end)
      processField(text.slice(start, colon), colon === end ? "" : fieldValue(text, colon + 1, end))
    }
  }

  /** "Process the field": field names are case-sensitive; unknown ones are ignored. */
  function processField(name: string, value: string): void {
    switch (name) {
      case "data":
        appendData(value)
        return
      case "id":
        setLastEventId(value)
        return
      case "event":
        setEventType(value)
        return
      case "retry":
        // "If the field value consists of only ASCII digits, then interpret the field value as an
        // integer in base ten, and set the event stream's reconnection time to that integer."
        // Past the largest safe integer (up to Infinity for a long enough value), the number is
        // capped there, so a handler always gets an exact, finite integer.
        if (value !== "" && isAsciiDigits(value))
          onRetry?.(Math.min(Number.parseInt(value, 10), Number.MAX_SAFE_INTEGER))
        return
      default:
      // "Otherwise: The field is ignored."
    }
  }

  function setLastEventId(value: string): void {
    // "If the field value does not contain U+0000 NULL, then set the last event ID buffer to the field value."
    if (value.indexOf("\0") === -1) lastEventIdBuffer = value
  }

  function setEventType(value: string): void {
    // "Set the event type buffer to field value."
    eventType = value === "" ? DEFAULT_TYPE : value
  }

  function appendData(value: string): void {
    // "Append the field value to the data buffer, then append a single U+000A LINE FEED (LF)
    // character to the data buffer." The LF is written before the next value instead, so the
    // final one never needs removing.
    if (hasData) {
      if (data.length + 1 + value.length > maxEventSize) tooLarge()
      data = `${data}\n${value}`
    } else {
      if (value.length > maxEventSize) tooLarge()
      data = value
      hasData = true
    }
  }

  function dispatch(): void {
    // "If the line is empty (a blank line): Dispatch the event."
    // "Set the last event ID string of the event source to the value of the last event ID
    // buffer. The buffer does not get reset."
    lastEventId = lastEventIdBuffer
    // "If the data buffer is an empty string, set the data buffer and the event type buffer to
    // the empty string and return."
    if (!hasData) {
      eventType = DEFAULT_TYPE
      return
    }
    const eventData = data
    data = ""
    hasData = false
    fire(eventData)
  }

  /**
   * The commonest block, a lone `data:` line and then a blank line, is dispatched at once instead
   * of buffering the data and reading the blank line on another turn. False when the value is over
   * the bound: the caller then takes the ordinary path, which reports it.
   */
  function fireLoneData(value: string): boolean {
    if (value.length > maxEventSize) return false
    lastEventId = lastEventIdBuffer
    fire(value)
    return true
  }

  /** Fires an event with the given data, the current type and the last event ID string. */
  function fire(eventData: string): void {
    // "If the event type buffer has a value other than the empty string, change the type of the
    // newly created event to equal the value of the event type buffer" (otherwise "message").
    const type = eventType
    eventType = DEFAULT_TYPE
    try {
      onEvent({ type, data: eventData, lastEventId })
    } catch (error) {
      handlerError ??= { error }
    }
  }

  function resetEvent(): void {
    data = ""
    hasData = false
    eventType = DEFAULT_TYPE
  }

  function tooLarge(): never {
    // The event is lost either way; dropping it here keeps memory bounded and the state consistent.
    dropPending()
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

/** A field value: `text[valueStart, end)` without one leading U+0020 SPACE. */
function fieldValue(text: string, valueStart: number, end: number): string {
  // At valueStart === end the character read is the line end (or NaN past the text), never a space.
  return text.slice(text.charCodeAt(valueStart) === SPACE ? valueStart + 1 : valueStart, end)
}

/**
 * Whether the line at `start` begins with `data:`. Safe on a shorter line: the character that
 * ends it (CR, LF, or NaN past the text) matches none of these.
 */
function isDataColon(text: string, start: number): boolean {
  return (
    text.charCodeAt(start) === 100 &&
    text.charCodeAt(start + 1) === 97 &&
    text.charCodeAt(start + 2) === 116 &&
    text.charCodeAt(start + 3) === 97 &&
    text.charCodeAt(start + 4) === 58
  )
}

/** Whether the line at `start` begins with `id:` (its first character checked by the caller). */
function isIdColon(text: string, start: number): boolean {
  return text.charCodeAt(start + 1) === 100 && text.charCodeAt(start + 2) === 58
}

/** Whether the line at `start` begins with `event:` (its first character checked by the caller). */
function isEventColon(text: string, start: number): boolean {
  return (
    text.charCodeAt(start + 1) === 118 &&
    text.charCodeAt(start + 2) === 101 &&
    text.charCodeAt(start + 3) === 110 &&
    text.charCodeAt(start + 4) === 116 &&
    text.charCodeAt(start + 5) === 58
  )
}

/** The first colon in `text[start, end)`, or `end`. A bounded scan: `indexOf` could run far past the line. */
function indexOfColon(text: string, start: number, end: number): number {
  for (let i = start; i < end; i++) if (text.charCodeAt(i) === COLON) return i
  return end
}

function isAsciiDigits(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code < 48 || code > 57) return false
  }
  return true
}
