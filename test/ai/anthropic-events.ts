// Reading an Anthropic Messages event stream strictly, as a demanding client would: the content
// blocks it builds, and the order of its events checked on the way.
import { expect } from "vitest"

/** A content block as the events built it; a tool_use block's input is its `partial_json`s joined and parsed. */
export interface BuiltBlock {
  readonly type: string
  readonly id?: string
  readonly name?: string
  readonly input?: unknown
  readonly text?: string
}

/** The delta types each kind of block takes. */
const DELTAS: Record<string, readonly string[]> = {
  text: ["text_delta", "citations_delta"],
  thinking: ["thinking_delta", "signature_delta"],
  tool_use: ["input_json_delta"],
  redacted_thinking: [],
}

/**
 * The content blocks of a stream's events (`data` holds each event's JSON, its `type` in it),
 * failing the test unless the stream starts with `message_start`, its blocks are strictly one
 * after the other (indexes 0, 1, 2…, each started once, its deltas of its own kind, stopped
 * before the next starts and before `message_delta`), and each tool_use block's `partial_json`s
 * join into one JSON object, and nothing follows `message_stop` or `error`.
 */
export function builtBlocks(events: readonly { readonly data: string }[]): BuiltBlock[] {
  const blocks: BuiltBlock[] = []
  let open: { type: string; json: string; text: string; start: Record<string, unknown> } | undefined
  const types = events.map((event) => JSON.parse(event.data) as Record<string, unknown>)
  expect(types[0]?.type).toBe("message_start")
  let last: unknown
  for (const event of types) {
    expect(last === "message_stop" || last === "error", `${event.type} after ${last}`).toBe(false)
    last = event.type
    switch (event.type) {
      case "content_block_start": {
        expect(open, "a block started while another was open").toBeUndefined()
        expect(event.index).toBe(blocks.length)
        const start = event.content_block as Record<string, unknown>
        open = { type: start.type as string, json: "", text: "", start }
        break
      }
      case "content_block_delta": {
        expect(open, "a delta outside a block").toBeDefined()
        expect(event.index).toBe(blocks.length)
        const delta = event.delta as Record<string, unknown>
        const block = open as NonNullable<typeof open>
        expect(DELTAS[block.type]).toContain(delta.type)
        if (delta.type === "input_json_delta") block.json += delta.partial_json as string
        if (delta.type === "text_delta") block.text += delta.text as string
        if (delta.type === "thinking_delta") block.text += delta.thinking as string
        break
      }
      case "content_block_stop": {
        expect(open, "a stop outside a block").toBeDefined()
        expect(event.index).toBe(blocks.length)
        const { type, json, text, start } = open as NonNullable<typeof open>
        if (type === "tool_use") {
          const input = JSON.parse(json) as unknown
          expect(typeof input === "object" && input !== null && !Array.isArray(input)).toBe(true)
          blocks.push({ type, id: start.id as string, name: start.name as string, input })
        } else blocks.push(type === "redacted_thinking" ? { type } : { type, text })
        open = undefined
        break
      }
      case "message_delta":
      case "message_stop":
      case "error":
        expect(open, `${event.type} while a block was open`).toBeUndefined()
        break
      default:
        break
    }
  }
  expect(open, "a block never stopped").toBeUndefined()
  return blocks
}
