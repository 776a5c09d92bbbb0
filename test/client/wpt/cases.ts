// The web-platform-tests eventsource/ tests that can run outside a window, ported case by case
// (each name starts with the WPT file it ports). Written against the standard interface only,
// so the same list runs on Herald's EventSource, on Chromium's own (a check of the port itself)
// and on the `eventsource` package.
import {
  assert,
  assertEquals,
  type CaseContext,
  type EventSourceLike,
  messageEvents,
  messages,
  nextEvent,
  recordEvents,
  sleep,
  until,
  type WptCase,
} from "./harness.js"

/** A source on message.py answering exactly `body` (no newline added) with `params`. */
function stream(context: CaseContext, body: string, params: Record<string, string> = {}): EventSourceLike {
  return context.open(context.url("/message", { message: body, newline: "none", ...params }))
}

/** Case: the stream `body` yields exactly these message data. */
function format(name: string, body: string, expected: string[]): WptCase {
  return {
    name,
    async run(context) {
      assertEquals(await messages(stream(context, body), expected.length), expected, "messages")
    },
  }
}

/** Case: the response makes the source fail: `error` with readyState CLOSED, no `open`, no message. */
function fails(name: string, url: (context: CaseContext) => string): WptCase {
  return {
    name,
    async run(context) {
      const source = context.open(url(context))
      const log = recordEvents(source)
      await nextEvent(source, "error")
      assertEquals(source.readyState, source.CLOSED, "readyState in onerror")
      await sleep(100)
      assertEquals(log, [`error:${source.CLOSED}`], "events")
    },
  }
}

/** Case: the source opens and reads `data: x` with this Content-Type. */
function acceptsMime(name: string, mime: string, body = "data: x\n\n", expected = "x"): WptCase {
  return {
    name,
    async run(context) {
      const source = stream(context, body, { mime })
      await nextEvent(source, "open")
      assertEquals(await messages(source, 1), [expected], "messages")
    },
  }
}

/** Case: the request carried what `check` expects (the /echo handler reports it as JSON). */
function echo(
  name: string,
  check: (seen: Record<string, unknown>, source: EventSourceLike) => void,
  init?: { withCredentials?: boolean },
): WptCase {
  return {
    name,
    async run(context) {
      const source = context.open(context.url("/echo"), init)
      const [data] = await messages(source, 1)
      check(JSON.parse(data ?? "{}") as Record<string, unknown>, source)
    },
  }
}

/** Case: an `id` set by the stream comes back, UTF-8 intact, as `Last-Event-ID` on reconnection. */
function lastEventIdRoundTrip(name: string, id: string): WptCase {
  return {
    name,
    async run(context) {
      const source = context.open(context.url("/last-event-id", { id }))
      const [first, echoed] = await messageEvents(source, 2)
      assertEquals(first?.lastEventId, id, "lastEventId of the first event")
      assertEquals(echoed?.data, id, "Last-Event-ID the server received")
      assertEquals(echoed?.lastEventId, id, "lastEventId after reconnecting")
    },
  }
}

const constructorCases: WptCase[] = [
  {
    name: "eventsource-constructor-url-bogus: an unparsable URL throws a SyntaxError DOMException",
    async run({ EventSource }) {
      let thrown: unknown
      try {
        // WPT uses "http://this is invalid/", but Chromium's URL parser accepts that one.
        new EventSource("http://[invalid]/")
      } catch (error) {
        thrown = error
      }
      assert(thrown instanceof DOMException, `expected a DOMException, got ${String(thrown)}`)
      assertEquals(thrown.name, "SyntaxError", "error name")
    },
  },
  {
    name: "eventsource-constructor-stringify: the URL argument is converted with toString",
    async run(context) {
      const target = context.url("/message")
      const source = context.open({ toString: () => target } as unknown as string)
      assertEquals(source.url, target, "url")
      await nextEvent(source, "open")
    },
  },
  {
    name: "eventsource-url: url is the absolute URL given, query included",
    async run(context) {
      const target = context.url("/message", { message: "data: é" })
      const source = context.open(target)
      assertEquals(source.url, new URL(target).href, "url")
    },
  },
  {
    name: "eventsource-constructor-non-same-origin: a non-HTTP(S) URL fails the connection",
    async run(context) {
      for (const url of ["ftp://example.not/", "mailto:whatwg@awesome.example", "javascript:alert('FAIL')"]) {
        const source = context.open(url)
        await nextEvent(source, "error")
        assertEquals(source.readyState, source.CLOSED, `readyState for ${url}`)
      }
    },
  },
  {
    name: "eventsource-prototype: CONNECTING/OPEN/CLOSED on the interface and on instances",
    async run(context) {
      const { EventSource } = context
      assertEquals([EventSource.CONNECTING, EventSource.OPEN, EventSource.CLOSED], [0, 1, 2], "static")
      const source = context.open(context.url("/message"))
      assertEquals([source.CONNECTING, source.OPEN, source.CLOSED], [0, 1, 2], "instance")
      assertEquals(source.readyState, EventSource.CONNECTING, "initial readyState")
      assertEquals([source.onopen, source.onmessage, source.onerror], [null, null, null], "handlers")
      assert(!Object.hasOwn(source, "OPEN"), "constants live on the prototype")
    },
  },
  {
    name: "request-credentials: withCredentials reflects the init dictionary",
    async run(context) {
      assertEquals(context.open(context.url("/message")).withCredentials, false, "default")
      const withCredentials = context.open(context.url("/message"), { withCredentials: true })
      assertEquals(withCredentials.withCredentials, true, "withCredentials: true")
      await nextEvent(withCredentials, "open")
    },
  },
]

const eventCases: WptCase[] = [
  {
    name: "eventsource-onopen: open is a plain Event, fired with readyState OPEN",
    async run(context) {
      const source = context.open(context.url("/message"))
      const event = await new Promise<Event>((resolve) => {
        source.onopen = (e) => {
          assertEquals(source.readyState, source.OPEN, "readyState in onopen")
          resolve(e)
        }
      })
      assert(!(event instanceof MessageEvent), "open is not a MessageEvent")
      assertEquals(
        [event.type, event.bubbles, event.cancelable],
        ["open", false, false],
        "type, bubbles, cancelable",
      )
    },
  },
  {
    name: "eventsource-onmessage: a MessageEvent with data, origin and lastEventId",
    async run(context) {
      const source = stream(context, "data: data\n\n")
      const event = await new Promise<MessageEvent>((resolve) => {
        source.onmessage = resolve
      })
      assert(event instanceof MessageEvent, "a MessageEvent")
      assertEquals(
        [event.type, event.data, event.origin, event.lastEventId, event.bubbles, event.cancelable],
        ["message", "data", context.origin, "", false, false],
        "type, data, origin, lastEventId, bubbles, cancelable",
      )
    },
  },
  {
    name: "eventsource-eventtarget: addEventListener and removeEventListener",
    async run(context) {
      const source = stream(context, "data: 1\n\ndata: 2\n\n")
      assert(source instanceof EventTarget, "an EventTarget")
      const removed: string[] = []
      const remove = (event: Event) => removed.push((event as MessageEvent).data)
      source.addEventListener("message", remove)
      source.removeEventListener("message", remove)
      assertEquals(await messages(source, 2), ["1", "2"], "messages")
      assertEquals(removed, [], "a removed listener hears nothing")
    },
  },
  {
    name: "eventsource-onerror: error is a plain Event, not a MessageEvent",
    async run(context) {
      const source = context.open(context.url("/status", { status: "404" }))
      const event = await new Promise<Event>((resolve) => {
        source.onerror = resolve
      })
      assert(!(event instanceof MessageEvent), "not a MessageEvent")
      assertEquals(
        [event.type, event.bubbles, event.cancelable],
        ["error", false, false],
        "type, bubbles, cancelable",
      )
    },
  },
  {
    name: "event handler attributes: setting null removes the handler",
    async run(context) {
      const source = stream(context, "data: 1\n\ndata: 2\n\n")
      const heard: string[] = []
      source.onmessage = (event) => {
        heard.push(event.data)
        source.onmessage = null
      }
      await messages(source, 2)
      assertEquals(heard, ["1"], "handler calls")
    },
  },
  {
    name: "event-data: bytes split across writes (CRLF and a UTF-8 character cut in two)",
    async run(context) {
      const source = context.open(context.url("/split"))
      const [first, second] = await messageEvents(source, 2)
      assertEquals(first?.data, "h\u00e9llo \u20ac\n2", "first event")
      assertEquals([second?.data, second?.lastEventId], ["end", "x"], "second event")
    },
  },
]

const formatCases: WptCase[] = [
  format(
    "format-bom: one leading BOM is dropped, a later one is part of a field name",
    "\uFEFFdata: 1\n\n\uFEFFdata: 2\n\ndata: 3\n\n",
    ["1", "3"],
  ),
  format("format-bom-2: only one leading BOM is dropped", "\uFEFF\uFEFFdata: 1\n\ndata: 2\n\ndata: 3\n\n", [
    "2",
    "3",
  ]),
  format(
    "format-comments: comment lines of any length are ignored",
    `data:1\r:\0\n:\r\ndata:2\n:${"x".repeat(2048)}\rdata:3\n:data:fail\r:${"x".repeat(2048)}\ndata:4\n\n`,
    ["1\n2\n3\n4"],
  ),
  format("format-field-data: empty data, bare `data`, and data", "data:\n\ndata\ndata\n\ndata:test\n\n", [
    "",
    "\n",
    "test",
  ]),
  format("format-field-event-empty: an empty event type means message", "event: \ndata:data\n\n", ["data"]),
  format("format-field-retry-empty: a bare `retry` is ignored", "retry\ndata:test\n\n", ["test"]),
  format(
    "format-field-unknown: unknown fields and lines without a colon",
    "data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n",
    ["test\n\ntest"],
  ),
  format(
    "format-leading-space: only one leading space is removed, a tab stays",
    "data:\ttest\rdata: \ndata:test\n\n",
    ["\ttest\n\ntest"],
  ),
  format("format-newlines: CRLF, LF and CR line ends", "data:test\r\ndata\ndata:test\r\n\r\n", [
    "test\n\ntest",
  ]),
  format("format-null-character: NUL in data is kept", "data:\0\n\n", ["\0"]),
  format("format-utf-8: the stream is UTF-8", "data:ok\u2026 \u{1F600}\n\n", ["ok\u2026 \u{1F600}"]),
  format(
    "format-field-parsing: field names are exact and case-sensitive",
    "data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n",
    ["\0\n 2\n1\n3\n\n4"],
  ),
  {
    name: "format-field-event: a typed event goes to its listeners, not to onmessage",
    async run(context) {
      const source = stream(context, "event:test\ndata:x\n\ndata:x\n\n")
      const log = recordEvents(source, ["test"])
      await until(() => log.length >= 3, "three events")
      assertEquals(log.slice(0, 3), ["open", "test:x", "message:x"], "events")
    },
  },
  {
    name: "format-field-id-2: an id-only block sets lastEventId; an empty id resets it",
    async run(context) {
      const source = stream(context, "id: 1\n\ndata: a\n\nid\ndata: b\n\n")
      const events = await messageEvents(source, 2)
      assertEquals(
        events.map((event) => event.lastEventId),
        ["1", ""],
        "lastEventId",
      )
    },
  },
  {
    name: "format-field-id-null: an id containing NUL is ignored",
    async run(context) {
      const event = await nextEvent<MessageEvent>(
        stream(context, "id: 1\n\nid: a\0b\ndata: x\n\n"),
        "message",
      )
      assertEquals(event.lastEventId, "1", "lastEventId")
    },
  },
  {
    name: "format-data-before-final-empty-line: an unterminated block is discarded, id included",
    async run(context) {
      const source = stream(context, "retry:50\ndata:test1\n\nid:test\ndata:test2")
      assertEquals(await messages(source, 2), ["test1", "test1"], "messages across a reconnection")
      const { lastEventIds } = await context.stats()
      assertEquals(lastEventIds.slice(0, 2), ["", ""], "Last-Event-ID of both requests")
    },
  },
  {
    name: "format-field-retry: retry sets the reconnection time",
    async run(context) {
      const source = stream(context, "retry: 300\ndata: x\n\n")
      await nextEvent(source, "message")
      await nextEvent(source, "error")
      const dropped = Date.now()
      await nextEvent(source, "open")
      const waited = Date.now() - dropped
      assert(waited >= 250 && waited < 2500, `reconnected after ${waited} ms, expected about 300`)
    },
  },
  {
    name: "format-field-retry-bogus: retry values that are not only digits are ignored",
    async run(context) {
      const source = stream(context, "retry: 50\n\nretry:5000x\nretry: 2000 \nretry:-1\ndata:x\n\n")
      // With a bogus value taken (2 s or 5 s, or the 3 s default) the second message would be late.
      assertEquals(await messages(source, 2, 1500), ["x", "x"], "messages across a reconnection")
    },
  },
  fails("format-mime-bogus: Content-Type x/x fails the connection", (c) =>
    c.url("/message", { mime: "x/x", message: "data: x" }),
  ),
  fails("format-mime-bogus: no Content-Type fails the connection", (c) =>
    c.url("/message", { mime: "none", message: "data: x" }),
  ),
  acceptsMime("format-mime-trailing-semicolon: text/event-stream; is valid", "text/event-stream;"),
  acceptsMime("format-mime-valid-1: text/event-stream;charset=UTF-8", "text/event-stream;charset=UTF-8"),
  acceptsMime(
    "format-mime-valid-2: the body is UTF-8 whatever charset says",
    "text/event-stream;charset=windows-1252",
    "data: caf\u00e9\n\n",
    "caf\u00e9",
  ),
]

const statusCases: WptCase[] = [204, 205, 210, 299, 404, 410, 500, 503].map((status) =>
  fails(`request-status-error: status ${status} fails the connection without reconnecting`, (c) =>
    c.url("/status", { status: String(status) }),
  ),
)

const requestCases: WptCase[] = [
  echo("request-accept: Accept is text/event-stream", (seen) =>
    assertEquals(seen.accept, "text/event-stream", "Accept"),
  ),
  echo("request-cache-control: Cache-Control is no-cache", (seen) =>
    assertEquals(seen.cacheControl, "no-cache", "Cache-Control"),
  ),
  echo("request-post-to-connect: the request is a GET without Last-Event-ID", (seen) =>
    assertEquals(
      [seen.method, seen.lastEventId, seen.body],
      ["GET", null, ""],
      "method, Last-Event-ID, body",
    ),
  ),
  ...[301, 302, 303, 307, 308].map(
    (status): WptCase => ({
      name: `request-redirect: a ${status} is followed; reconnection goes to the original URL`,
      async run(context) {
        const target = context.url("/message", { message: "retry: 50\ndata: x\n\n", newline: "none" })
        const source = context.open(context.url("/redirect", { status: String(status), location: target }))
        const events: MessageEvent[] = []
        source.onmessage = (event) => events.push(event)
        await until(() => events.length >= 2, "two messages")
        assertEquals(events[0]?.origin, context.origin, "origin")
        const { paths } = await context.stats()
        assertEquals(
          paths.slice(0, 4).map((path) => path.split("?")[0]),
          ["/redirect", "/message", "/redirect", "/message"],
          "request paths",
        )
      },
    }),
  ),
  lastEventIdRoundTrip("last-event-id: an ASCII id is sent back on reconnection", "abc 123"),
  lastEventIdRoundTrip("last-event-id: a non-ASCII id round-trips as UTF-8", "\u203d\u00e9\u{1F4A9}"),
]

const connectionCases: WptCase[] = [
  {
    name: "eventsource-reconnect: error+CONNECTING on a clean end, reopen, then fail on 204",
    async run(context) {
      const source = context.open(context.url("/reconnect-fail"))
      const log = recordEvents(source)
      await until(() => source.readyState === source.CLOSED, "the source to close", 4000)
      assertEquals(
        log,
        ["open", "message:opened", "error:0", "open", "message:reconnected", "error:0", "error:2"],
        "events",
      )
      assertEquals((await context.stats()).requests, 3, "requests")
    },
  },
  {
    name: "eventsource-close: close() sets CLOSED at once and silences every event",
    async run(context) {
      const source = stream(context, "retry: 10\ndata: x\n\n")
      const log = recordEvents(source)
      source.addEventListener("open", () => source.close())
      await until(() => log.length > 0, "open")
      assertEquals(source.readyState, source.CLOSED, "readyState after close()")
      await sleep(150)
      assertEquals(log, ["open"], "events")
      assertEquals((await context.stats()).requests, 1, "requests")
    },
  },
  {
    name: "eventsource-close: close() in a listener drops the rest of the chunk",
    async run(context) {
      const source = stream(context, "data: 1\n\ndata: 2\n\ndata: 3\n\n")
      const log = recordEvents(source)
      source.addEventListener("message", () => source.close())
      await until(() => log.length >= 2, "a message")
      await sleep(100)
      assertEquals(log, ["open", "message:1"], "events")
    },
  },
  {
    name: "eventsource-close: close() before the connection opens",
    async run(context) {
      const source = stream(context, "data: 1\n\n")
      const log = recordEvents(source)
      source.close()
      await sleep(150)
      assertEquals(log, [], "events")
      assertEquals(source.readyState, source.CLOSED, "readyState")
    },
  },
  {
    name: "eventsource-request-cancellation: close() aborts the request",
    timeoutMs: 12_000,
    async run(context) {
      const source = context.open(context.url("/hang"))
      await nextEvent(source, "open")
      source.close()
      // Generous: a browser may take a moment to tear the socket down on a loaded machine.
      await until(
        async () => (await context.stats()).aborted === 1,
        "the server to see the disconnect",
        10_000,
      )
    },
  },
]

/** Every ported case, in one list shared by the Node and the browser runs. */
export const wptCases: readonly WptCase[] = [
  ...constructorCases,
  ...eventCases,
  ...formatCases,
  ...statusCases,
  ...requestCases,
  ...connectionCases,
]
