import { writeFileSync } from "node:fs"
import { join } from "node:path"
import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { afterEach, describe, expect, it } from "vitest"
import { bannerTokens, type Hub, herald, startHub, tempCwd } from "../cli/cli-helpers.js"
import { rawExchange } from "../server/helpers.js"

let serving: Hub | undefined
afterEach(async () => {
  serving?.child.kill("SIGTERM")
  await serving?.exited
  serving = undefined
})

describe("herald serve mounts the AI endpoints", () => {
  it("serves the demo model with no configuration, to local clients in dev mode, its metrics on /metrics, and stops cleanly", async () => {
    serving = await startHub(["--engine", "memory", "--port", "0"], { cwd: tempCwd() })
    const origin = `http://localhost:${serving.port}`
    // The SDK always sends a key: in dev mode, the publisher token the banner prints.
    await serving.waitFor(/Publisher token[^\n]*\n\s+\S+/)
    const { publisher } = bannerTokens(serving.stdout())
    const client = new OpenAI({ baseURL: `${origin}/v1`, apiKey: publisher, maxRetries: 0 })
    expect((await client.models.list()).data.map((model) => model.id)).toEqual(["demo"])
    const stream = await client.chat.completions.create({
      model: "demo",
      stream: true,
      messages: [{ role: "user", content: "Say something about logs" }],
    })
    let text = ""
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
    expect(text).toMatch(/demo/i)
    // /metrics serves the generations' metrics with the hub's.
    const metrics = await (await fetch(`${origin}/metrics`)).text()
    expect(metrics).toMatch(/^herald_ai_generations_started_total\{model="demo"\} 1$/m)
    expect(metrics).toMatch(/^herald_connections /m)
    serving.child.kill("SIGTERM")
    expect(await serving.exited).toBe(0)
    serving = undefined
  })

  it("serves the models of --ai-models with the --ai-* limits, and refuses a bad file at start", async () => {
    const cwd = tempCwd()
    writeFileSync(
      join(cwd, "models.json"),
      JSON.stringify({ quick: { provider: "demo", timeToFirstTokenMs: 0, tokensPerSecond: 1000 } }),
    )
    serving = await startHub(
      ["--engine", "memory", "--port", "0", "--ai-models", "models.json", "--ai-max-output-tokens", "100"],
      { cwd },
    )
    await serving.waitFor(/Publisher token[^\n]*\n\s+\S+/)
    const apiKey = bannerTokens(serving.stdout()).publisher
    const message = await new Anthropic({
      baseURL: `http://localhost:${serving.port}`,
      apiKey,
      maxRetries: 0,
    }).messages
      .stream({ model: "quick", max_tokens: 100, messages: [{ role: "user", content: "hi" }] })
      .finalMessage()
    expect(message.stop_reason).toBe("end_turn")
    // The limits come from the flags.
    const over = await fetch(`http://localhost:${serving.port}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": apiKey },
      body: JSON.stringify({ model: "quick", max_tokens: 101, messages: [{ role: "user", content: "hi" }] }),
    })
    expect(over.status).toBe(400)
    expect(await over.json()).toMatchObject({ error: { message: expect.stringMatching(/at most 100/) } })
    serving.child.kill("SIGTERM")
    await serving.exited
    serving = undefined

    writeFileSync(join(cwd, "bad.json"), JSON.stringify({ broken: { provider: "nope" } }))
    const run = herald(["serve", "--engine", "memory", "--port", "0", "--ai-models", "bad.json"], { cwd })
    expect(await run.exited).toBe(2)
    expect(run.stderr() + run.stdout()).toMatch(/broken.{0,4}\.provider must be/)

    // A misspelt baseURL would send the prompts to the provider's public API.
    writeFileSync(
      join(cwd, "typo.json"),
      JSON.stringify({ local: { provider: "openai", baseUrl: "http://localhost:11434/v1" } }),
    )
    const typo = herald(["serve", "--engine", "memory", "--port", "0", "--ai-models", "typo.json"], { cwd })
    expect(await typo.exited).toBe(2)
    expect(typo.stderr() + typo.stdout()).toMatch(
      /local.{0,4}\.baseUrl is not a setting of openai models; did you mean baseURL\?/,
    )
    // A provider named like an Object property is no provider either.
    writeFileSync(join(cwd, "proto.json"), JSON.stringify({ odd: { provider: "constructor" } }))
    const proto = herald(["serve", "--engine", "memory", "--port", "0", "--ai-models", "proto.json"], { cwd })
    expect(await proto.exited).toBe(2)
    expect(proto.stderr() + proto.stdout()).toMatch(/odd.{0,4}\.provider must be/)
    // A key's variable given as no name; a public API without any key.
    for (const [file, model, message] of [
      [
        "keyless.json",
        { provider: "openai" },
        /gpt.{0,4}: api\.openai\.com refuses every request without a key/,
      ],
      [
        "keytype.json",
        { provider: "openai", apiKeyEnv: true },
        /gpt.{0,4}\.apiKeyEnv must name an environment variable/,
      ],
    ] as const) {
      writeFileSync(join(cwd, file), JSON.stringify({ gpt: model }))
      const run = herald(["serve", "--engine", "memory", "--port", "0", "--ai-models", file], { cwd })
      expect(await run.exited, file).toBe(2)
      expect(run.stderr() + run.stdout(), file).toMatch(message)
    }
  })

  it("holds the AI requests to the hub's --body-idle-timeout and, with its subscribers, to --max-connections-per-address", async () => {
    serving = await startHub(
      [
        "--engine",
        "memory",
        "--port",
        "0",
        "--body-idle-timeout",
        "300ms",
        "--max-connections-per-address",
        "1",
      ],
      { cwd: tempCwd() },
    )
    const origin = `http://localhost:${serving.port}`
    const { socket, closed } = await rawExchange(
      serving.port,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost:${serving.port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":`,
      "localhost",
    )
    const answer = await Promise.race([
      closed,
      new Promise((resolve) => setTimeout(resolve, 5000, "still open")),
    ])
    socket.destroy()
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)

    const subscriber = new AbortController()
    const subscribed = await fetch(`${serving.hubUrl}?match=t`, { signal: subscriber.signal })
    expect(subscribed.status).toBe(200)
    const refused = await fetch(`${origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "demo", messages: [{ role: "user", content: "hi" }] }),
    })
    expect(refused.status).toBe(429)
    expect(await refused.json()).toMatchObject({ error: { code: "too_many_connections" } })
    subscriber.abort()
    serving.child.kill("SIGTERM")
    expect(await serving.exited).toBe(0)
    serving = undefined
  })

  it("on sqlite (the default engine), a generation outlives the process: a restarted server resumes it", async () => {
    const cwd = tempCwd()
    serving = await startHub(["--port", "0"], { cwd })
    await serving.waitFor(/Publisher token[^\n]*\n\s+\S+/)
    const apiKey = bannerTokens(serving.stdout()).publisher
    const headers = { "content-type": "application/json", authorization: `Bearer ${apiKey}` }
    const created = await fetch(`http://localhost:${serving.port}/v1/ai-sdk/chat`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        id: "chat-1",
        messages: [{ id: "u", role: "user", parts: [{ type: "text", text: "Say something about logs" }] }],
      }),
    })
    const id = created.headers.get("herald-generation-id")
    const first = await created.text()
    serving.child.kill("SIGTERM")
    expect(await serving.exited).toBe(0)

    serving = await startHub(["--port", "0"], { cwd })
    await serving.waitFor(/Publisher token[^\n]*\n\s+\S+/)
    // Tokens name the server's URL, port included: the new port needs the new banner's token.
    headers.authorization = `Bearer ${bannerTokens(serving.stdout()).publisher}`
    const resumed = await fetch(`http://localhost:${serving.port}/v1/generations/${id}/stream`, { headers })
    expect(resumed.status).toBe(200)
    expect(await resumed.text()).toBe(first)
    const state = (await (
      await fetch(`http://localhost:${serving.port}/v1/generations/${id}`, { headers })
    ).json()) as {
      status: string
    }
    expect(state.status).toBe("done")
  })
})
