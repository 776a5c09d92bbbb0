// Reading Herald's AI SDK view the way the `ai` package does: its JSON event stream parsed with
// the package's own schema, folded into UI messages by `readUIMessageStream`.
import {
  parseJsonEventStream,
  readUIMessageStream,
  type UIMessage,
  type UIMessageChunk,
  uiMessageChunkSchema,
} from "ai"

/** The UI message a response's UI message stream builds, as it stands at the stream's end. */
export async function finalUIMessage(response: Response): Promise<UIMessage | undefined> {
  const chunks = parseJsonEventStream({
    stream: response.body as ReadableStream<Uint8Array>,
    schema: uiMessageChunkSchema,
  }).pipeThrough(
    new TransformStream({
      transform(parsed, controller) {
        if (!parsed.success) throw parsed.error
        controller.enqueue(parsed.value as UIMessageChunk)
      },
    }),
  )
  let last: UIMessage | undefined
  for await (const message of readUIMessageStream({ stream: chunks, terminateOnError: true })) last = message
  return last
}
