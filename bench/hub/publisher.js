// A publisher for the hub benches: a draft-08 `at+jwt` token that may publish on every topic,
// ~100-byte updates as a form body and as JSON, and keep-alive POSTs that must answer 200.
import { Agent, request } from "node:http"
import { SignJWT } from "jose"

/** The publish key of bench/hub/ingest-server.js's hub. */
export const SECRET = "bench-secret-bench-secret-bench-secret"
const HUB = "http://127.0.0.1/.well-known/mercure"

/** The topic of every update published here. */
export const TOPIC = "https://example.com/chat/1"
const data = JSON.stringify({ token: "hello", index: 0 }).padEnd(100, " ")
/** One update as a draft-08 form body. */
export const FORM = new URLSearchParams({ topic: TOPIC, data }).toString()
/** One update as a JSON object of Herald's batch publish. */
export const UPDATE_JSON = JSON.stringify({ topic: TOPIC, data })
/** A JSON batch of `size` updates, for `/herald/v1/publish`. */
export const jsonBatch = (size) => `[${Array.from({ length: size }, () => UPDATE_JSON).join(",")}]`

/** A token for the hub above, valid one hour. */
export async function publisherToken() {
  const now = Math.floor(Date.now() / 1000)
  return await new SignJWT({
    client_id: "bench",
    authorization_details: [
      { type: "https://mercure.rocks/authorization-detail", actions: ["publish"], topics: [{ match: "*" }] },
    ],
  })
    .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
    .setIssuer("bench")
    .setSubject("bench")
    .setAudience(HUB)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .setJti("bench")
    .sign(new TextEncoder().encode(SECRET))
}

/**
 * POSTs to the hub at `origin` over at most `inFlight` keep-alive connections: `post(path, body,
 * contentType)` resolves on a 200 and rejects on any other status. `close()` drops the connections.
 */
export function createPublisher(origin, token, inFlight) {
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight })
  const post = (path, body, contentType) =>
    new Promise((resolve, reject) => {
      const req = request(`${origin}${path}`, {
        method: "POST",
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": contentType,
          "content-length": Buffer.byteLength(body),
        },
      })
      req.on("error", reject)
      req.on("response", (response) => {
        response.resume()
        response.on("end", () =>
          response.statusCode === 200
            ? resolve()
            : reject(new Error(`${path} answered ${response.statusCode}`)),
        )
      })
      req.end(body)
    })
  return { post, close: () => agent.destroy() }
}
