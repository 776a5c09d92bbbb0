// loadConfig on real files in a temp directory: precedence of flags > env > file > defaults,
// one test per class of error message, dev mode's secret on disk, keys, and toHubOptions.
import { generateKeyPairSync } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pino from "pino"
import { afterEach, describe, expect, it } from "vitest"
import {
  ConfigError,
  envOf,
  FIELDS,
  flagOf,
  type LoadConfigOptions,
  loadConfig,
  parseBytes,
  parseDuration,
  toHubOptions,
  withBoundPort,
} from "../../src/cli/config.js"
import type { Engine } from "../../src/engine/engine.js"

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "herald-config-"))
  dirs.push(dir)
  return dir
}

const SECRET = "0123456789abcdef0123456789abcdef-test"

function load(options: Partial<LoadConfigOptions> & { cwd?: string }) {
  return loadConfig({ env: {}, cwd: options.cwd ?? tempDir(), ...options })
}

function errorOf(options: Partial<LoadConfigOptions> & { cwd?: string }): ConfigError {
  try {
    load(options)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error("loadConfig did not throw")
}

describe("defaults", () => {
  it("serves on 8080 with sqlite in ./herald-data, in dev mode with a persisted 0600 secret", () => {
    const cwd = tempDir()
    const config = load({ cwd })
    expect(config.port).toBe(8080)
    expect(config.listenBacklog).toBe(4096)
    expect(config.host).toBe("127.0.0.1")
    expect(config.hubUrl).toBe("http://localhost:8080/.well-known/mercure")
    expect(config.engine).toBe("sqlite")
    expect(config.dataDir).toBe(join(cwd, "herald-data"))
    expect(config.sync).toBe("normal")
    expect(config.legacy).toBe(true)
    expect(config.anonymous).toBe(false)
    expect(config.heartbeatMs).toBe(15_000)
    expect(config.retryMs).toBe(3000)
    expect(config.limits).toEqual({})
    expect(config.dev?.created).toBe(true)
    const file = join(cwd, "herald-data", "dev-secret")
    expect(config.dev?.file).toBe(file)
    expect(readFileSync(file, "utf8").trim()).toBe(config.dev?.secret)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(config.dev?.secret.length).toBeGreaterThanOrEqual(43)
    expect(config.publishKeys).toEqual([{ kind: "secret", secret: config.dev?.secret }])
    expect(config.subscribeKeys).toEqual(config.publishKeys)

    const again = load({ cwd })
    expect(again.dev?.created).toBe(false)
    expect(again.dev?.secret).toBe(config.dev?.secret)
  })

  it("dev mode binds loopback and trusts local clients unless told otherwise; with a key, all interfaces and tokens only", () => {
    const engine = { name: "memory" } as Engine
    const logger = pino({ level: "silent" })
    const dev = load({})
    expect(dev.host).toBe("127.0.0.1")
    expect(toHubOptions(dev, engine, logger).trustLocalClients).toBe(true)
    const everywhere = load({ argv: ["--host", "0.0.0.0"] })
    expect(everywhere.host).toBe("0.0.0.0")
    expect(toHubOptions(everywhere, engine, logger).trustLocalClients).toBe(true)
    expect(everywhere.warnings).toEqual([
      'dev mode on --host "0.0.0.0": other machines can reach the hub; they need a token, and the dev tokens grant everything',
    ])
    expect(load({ argv: ["--host", "::1"] }).warnings).toEqual([])
    const keyed = load({ env: { HERALD_JWT_KEY: SECRET } })
    expect(keyed.host).toBeUndefined()
    expect(toHubOptions(keyed, engine, logger).trustLocalClients).toBe(false)
  })

  it("gives every field a flag and an env name derived from its key", () => {
    expect(flagOf("maxBodyBytes")).toBe("--max-body-bytes")
    expect(envOf("maxBodyBytes")).toBe("HERALD_MAX_BODY_BYTES")
    expect(envOf("hubUrl")).toBe("HERALD_HUB_URL")
    expect(new Set(FIELDS.map((field) => field.key)).size).toBe(FIELDS.length)
  })
})

describe("precedence: flags > env > file > defaults", () => {
  it("takes each setting from the highest source that has it", () => {
    const cwd = tempDir()
    writeFileSync(
      join(cwd, "herald.json"),
      JSON.stringify({ port: 1000, engine: "memory", heartbeat: "1m", logLevel: "debug", retry: "1234ms" }),
    )
    const env = { HERALD_CONFIG: "herald.json", HERALD_PORT: "2000", HERALD_HEARTBEAT: "30s" }
    const config = load({ cwd, env, argv: ["--port", "3000"] })
    expect(config.port).toBe(3000)
    expect(config.heartbeatMs).toBe(30_000)
    expect(config.engine).toBe("memory")
    expect(config.logLevel).toBe("debug")
    expect(config.retryMs).toBe(1234)
    expect(config.configFile).toBe(join(cwd, "herald.json"))
    expect(config.sources).toMatchObject({
      port: '--port "3000"',
      heartbeat: 'HERALD_HEARTBEAT="30s"',
      engine: 'herald.json: engine = "memory"',
    })
    expect(load({ cwd, env }).port).toBe(2000)
    expect(load({ cwd, env: { HERALD_CONFIG: "herald.json" } }).port).toBe(1000)
  })

  it("--config wins over HERALD_CONFIG", () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, "a.json"), JSON.stringify({ port: 1111 }))
    writeFileSync(join(cwd, "b.json"), JSON.stringify({ port: 2222 }))
    expect(load({ cwd, env: { HERALD_CONFIG: "a.json" }, argv: ["--config", "b.json"] }).port).toBe(2222)
  })

  it("accepts already-parsed flags (commander's opts())", () => {
    const config = load({ env: { HERALD_PORT: "2000" }, flags: { port: "4000", legacy: false } })
    expect(config.port).toBe(4000)
    expect(config.legacy).toBe(false)
    expect(config.sources.legacy).toBe("--no-legacy")
  })

  it("validates only the winning value: a bad value shadowed by a higher source does not matter", () => {
    expect(load({ env: { HERALD_PORT: "abc" }, argv: ["--port", "9000"] }).port).toBe(9000)
  })

  it("treats an empty env variable as unset", () => {
    expect(load({ env: { HERALD_PORT: "" } }).port).toBe(8080)
  })

  it("negates booleans with --no-<flag> and reads text booleans in env", () => {
    expect(load({ argv: ["--no-legacy"] }).legacy).toBe(false)
    expect(load({ env: { HERALD_LEGACY: "off", HERALD_ANONYMOUS: "yes" } })).toMatchObject({
      legacy: false,
      anonymous: true,
    })
    expect(load({ env: { HERALD_ANONYMOUS: "1" }, argv: ["--no-anonymous"] }).anonymous).toBe(false)
  })
})

describe("value types", () => {
  it("parses durations and sizes", () => {
    expect(parseDuration("30d")).toBe(30 * 86_400_000)
    expect(parseDuration("1h")).toBe(3_600_000)
    expect(parseDuration("1.5s")).toBe(1500)
    expect(parseDuration("250ms")).toBe(250)
    expect(parseDuration("42")).toBe(42)
    expect(parseDuration("soon")).toBeUndefined()
    expect(parseBytes("1mb")).toBe(1024 * 1024)
    expect(parseBytes("256KiB")).toBe(256 * 1024)
    expect(parseBytes("10")).toBe(10)
    expect(parseBytes("10 apples")).toBeUndefined()
  })

  it("maps retention, limits and lists", () => {
    const config = load({
      argv: [
        "--retention-max-age",
        "30d",
        "--max-body-bytes",
        "2mb",
        "--cors-origins",
        "https://a.example, *",
        "--memory-max-bytes",
        "64mb",
        ...["--max-body-depth", "16", "--max-body-values", "1000000"],
      ],
      env: {
        HERALD_RETENTION_MAX_EVENTS: "5000",
        HERALD_MAX_CONNECTION_TIME: "1h",
        HERALD_ALGORITHMS: "HS256,ES256",
        HERALD_IPV6_PREFIX_LENGTH: "56",
        HERALD_MAX_PATTERN_MATCHERS_PER_ADDRESS: "32",
        HERALD_MAX_BODY_KEYS: "100",
      },
    })
    expect(config.retention).toEqual({ maxEvents: 5000, maxAgeMs: 30 * 86_400_000 })
    expect(config.memoryMaxBytes).toBe(64 * 1024 * 1024)
    expect(load({}).memoryMaxBytes).toBeUndefined()
    expect(config.limits).toEqual({
      maxBodyBytes: 2 * 1024 * 1024,
      maxBodyDepth: 16,
      maxBodyKeys: 100,
      maxBodyValues: 1_000_000,
      maxConnectionMs: 3_600_000,
      ipv6PrefixLength: 56,
      maxPatternMatchersPerAddress: 32,
    })
    expect(config.corsOrigins).toEqual(["https://a.example", "*"])
    expect(config.algorithms).toEqual(["HS256", "ES256"])
  })

  it("maps the AI limits, prompt storage and reasoning memory to the AI handler's options, only those set", () => {
    expect(load({}).aiLimits).toEqual({})
    const config = load({
      argv: [
        ...["--ai-max-concurrent", "4", "--ai-max-body-bytes", "20mb", "--ai-max-body-keys", "500"],
        ...["--ai-max-body-values", "90000"],
        ...["--no-ai-store-prompts", "--no-ai-remember-reasoning"],
      ],
      env: { HERALD_AI_MAX_PER_MINUTE: "30", HERALD_AI_MAX_OUTPUT_TOKENS: "4096" },
    })
    expect(config.aiLimits).toEqual({
      maxConcurrentPerSubject: 4,
      maxPerMinutePerSubject: 30,
      maxOutputTokens: 4096,
      maxBodyBytes: 20 * 1024 * 1024,
      maxBodyKeys: 500,
      maxBodyValues: 90_000,
      storePrompts: false,
      rememberReasoning: false,
    })
  })

  it("maps the --streams-* settings to the streams handler's limits, only those set", () => {
    expect(load({}).streamsLimits).toEqual({})
    const config = load({
      argv: [
        ...[
          "--streams-max-streams",
          "10",
          "--streams-max-body-bytes",
          "1mb",
          "--streams-max-body-depth",
          "8",
        ],
        ...["--streams-long-poll-timeout", "5s", "--streams-sse-lifetime", "30s"],
      ],
      env: {
        HERALD_STREAMS_MAX_QUEUED_BYTES: "64kb",
        HERALD_STREAMS_MAX_READ_BYTES: "2mb",
        HERALD_STREAMS_MAX_BODY_KEYS: "300",
        HERALD_STREAMS_MAX_BODY_VALUES: "700000",
      },
    })
    expect(config.streamsLimits).toEqual({
      maxStreams: 10,
      maxBodyBytes: 1024 * 1024,
      maxBodyDepth: 8,
      maxBodyKeys: 300,
      maxBodyValues: 700_000,
      longPollTimeoutMs: 5000,
      sseLifetimeMs: 30_000,
      maxQueuedBytes: 64 * 1024,
      maxReadBytes: 2 * 1024 * 1024,
    })
  })

  it("takes typed values from a JSON file (numbers, booleans, arrays)", () => {
    const cwd = tempDir()
    writeFileSync(
      join(cwd, "h.json"),
      JSON.stringify({
        $schema: "./schema.json",
        maxConnections: 10,
        subscriptions: true,
        cookieNames: ["a", "b"],
      }),
    )
    const config = load({ cwd, argv: ["-c", "h.json"] })
    expect(config.limits).toEqual({ maxConnections: 10 })
    expect(config.subscriptions).toBe(true)
    expect(config.cookieNames).toEqual(["a", "b"])
  })
})

describe("error messages name the source and the key and say what is expected", () => {
  it("env value", () => {
    expect(errorOf({ env: { HERALD_PORT: "abc" } }).message).toBe(
      'HERALD_PORT="abc": expected a port number 0–65535 (0 picks a free port)',
    )
  })

  it("flag value", () => {
    expect(errorOf({ argv: ["--port", "70000"] }).message).toBe(
      '--port "70000": expected a port number 0–65535 (0 picks a free port)',
    )
    expect(errorOf({ argv: ["--engine", "redis"] }).message).toBe(
      '--engine "redis": expected "sqlite", "memory", or a Redis URL redis://[user:password@]host:port[/db] (rediss:// for TLS): give the Redis URL, e.g. redis://127.0.0.1:6379',
    )
    expect(errorOf({ argv: ["--heartbeat", "soon"] }).message).toMatch(
      /^--heartbeat "soon": expected a duration/,
    )
    expect(errorOf({ argv: ["--ipv6-prefix-length", "129"] }).message).toBe(
      '--ipv6-prefix-length "129": expected a number of bits from 1 to 128',
    )
  })

  it("a duration without a unit, from any source, names the units it may have meant", () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, "herald.json"), JSON.stringify({ heartbeat: 15, nodeLease: "20" }))
    const error = errorOf({
      cwd,
      env: { HERALD_CONFIG: "herald.json", HERALD_RETRY: "3" },
      argv: ["--shutdown-timeout", "10", "--retention-max-age", "1.5"],
    })
    const expected = 'expected a duration with a unit, such as "30d", "1h", "15s" or "250ms",'
    const timer = `${expected} from 1ms to 24d`
    expect(error.issues).toEqual([
      {
        where: '--retention-max-age "1.5"',
        message: `${expected} of at least 1ms: give a unit, e.g. 1.5s or 1.5ms`,
      },
      { where: "herald.json: heartbeat = 15", message: `${timer}: give a unit, e.g. 15s or 15ms` },
      { where: 'HERALD_RETRY="3"', message: `${expected} of at least 1ms: give a unit, e.g. 3s or 3ms` },
      {
        where: 'herald.json: nodeLease = "20"',
        message: `${expected} from 1s to 24d: give a unit, e.g. 20s or 20ms`,
      },
      { where: '--shutdown-timeout "10"', message: `${timer}: give a unit, e.g. 10s or 10ms` },
    ])
    expect(load({ cwd: tempDir(), argv: ["--heartbeat", "5s", "--retry", "250ms"] })).toMatchObject({
      heartbeatMs: 5000,
      retryMs: 250,
    })
  })

  it("a duration a timer waits is at most 24d (past 2^31 - 1 ms Node fires at once); a node lease at least 1s", () => {
    const error = errorOf({
      argv: [
        "--heartbeat",
        "30d",
        "--shutdown-timeout",
        "25d",
        "--body-idle-timeout",
        "30d",
        "--node-lease",
        "999ms",
      ],
    })
    const expected = 'expected a duration with a unit, such as "30d", "1h", "15s" or "250ms",'
    expect(error.issues).toEqual([
      { where: '--heartbeat "30d"', message: `${expected} from 1ms to 24d` },
      { where: '--body-idle-timeout "30d"', message: `${expected} from 1ms to 24d` },
      { where: '--node-lease "999ms"', message: `${expected} from 1s to 24d` },
      { where: '--shutdown-timeout "25d"', message: `${expected} from 1ms to 24d` },
    ])
    // Compared with timestamps, not waited on: a retention age may be longer.
    const config = load({ argv: ["--heartbeat", "24d", "--node-lease", "1s", "--retention-max-age", "90d"] })
    expect(config).toMatchObject({ heartbeatMs: 24 * 86_400_000, nodeLeaseMs: 1000 })
    expect(config.retention.maxAgeMs).toBe(90 * 86_400_000)
  })

  it("file value", () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, "herald.json"), JSON.stringify({ maxBodyBytes: "lots", hubUrl: "ftp://x" }))
    const error = errorOf({ cwd, argv: ["--config", "herald.json"] })
    expect(error.issues).toEqual([
      { where: 'herald.json: hubUrl = "ftp://x"', message: "expected an absolute http:// or https:// URL" },
      { where: 'herald.json: maxBodyBytes = "lots"', message: expect.stringMatching(/^expected a size/) },
    ])
  })

  it("unknown key in the file, with the nearest valid one", () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, "herald.json"), JSON.stringify({ prot: 80, zzzzzzzzzz: 1 }))
    expect(errorOf({ cwd, env: { HERALD_CONFIG: "herald.json" } }).message).toBe(
      'herald.json: prot: unknown key (did you mean "port"?)\nherald.json: zzzzzzzzzz: unknown key',
    )
  })

  it("unreadable, invalid or non-object config file", () => {
    const cwd = tempDir()
    expect(errorOf({ cwd, argv: ["--config", "nope.json"] }).message).toBe(
      "nope.json: cannot read the config file: no such file",
    )
    writeFileSync(join(cwd, "bad.json"), "{ port: 1 }")
    expect(errorOf({ cwd, argv: ["--config", "bad.json"] }).message).toMatch(/^bad\.json: not valid JSON: /)
    writeFileSync(join(cwd, "list.json"), "[1]")
    expect(errorOf({ cwd, argv: ["--config", "list.json"] }).message).toBe(
      "list.json: expected a JSON object of settings",
    )
  })

  it("points another server's name for a setting at Herald's: the Redis URL is the engine", () => {
    expect(errorOf({ argv: ["--redis-url", "redis://127.0.0.1:6379"] }).message).toBe(
      "command line: unknown option '--redis-url'\n(the Redis URL is the engine: --engine redis://host:port)",
    )
    expect(load({ env: { HERALD_REDIS_URL: "redis://127.0.0.1:6379" } }).warnings).toEqual([
      "HERALD_REDIS_URL is not a Herald setting and is ignored (the Redis URL is the engine: HERALD_ENGINE=redis://host:port)",
    ])
    const cwd = tempDir()
    writeFileSync(join(cwd, "herald.json"), JSON.stringify({ redisPassword: "secret" }))
    expect(errorOf({ cwd, argv: ["--config", "herald.json"] }).message).toBe(
      'herald.json: redisPassword: unknown key (the Redis password is in the engine\'s URL: "engine": "redis://:password@host:port")',
    )
  })

  it("unknown flag or missing flag value", () => {
    expect(errorOf({ argv: ["--prot", "1"] }).message).toMatch(/^command line: unknown option '--prot'/)
    expect(errorOf({ argv: ["--prot", "1"] }).message).toContain("--port")
    expect(errorOf({ argv: ["--port"] }).message).toMatch(
      /^command line: option '--port <port>' argument missing/,
    )
  })

  it("bad CORS origin and bad algorithm", () => {
    expect(errorOf({ env: { HERALD_CORS_ORIGINS: "https://a.example/path" } }).message).toMatch(
      /^HERALD_CORS_ORIGINS="https:\/\/a.example\/path": expected a comma-separated list of origins/,
    )
    expect(errorOf({ env: { HERALD_ALGORITHMS: "none" } }).message).toMatch(
      /^HERALD_ALGORITHMS="none": expected/,
    )
  })

  it("a JWK Set URL over plain http, unless it points at this machine", () => {
    expect(errorOf({ env: { HERALD_JWKS_URL: "http://idp.example/jwks.json" } }).message).toBe(
      'HERALD_JWKS_URL="http://idp.example/jwks.json": the JWK Set URL http://idp.example/jwks.json is plain http: keys must be fetched over https (http is accepted only for localhost, 127.0.0.0/8 and ::1)',
    )
    for (const url of ["http://127.0.0.1:9000/jwks.json", "http://localhost/jwks", "http://[::1]:81/k"]) {
      expect(load({ env: { HERALD_JWKS_URL: url } }).publishKeys).toEqual([{ kind: "jwks", url }])
    }
  })

  it("boolean in env", () => {
    expect(errorOf({ env: { HERALD_LEGACY: "maybe" } }).message).toBe(
      'HERALD_LEGACY="maybe": expected true or false',
    )
  })

  it("reports every issue at once", () => {
    const error = errorOf({ env: { HERALD_PORT: "x", HERALD_RETRY: "y" }, argv: ["--engine", "z"] })
    expect(error.issues.map((issue) => issue.where)).toEqual([
      'HERALD_PORT="x"',
      '--engine "z"',
      'HERALD_RETRY="y"',
    ])
  })

  it("refuses to start without keys when dev mode is off", () => {
    for (const options of [{ argv: ["--no-dev"] }, { env: { HERALD_DEV: "false" } }]) {
      const error = errorOf(options)
      expect(error.message).toMatch(/dev mode is off and no publisher key is set/)
      expect(error.message).toContain("--jwt-key")
    }
    // Anonymous publishing needs no key.
    expect(load({ argv: ["--no-dev", "--anonymous-publish"] }).dev).toBeUndefined()
  })

  it("a key path that names no file is an error, never a secret", () => {
    const cwd = tempDir()
    const error = errorOf({ cwd, env: { HERALD_JWT_KEY: "./keys/public.pem" } })
    expect(error.message).toMatch(`HERALD_JWT_KEY: no such file: ${join(cwd, "keys/public.pem")} (`)
    expect(error.message).toContain("openssl rand -hex 32")
  })

  it("never shows key material", () => {
    const error = errorOf({ env: { HERALD_PUBLISHER_JWT_KEY: "-----BEGIN PUBLIC KEY-----\nnot a key" } })
    expect(error.message).toMatch(/^HERALD_PUBLISHER_JWT_KEY: the PEM text is not a usable PEM/)
    expect(error.message).not.toContain("not a key")
    const cwd = tempDir()
    writeFileSync(join(cwd, "h.json"), JSON.stringify({ jwtKey: 12345 }))
    const typed = errorOf({ cwd, argv: ["-c", "h.json"] })
    expect(typed.message).toMatch(/^h\.json: jwtKey = "\*\*\*": expected/)
    expect(typed.message).not.toContain("12345")
  })
})

describe("keys", () => {
  it("a shared secret serves both roles, and turns dev mode off", () => {
    const cwd = tempDir()
    const config = load({ cwd, env: { HERALD_JWT_KEY: SECRET, HERALD_JWT_ISSUER: "https://issuer.example" } })
    const key = { kind: "secret", secret: SECRET, issuer: "https://issuer.example" }
    expect(config.publishKeys).toEqual([key])
    expect(config.subscribeKeys).toEqual([key])
    expect(config.dev).toBeUndefined()
    expect(() => statSync(join(cwd, "herald-data"))).toThrow()
    expect(config.warnings).toEqual([])
  })

  it("role keys override the shared one; a JWKS URL is trusted for both", () => {
    const config = load({
      env: {
        HERALD_JWT_KEY: SECRET,
        HERALD_SUBSCRIBER_JWT_KEY: `${SECRET}-sub`,
        HERALD_JWKS_URL: "https://idp.example/jwks.json",
      },
    })
    const jwks = { kind: "jwks", url: "https://idp.example/jwks.json" }
    expect(config.publishKeys).toEqual([{ kind: "secret", secret: SECRET }, jwks])
    expect(config.subscribeKeys).toEqual([{ kind: "secret", secret: `${SECRET}-sub` }, jwks])
  })

  it("reads PEM text, PEM files, secret files; a private key is reduced to its public half", () => {
    const cwd = tempDir()
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" })
    const spki = publicKey.export({ type: "spki", format: "pem" }).toString()
    writeFileSync(join(cwd, "public.pem"), spki)
    writeFileSync(join(cwd, "private.pem"), privateKey.export({ type: "pkcs8", format: "pem" }))
    writeFileSync(join(cwd, "secret.txt"), `${SECRET}\n`)
    const fromFile = load({
      cwd,
      argv: ["--publisher-jwt-key", "public.pem", "--subscriber-jwt-key", "secret.txt"],
    })
    expect(fromFile.publishKeys).toEqual([{ kind: "pem", pem: spki.trim() }])
    expect(fromFile.subscribeKeys).toEqual([{ kind: "secret", secret: SECRET }])
    const fromPrivate = load({ cwd, argv: ["--jwt-key", "./private.pem"] })
    expect(fromPrivate.publishKeys).toEqual([{ kind: "pem", pem: spki }])
    // PEM text in one env line, newlines escaped as \n.
    const escaped = spki.trim().replaceAll("\n", "\\n")
    expect(load({ env: { HERALD_JWT_KEY: escaped } }).publishKeys).toEqual([
      { kind: "pem", pem: spki.trim() },
    ])
  })

  it("refuses dev mode with --algorithms that leave out HS256, which its tokens are signed with", () => {
    expect(errorOf({ cwd: tempDir(), argv: ["--algorithms", "RS256"] }).issues).toEqual([
      {
        where: '--algorithms "RS256"',
        message:
          "dev mode signs its tokens with HS256, which RS256 leaves out: add HS256, or give a key (--jwt-key) for the algorithms you allow",
      },
    ])
    expect(load({ cwd: tempDir(), argv: ["--algorithms", "RS256,HS256"] }).algorithms).toEqual([
      "RS256",
      "HS256",
    ])
  })

  it("refuses a key that fits none of --algorithms, naming the key and the setting", () => {
    const cwd = tempDir()
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 })
    writeFileSync(join(cwd, "rsa.pem"), privateKey.export({ type: "pkcs8", format: "pem" }))
    expect(errorOf({ env: { HERALD_JWT_KEY: SECRET }, argv: ["--algorithms", "RS256"] }).issues).toEqual([
      {
        where: "HERALD_JWT_KEY",
        message:
          'it is a shared secret, which takes HS256, HS384, HS512, and --algorithms "RS256" allows none of them: add one to --algorithms, or give a key for RS256',
      },
    ])
    expect(
      errorOf({ cwd, env: { HERALD_ALGORITHMS: "ES256" }, argv: ["--jwt-key", "./rsa.pem"] }).issues,
    ).toEqual([
      {
        where: "--jwt-key",
        message:
          'it is an RSA public key, which takes RS256, RS384, RS512, PS256, PS384, PS512, and HERALD_ALGORITHMS="ES256" allows none of them: add one to --algorithms, or give a key for ES256',
      },
    ])
    expect(
      load({ cwd, env: { HERALD_JWT_KEY: SECRET }, argv: ["--algorithms", "RS256,HS256"] }).algorithms,
    ).toEqual(["RS256", "HS256"])
    // An EC key takes its curve's algorithm only: ES384 is not among the defaults.
    const pem = (curve: string) =>
      generateKeyPairSync("ec", { namedCurve: curve })
        .publicKey.export({ type: "spki", format: "pem" })
        .toString()
    expect(errorOf({ env: { HERALD_PUBLISHER_JWT_KEY: pem("P-384") } }).issues).toEqual([
      {
        where: "HERALD_PUBLISHER_JWT_KEY",
        message:
          "it is an EC public key on P-384, which takes ES384, and the default --algorithms HS256,RS256,ES256,EdDSA allows none of them: add one to --algorithms, or give a key for HS256, RS256, ES256, EdDSA",
      },
    ])
    expect(errorOf({ env: { HERALD_JWT_KEY: pem("secp256k1") } }).issues).toEqual([
      {
        where: "HERALD_JWT_KEY",
        message: "EC keys on curve secp256k1 are not supported (use P-256, P-384 or P-521)",
      },
    ])
  })

  it("warns about a short secret", () => {
    const config = load({ env: { HERALD_JWT_KEY: "short" } })
    expect(config.warnings).toEqual([
      "HERALD_JWT_KEY: the HMAC secret is 5 bytes; use at least 32 random bytes",
    ])
  })

  it("dev mode with a subscriber key keeps that key for subscribers", () => {
    const config = load({ env: { HERALD_SUBSCRIBER_JWT_KEY: SECRET } })
    expect(config.dev).toBeDefined()
    expect(config.publishKeys).toEqual([{ kind: "secret", secret: config.dev?.secret }])
    expect(config.subscribeKeys).toEqual([{ kind: "secret", secret: SECRET }])
  })
})

describe("warnings", () => {
  it("names an unknown HERALD_ variable and the nearest setting", () => {
    const config = load({ env: { HERALD_PROT: "1", HERALD_TOKEN: "t", HERALD_CONFIG: "" } })
    expect(config.warnings).toEqual([
      "HERALD_PROT is not a Herald setting and is ignored (did you mean HERALD_PORT?)",
    ])
  })

  it("says a metrics host without a metrics port is ignored, and refuses a metrics port equal to the main one", () => {
    const config = load({ argv: ["--metrics-host", "127.0.0.1", "--metrics-token", "t0ken"] })
    expect(config.metricsToken).toBe("t0ken")
    expect(config.warnings).toEqual([
      '--metrics-host "127.0.0.1": ignored, it applies to the metrics port (--metrics-port), which is not set',
    ])
    expect(load({ env: { HERALD_METRICS_PORT: "9100" } }).metricsPort).toBe(9100)
    expect(errorOf({ argv: ["--port", "9000", "--metrics-port", "9000"] }).message).toBe(
      '--metrics-port "9000": the metrics port must differ from the main port (9000); drop it to serve /metrics on the main port',
    )
  })
})

describe("settings for a setup this one is not", () => {
  it("says each is ignored, and why", () => {
    const config = load({
      argv: [
        "--memory-max-bytes",
        "1mb",
        "--trusted-proxy-header",
        "forwarded",
        "--max-concurrent-streams",
        "10",
      ],
      env: { HERALD_SYNC: "full", HERALD_MAX_STREAM_RESETS_PER_SECOND: "50" },
    })
    expect(config.warnings).toEqual([
      '--memory-max-bytes "1mb": ignored, it bounds the memory engine, and the engine is sqlite',
      '--trusted-proxy-header "forwarded": ignored, it is read only from the proxies --trusted-proxies names, and none is set',
      '--max-concurrent-streams "10": ignored, it bounds HTTP/2, which herald serve speaks only with TLS (--tls-cert), not set',
      'HERALD_MAX_STREAM_RESETS_PER_SECOND="50": ignored, it bounds HTTP/2, which herald serve speaks only with TLS (--tls-cert), not set',
    ])
    expect(
      load({ argv: ["--engine", "memory", "--memory-max-bytes", "1mb", "--sync", "full"] }).warnings,
    ).toEqual([
      "engine memory: updates are lost when the hub stops",
      '--sync "full": ignored, it sets the sqlite engine\'s durability, and the engine is memory',
    ])
    expect(
      load({ argv: ["--trusted-proxies", "10.0.0.1", "--trusted-proxy-header", "forwarded"] }).warnings,
    ).toEqual([])
  })
})

describe("a hub nobody could use", () => {
  it("says so when no key verifies subscriber tokens and subscribing needs one", () => {
    const warning =
      "no key verifies subscriber tokens and --anonymous is off: nobody can subscribe. Set a key (--jwt-key, --subscriber-jwt-key or --jwks-url), or --anonymous for public updates"
    expect(load({ argv: ["--no-dev", "--anonymous-publish"] }).warnings).toContain(warning)
    expect(load({ argv: ["--no-dev", "--anonymous-publish", "--anonymous"] }).warnings).not.toContain(warning)
    expect(load({ argv: ["--no-dev"], env: { HERALD_JWT_KEY: SECRET } }).warnings).not.toContain(warning)
    expect(load({ argv: [] }).warnings).not.toContain(warning)
  })
})

describe("toHubOptions and withBoundPort", () => {
  it("maps the configuration onto HubOptions", () => {
    const engine = { name: "memory" } as Engine
    const logger = pino({ level: "silent" })
    const config = load({
      env: {
        HERALD_JWT_KEY: SECRET,
        HERALD_ALGORITHMS: "HS256",
        HERALD_MAX_CONNECTIONS: "5",
        HERALD_ANONYMOUS: "true",
      },
    })
    const options = toHubOptions(config, engine, logger)
    expect(options).toMatchObject({
      engine,
      hubUrl: "http://localhost:8080/.well-known/mercure",
      publish: { keys: [{ kind: "secret", secret: SECRET }], algorithms: ["HS256"] },
      subscribe: { keys: [{ kind: "secret", secret: SECRET }], algorithms: ["HS256"] },
      allowAnonymousSubscribe: true,
      allowAnonymousPublish: false,
      legacy: true,
      corsOrigins: [],
      heartbeatMs: 15_000,
      retryMs: 3000,
      limits: { maxConnections: 5 },
      logger,
    })
    expect(options).not.toHaveProperty("resource")
  })

  it("a derived hub URL follows the bound port; an explicit one does not", () => {
    const derived = withBoundPort(load({ argv: ["--port", "0"] }), 43210)
    expect(derived.hubUrl).toBe("http://localhost:43210/.well-known/mercure")
    const explicit = withBoundPort(
      load({ argv: ["--port", "0", "--hub-url", "https://hub.example/hub"] }),
      43210,
    )
    expect(explicit.hubUrl).toBe("https://hub.example/hub")
  })
})

describe("network settings", () => {
  it("read trusted proxies, timeouts and replay bounds from every source, and hand them to the hub and the server", () => {
    const config = load({
      argv: [
        "--trusted-proxies",
        "10.0.0.0/8, ::1",
        "--body-idle-timeout",
        "5s",
        "--max-concurrent-replays",
        "8",
      ],
      env: {
        HERALD_JWT_KEY: SECRET,
        HERALD_TRUSTED_PROXY_HEADER: "Forwarded",
        HERALD_HEADERS_TIMEOUT: "2s",
        HERALD_SHUTDOWN_RETRY_JITTER: "1s",
        HERALD_MAX_QUEUED_REPLAYS: "100",
      },
    })
    expect(config.timeouts).toEqual({ headersTimeoutMs: 2000, keepAliveTimeoutMs: 65_000 })
    expect(toHubOptions(config, { name: "memory" } as Engine, pino({ level: "silent" }))).toMatchObject({
      trustedProxies: ["10.0.0.0/8", "::1"],
      trustedProxyHeader: "forwarded",
      shutdownRetryJitterMs: 1000,
      limits: { bodyIdleTimeoutMs: 5000, maxConcurrentReplays: 8, maxQueuedReplays: 100 },
    })
  })

  it("default to no trusted proxy and bounded timeouts", () => {
    const config = load({ env: { HERALD_JWT_KEY: SECRET } })
    expect(config.trustedProxies).toEqual([])
    expect(config.trustedProxyHeader).toBe("x-forwarded-for")
    expect(config.timeouts).toEqual({ headersTimeoutMs: 10_000, keepAliveTimeoutMs: 65_000 })
  })

  it("refuse a trusted proxy that is no address or range, saying what is expected", () => {
    const error = errorOf({
      env: { HERALD_JWT_KEY: SECRET, HERALD_TRUSTED_PROXIES: "10.0.0.0/8,proxy.internal" },
    })
    expect(error.issues).toEqual([
      {
        where: 'HERALD_TRUSTED_PROXIES="10.0.0.0/8,proxy.internal"',
        message: expect.stringContaining("IP addresses and CIDR ranges"),
      },
    ])
  })
})

describe("the redis engine and the node", () => {
  it("reads a Redis URL from a flag, the environment or the file, and defaults to sqlite", () => {
    expect(load({}).redis).toBeUndefined()
    const cwd = tempDir()
    writeFileSync(
      join(cwd, "herald.json"),
      JSON.stringify({ engine: "rediss://herald:p%40ss@redis.internal:6380/2" }),
    )
    for (const options of [
      { argv: ["--engine", "rediss://herald:p%40ss@redis.internal:6380/2"] },
      { env: { HERALD_ENGINE: "rediss://herald:p%40ss@redis.internal:6380/2" } },
      { cwd, argv: ["--config", "herald.json"] },
    ]) {
      const config = load(options)
      expect(config.engine).toBe("redis")
      expect(config.redis?.url).toMatchObject({
        tls: true,
        host: "redis.internal",
        port: 6380,
        username: "herald",
        password: "p@ss",
        db: 2,
      })
      expect(config.redis?.shown).toBe("rediss://herald:***@redis.internal:6380/2")
      expect(config.redis?.keyPrefix).toBe("herald")
      expect(config.redis?.sentinels).toBeUndefined()
      expect(config.redis?.clusterSeeds).toBeUndefined()
    }
    expect(load({ argv: ["--engine", "redis://127.0.0.1"] }).redis?.url).toMatchObject({ port: 6379, db: 0 })
  })

  it("says what is wrong with a bad Redis URL, and never shows its password", () => {
    const cases: [string, string][] = [
      ["redis://:pw@host/x", "the path must be a database number (/0, /1, …), not /x"],
      ["http://:pw@host:6379", "the scheme must be redis:// or rediss:// (TLS), not http://"],
      ["redis://:pw@host:99999", "not a valid URL"],
      ["redis://:pw@host:6379?db=1", "a query or fragment is not supported"],
      ["redis://", "the URL names no host"],
    ]
    for (const [value, reason] of cases) {
      const message = errorOf({ argv: ["--engine", value] }).message
      expect(message).toContain(reason)
      expect(message).toContain('expected "sqlite", "memory", or a Redis URL')
      expect(message).not.toContain("pw")
    }
    expect(errorOf({ env: { HERALD_ENGINE: "redis://user:hunter2@h:1/x" } }).message).toMatch(
      /^HERALD_ENGINE="redis:\/\/user:\*\*\*@h:1\/x": /,
    )
  })

  it("connects through Sentinels or to a Cluster when told, and refuses contradictions", () => {
    const sentinel = load({
      argv: ["--engine", "redis://:pw@master/3", "--redis-sentinels", "10.0.0.1:26379,[::1]:26380"],
      env: { HERALD_REDIS_SENTINEL_NAME: "herald" },
    })
    expect(sentinel.redis?.sentinels).toEqual({
      name: "herald",
      nodes: [
        { host: "10.0.0.1", port: 26379 },
        { host: "::1", port: 26380 },
      ],
    })
    expect(sentinel.redis?.shown).toBe(
      'redis://:***@master/3 (master "herald" of Sentinels 10.0.0.1:26379,::1:26380)',
    )
    const cluster = load({
      argv: ["--engine", "redis://a:7000", "--redis-cluster", "--redis-cluster-seeds", "b:7001,c:7002"],
    })
    expect(cluster.redis?.clusterSeeds).toEqual([
      { host: "a", port: 7000 },
      { host: "b", port: 7001 },
      { host: "c", port: 7002 },
    ])
    const refusals: [string[], string][] = [
      [["--redis-cluster"], "applies to a Redis engine only (--engine redis://…)"],
      [["--engine", "redis://h:1", "--redis-sentinels", "s:1"], "needs the master's name"],
      [["--engine", "redis://h:1", "--redis-sentinel-name", "m"], "needs the Sentinels"],
      [["--engine", "redis://h:1", "--redis-cluster-seeds", "s:1"], "set --redis-cluster too"],
      [["--engine", "redis://h:1/1", "--redis-cluster"], "a Redis Cluster has database 0 only"],
      [
        ["--engine", "redis://h:1", "--redis-sentinels", "nope"],
        "expected a comma-separated list of host:port",
      ],
      [["--engine", "redis://h:1", "--redis-key-prefix", "{x}"], "without braces"],
    ]
    for (const [argv, message] of refusals) expect(errorOf({ argv }).message).toContain(message)
  })

  it("names the node and its lease", () => {
    const defaults = load({})
    expect(defaults.nodeId).toMatch(new RegExp(`-${process.pid}-[0-9a-f]{6}$`))
    expect(load({}).nodeId).not.toBe(defaults.nodeId)
    expect(defaults.nodeLeaseMs).toBe(10_000)
    const set = load({ argv: ["--node-id", "web-1", "--node-lease", "30s"] })
    expect(set.nodeId).toBe("web-1")
    expect(set.nodeLeaseMs).toBe(30_000)
    expect(errorOf({ argv: ["--node-id", "web 1"] }).message).toContain("no spaces")
  })
})

describe("help text", () => {
  it("states the engines' retention defaults as they are", async () => {
    const { SQLITE_RETENTION_DEFAULTS } = await import("../../src/engine/sqlite.js")
    const { RETENTION_DEFAULTS: MEMORY_RETENTION_DEFAULTS } = await import("../../src/engine/retention.js")
    const shown = (key: string) => FIELDS.find((field) => field.key === key)?.shownDefault
    // The redis engine takes the memory engine's defaults (RETENTION_DEFAULTS).
    expect(shown("retentionMaxEvents")).toBe(
      `sqlite ${SQLITE_RETENTION_DEFAULTS.maxEntries}, memory ${MEMORY_RETENTION_DEFAULTS.maxEntries}, redis ${MEMORY_RETENTION_DEFAULTS.maxEntries}`,
    )
    expect(parseDuration(shown("retentionMaxAge")?.match(/sqlite (\S+),/)?.[1] ?? "")).toBe(
      SQLITE_RETENTION_DEFAULTS.maxAgeMs,
    )
    expect(parseDuration(shown("retentionMaxAge")?.match(/memory (\S+),/)?.[1] ?? "")).toBe(
      MEMORY_RETENTION_DEFAULTS.maxAgeMs,
    )
    expect(parseDuration(shown("retentionMaxAge")?.match(/redis (\S+)$/)?.[1] ?? "")).toBe(
      MEMORY_RETENTION_DEFAULTS.maxAgeMs,
    )
  })
})
