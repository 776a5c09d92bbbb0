import type { RedisConnectionOptions } from "../engine/redis-client.js"
import type { RedisTarget } from "./config.js"

/**
 * How the redis engine connects, from `herald serve`'s settings: the URL alone for one server;
 * for Sentinels or a Cluster, their addresses, with the URL's credentials, TLS and database as
 * options of every connection.
 */
export function redisConnection(target: RedisTarget): RedisConnectionOptions {
  const { url, sentinels, clusterSeeds } = target
  const settingNames = { url: "--engine", cluster: "--redis-cluster", sentinelName: "--redis-sentinel-name" }
  if (sentinels === undefined && clusterSeeds === undefined) return { url: url.url, settingNames }
  const redisOptions = {
    ...(url.username === undefined ? {} : { username: url.username }),
    ...(url.password === undefined ? {} : { password: url.password }),
    ...(url.tls ? { tls: {} } : {}),
  }
  if (clusterSeeds !== undefined) return { nodes: clusterSeeds, redisOptions, settingNames }
  return {
    settingNames,
    sentinels: sentinels?.nodes,
    name: sentinels?.name,
    redisOptions: { ...redisOptions, db: url.db },
  }
}
