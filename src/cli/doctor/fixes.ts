import type { Fix } from "./verdict.js"

/**
 * What to change, per concern and per place in the path. The nginx snippet is the one the
 * doctor's test puts in front of a real nginx (and docs/operations.md shows): the directives to
 * add to the `location` that proxies the stream.
 */
export const NGINX_SSE_DIRECTIVES = `proxy_http_version 1.1;
proxy_set_header Connection "";
proxy_buffering off;
proxy_cache off;
proxy_read_timeout 1h;
gzip off;`

const nginxLocation = `location /events/ {
    proxy_pass http://app;
${NGINX_SSE_DIRECTIVES.split("\n")
  .map((line) => `    ${line}`)
  .join("\n")}
}`

/** A hub that wants a token the doctor did not have, or one it refused. */
export const TOKEN_FIX: Fix = {
  target: "doctor",
  snippet: "pass --token <a token that may subscribe and publish on this hub>, or set HERALD_TOKEN",
}

/** Something between the server and the client holds events back. */
export const BUFFERING_FIXES: readonly Fix[] = [
  {
    target: "server",
    snippet: "X-Accel-Buffering: no   (response header; nginx then streams this response)",
  },
  { target: "nginx", snippet: nginxLocation },
  { target: "Caddy", snippet: "reverse_proxy app:8080 {\n    flush_interval -1\n}" },
]

/** The stream is compressed. */
export const COMPRESSION_FIXES: readonly Fix[] = [
  {
    target: "server",
    snippet:
      "Cache-Control: no-cache, no-transform   (Express's compression() skips such responses)\nor leave text/event-stream out of the compression middleware's filter",
  },
  { target: "nginx", snippet: "gzip off;   (in the location of the stream)" },
  {
    target: "Caddy",
    snippet: "@compressible not header Accept text/event-stream\nencode @compressible gzip zstd",
  },
  {
    target: "Cloudflare",
    snippet:
      "text/event-stream is not among the types Cloudflare compresses by default: remove any Compression Rule that adds it",
  },
]

/** Proxies close a connection idle for longer than their timeout. */
export const IDLE_TIMEOUT_FIXES: readonly Fix[] = [
  {
    target: "server",
    snippet:
      ": (a comment line, then a blank line) every 15 s — herald/server: createSSE({ heartbeatMs: 15_000 })",
  },
  { target: "nginx", snippet: "proxy_read_timeout 1h;" },
  {
    target: "AWS ALB",
    snippet:
      "aws elbv2 modify-load-balancer-attributes --load-balancer-arn <arn> \\\n  --attributes Key=idle_timeout.timeout_seconds,Value=3600",
  },
  {
    target: "Cloudflare",
    snippet: "the ~100 s proxy read timeout (error 524) is fixed on most plans: heartbeat well under it",
  },
]

/** A response header the server should send. */
export function headerFix(header: string): Fix {
  return { target: "server", snippet: header }
}

/** HTTP/2 lifts HTTP/1.1's six-connections-per-origin limit on browsers' EventSources. */
export const HTTP2_FIXES: readonly Fix[] = [
  { target: "nginx", snippet: "listen 443 ssl http2;   (nginx ≥ 1.25.1: listen 443 ssl; http2 on;)" },
  { target: "Caddy", snippet: "serves HTTP/2 on HTTPS by default: check that nothing sets protocols h1" },
  { target: "AWS ALB", snippet: "an HTTPS listener (HTTP/2 is on by default: routing.http2.enabled=true)" },
  { target: "Cloudflare", snippet: "Speed → Optimization → Protocol Optimization: HTTP/2 on" },
]

/** The server must flush the headers when the stream opens, not at the first event. */
export const FLUSH_FIX: Fix = {
  target: "server",
  snippet:
    'write the headers and a first frame (": ok\\n\\n" or "retry: 3000\\n\\n") as soon as the stream opens',
}

/** A stream the client can resume. */
export const ID_FIX: Fix = {
  target: "server",
  snippet:
    "id: <a cursor, strictly increasing> on every event — herald/server: createChannel({ history: true }) assigns them",
}

/** A server that honours Last-Event-ID. */
export const RESUME_FIX: Fix = {
  target: "server",
  snippet:
    "on a request with Last-Event-ID (or ?lastEventId=), send the events after it before going live — herald/server: channel.subscribe(connection) with history on",
}
