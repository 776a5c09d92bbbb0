// Parse a text/event-stream and write one back. Run after `npm run build`: node examples/protocol.js
import { createParser, encode } from "herald/protocol"

const parser = createParser({
  onEvent: (event) => console.log(`${event.type} #${event.lastEventId}: ${event.data}`),
  onRetry: (ms) => console.log(`server asks to reconnect after ${ms} ms`),
})
parser.feed("retry: 3000\n\nid: 1\ndata: hello\n\nevent: tok")
parser.feed("en\nid: 2\ndata: world\n\n")

console.log(JSON.stringify(encode({ event: "token", id: "3", data: "multi\nline" })))
