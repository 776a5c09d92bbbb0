import { createPrivateKey, X509Certificate } from "node:crypto"
import { readFileSync, statSync } from "node:fs"
import { resolve } from "node:path"
import { createSecureContext } from "node:tls"

/** A certificate chain and its private key, read and checked at startup. */
export interface TlsCredentials {
  /** PEM: the server's certificate, then any intermediates. */
  readonly cert: Buffer
  /** PEM: the private key of the first certificate. */
  readonly key: Buffer
  /** Absolute paths, for messages. */
  readonly certFile: string
  readonly keyFile: string
  /** When the server's certificate stops being valid. */
  readonly validTo: Date
}

/** The files loaded, or what is wrong with them, naming the file. */
export type TlsLoading =
  | { readonly ok: true; readonly credentials: TlsCredentials; readonly warning?: string }
  | { readonly ok: false; readonly setting: "tlsCert" | "tlsKey"; readonly message: string }

/** Files past this size are no certificate or key (a bound on what is read at startup). */
const MAX_PEM_FILE_BYTES = 1024 * 1024

/**
 * Reads and checks `--tls-cert` and `--tls-key` so that a wrong file stops `herald serve` at
 * startup with a message naming it, rather than failing every handshake later: both must be
 * readable PEM, the key must be the certificate's, and OpenSSL must accept the pair. An expired
 * (or not yet valid) certificate is served, with a warning: a test setup may want exactly that.
 */
export function loadTlsCredentials(certPath: string, keyPath: string, cwd: string): TlsLoading {
  const certFile = resolve(cwd, certPath)
  const keyFile = resolve(cwd, keyPath)
  const cert = readPem(certFile)
  if (typeof cert === "string") return { ok: false, setting: "tlsCert", message: cert }
  const key = readPem(keyFile)
  if (typeof key === "string") return { ok: false, setting: "tlsKey", message: key }
  let certificate: X509Certificate
  try {
    certificate = new X509Certificate(cert)
  } catch (error) {
    return {
      ok: false,
      setting: "tlsCert",
      message: `${certFile} is not a PEM certificate (${(error as Error).message})`,
    }
  }
  let privateKey: ReturnType<typeof createPrivateKey>
  try {
    privateKey = createPrivateKey(key)
  } catch (error) {
    return {
      ok: false,
      setting: "tlsKey",
      message: `${keyFile} is not an unencrypted PEM private key (${(error as Error).message})`,
    }
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    return { ok: false, setting: "tlsKey", message: `${keyFile} is not the private key of ${certFile}` }
  }
  try {
    createSecureContext({ cert, key })
  } catch (error) {
    return {
      ok: false,
      setting: "tlsCert",
      message: `OpenSSL refuses ${certFile}: ${(error as Error).message}`,
    }
  }
  const validFrom = new Date(certificate.validFrom)
  const validTo = new Date(certificate.validTo)
  const now = Date.now()
  const credentials: TlsCredentials = { cert, key, certFile, keyFile, validTo }
  if (now > validTo.getTime() || now < validFrom.getTime()) {
    return {
      ok: true,
      credentials,
      warning: `${certFile} is valid from ${validFrom.toISOString()} to ${validTo.toISOString()} only: clients will refuse it`,
    }
  }
  return { ok: true, credentials }
}

/** The file's bytes, or why it cannot be a PEM file. */
function readPem(file: string): Buffer | string {
  try {
    const stats = statSync(file)
    if (!stats.isFile()) return `${file} is not a file`
    if (stats.size > MAX_PEM_FILE_BYTES) return `${file} is too large to be a PEM file`
    return readFileSync(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return code === "ENOENT" ? `no such file: ${file}` : `cannot read ${file}: ${(error as Error).message}`
  }
}
