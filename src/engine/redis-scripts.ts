/**
 * The Lua scripts of the redis engine. Each operation on a log is ONE script over the log's keys
 * (redis-keys.ts, all under one hash tag), so its checks, its write and its notification happen
 * in one atomic step (ENGINE-NOTES lesson 4) and cost one round trip.
 *
 * KEYS, in every script: meta, stream, keyFirst, keyLast, keyNext, producers (see LogKeys).
 * ARGV, in every script, after its own: the engine's default retention, most entries and oldest
 * age in ms ("" = none), for the logs created without a retention of their own (`dr`).
 *
 * Meta hash fields: `e` epoch, `t` tail seq, `c` "1" once closed, `st` "1" once a stop was
 * requested, `o` owner, `w` last writer seq (hex of its UTF-16 code units, so that byte order is
 * JavaScript's string order), `cfg` the config as canonical JSON, `ca` created at, `x` expires at
 * (absent: never), `ttl` sliding TTL in ms, `px` when Redis expires the log's keys (see below),
 * `mn` most entries kept, `ma` oldest age kept in ms ("" = no age bound), `dr` "1" for a log
 * created without a retention of its own, which keeps the engine's as it is now instead (its `mn`
 * and `ma` are the engine's at its creation, for nodes of older versions), `r` the replication id
 * of the Redis that last appended, `f` the former epochs this one continues (see `fork`), `sz`
 * the sizes of its entries, so that a read bounded by bytes loads none it cannot return (see
 * `note_sizes`).
 *
 * Stream entry `seq` has the id `<seq>-0` and the fields `t` time, `d` data, and `k` key when it
 * has one.
 *
 * Time is the engine's clock (`now`), passed in by the caller: expiry, age and leases follow it,
 * so a test's fake clock drives them. A log is missing from its expiry `x` on, exactly. Redis's
 * own key expiry (PEXPIRE) is set as well, only so that Redis reclaims an expired log nobody looks
 * at again: at `px`, never before `x`. For a sliding TTL, `px` is set up to
 * min(TTL, {@link EXPIRY_SLACK_MS}) past `x`, so that a log written steadily renews it once per
 * that slack rather than on every write; an expired log's keys may stay in Redis that much longer.
 *
 * The meta is read with one HMGET of the fields a script needs (`cfg`, the longest, only where it
 * is compared or replied) and written with at most one HSET per script.
 */

/** How many former epochs a log keeps readable after replication forks (see `fork`). */
export const MAX_FORMER_EPOCHS = 8

/**
 * The smallest size class `sz` notes (see `note_sizes`): entries under 2^this bytes are not
 * noted, so a log of small entries (the hub's, a generation's) never writes it, and a read
 * bounded by bytes asks for as many of them at once as fit at this size.
 */
const MIN_SIZE_CLASS = 10

/**
 * The most entries the first page of a read bounded by bytes asks XRANGE for, whatever `sz`
 * says; each later page asks for at most the entries read so far plus this many.
 */
const FIRST_READ_PAGE = 16

/** How far past a sliding TTL's expiry Redis's own expiry of the log's keys may lie. */
export const EXPIRY_SLACK_MS = 60_000

/** The idempotent-producer check, the same rules as `checkProducer` (producer.ts). */
export const PRODUCER_CHECK_LUA = `
-- state: "epoch:seq" of the producer's last accepted append, or false when never seen.
-- Returns {status, a, b} with the fields of producer.ts's ProducerCheck, as strings.
local function check_producer(state, epoch, seq)
  if not state then
    if seq == 0 then return {'accepted'} end
    return {'sequence-gap', '0', string.format('%d', seq)}
  end
  local se, ss = string.match(state, '^(%d+):(%d+)$')
  se, ss = tonumber(se), tonumber(ss)
  if epoch > se then
    if seq == 0 then return {'accepted'} end
    return {'invalid-epoch-seq'}
  end
  if epoch < se then return {'stale-epoch', string.format('%d', se)} end
  if seq <= ss then return {'duplicate', string.format('%d', ss)} end
  if seq == ss + 1 then return {'accepted'} end
  return {'sequence-gap', string.format('%d', ss + 1), string.format('%d', seq)}
end
`

/** What every log script starts with: its keys, and the helpers over them. */
const PRELUDE = `
local K_META, K_STREAM, K_FIRST, K_LAST, K_NEXT, K_PROD = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local DEFAULT_MN, DEFAULT_MA = ARGV[#ARGV - 1], ARGV[#ARGV]

-- A log created without a retention of its own keeps what the engine keeps now.
local function with_retention(m)
  if m.dr or not m.mn then m.mn, m.ma = DEFAULT_MN, DEFAULT_MA end
  return m
end

-- Numbers go to Redis as strings made here: Lua's own conversion writes 1e+15 for a large one.
local function str(n) return string.format('%d', n) end

local function seq_of(id) return tonumber(string.match(id, '^(%d+)')) end

local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end

local function drop()
  redis.call('DEL', K_META, K_STREAM, K_FIRST, K_LAST, K_NEXT, K_PROD)
end

-- The meta fields the scripts read; the last, the config, only by those that need it.
local META_FIELDS = {'e', 't', 'c', 'st', 'o', 'w', 'ca', 'x', 'ttl', 'px', 'mn', 'ma', 'dr', 'r', 'f', 'sz', 'cfg'}

-- The log's meta as a table (with \`cfg\` when \`with_config\`), or nil when there is no such log. A
-- log past its expiry is missing from this instant on, whether or not Redis has expired its keys
-- yet: it is dropped here, unless the script makes the log anew when missing (\`to_create\`), whose
-- create drops it after a write a full Redis refuses (see create).
local function load(now, with_config, to_create)
  local count = with_config and #META_FIELDS or #META_FIELDS - 1
  local values = redis.call('HMGET', K_META, unpack(META_FIELDS, 1, count))
  if not values[1] then return nil end
  local m = {}
  for i = 1, count do
    if values[i] then m[META_FIELDS[i]] = values[i] end
  end
  with_retention(m)
  if m.x and tonumber(m.x) <= now then
    if not to_create then drop() end
    return nil
  end
  return m
end

-- The meta fields a script changed, as field/value pairs for its one HSET (save).
local changes = {}

local function change(m, name, value)
  m[name] = value
  changes[#changes + 1] = name
  changes[#changes + 1] = value
end

local function save()
  if #changes > 0 then redis.call('HSET', K_META, unpack(changes)) end
end

-- save for a read, whose one write is a sliding TTL's move: Redis past its maxmemory refuses it
-- when it is the script's first write (see create), and the read answers all the same, its TTL
-- left where it was until a read finds room again.
local function save_unless_full()
  if #changes == 0 then return end
  local reply = redis.pcall('HSET', K_META, unpack(changes))
  if type(reply) == 'table' and reply.err and string.sub(reply.err, 1, 4) ~= 'OOM ' then error(reply) end
end

-- A log made before \`dr\` was kept (the engine's retention then frozen in its \`mn\` and \`ma\`),
-- whose config has no retention of its own, follows the engine's from now on. Only where the
-- config is read: a create, and an append that may create (the hub's every publish).
local function adopt_engine_retention(m)
  if m.dr or not m.cfg or string.find(m.cfg, '"retention":{', 1, true) then return end
  change(m, 'dr', '1')
  with_retention(m)
end

-- When Redis is to expire the keys of a log expiring at \`m.x\`.
local function reclaim_at(m)
  local at = tonumber(m.x)
  if m.ttl then at = at + math.min(tonumber(m.ttl), ${EXPIRY_SLACK_MS}) end
  return at
end

local function pexpire(keys, m, now)
  local ms = str(math.max(1, tonumber(m.px) - now))
  for i = 1, #keys do redis.call('PEXPIRE', keys[i], ms) end
end

-- A new incarnation: what an expired one left (Redis expires keys one by one) goes first, or the
-- stream would refuse the new seq 1. \`fields\` are the meta's field/value pairs, epoch first.
local function create(fields, now)
  -- Redis past its maxmemory refuses a script's write that may grow it (HSET, not DEL) only while
  -- the script has written nothing: the first write is the epoch, so a full Redis makes no log.
  -- Refused, it still drops what an expired incarnation left (a DEL passes), so that a retry may
  -- find the room that held.
  local first = redis.pcall('HSET', K_META, fields[1], fields[2])
  if type(first) == 'table' and first.err then
    drop()
    error(first)
  end
  drop()
  local m = {}
  for i = 1, #fields, 2 do m[fields[i]] = fields[i + 1] end
  if m.x then
    m.px = str(reclaim_at(m))
    fields[#fields + 1] = 'px'
    fields[#fields + 1] = m.px
  end
  redis.call('HSET', K_META, unpack(fields))
  if m.x then pexpire({K_META}, m, now) end
  return with_retention(m)
end

-- A log made says so on its channel, whether or not entries follow: a node watching it before it
-- was made then looks at its expiry at once (redis-feed.ts), not at its next look a few seconds
-- on, perhaps after the log expired unseen. \`command\` is PUBLISH or SPUBLISH.
local function publish_made(command, channel)
  redis.call(command, channel, '{"m":1}')
end

-- A write, or a read that asks to, moves a sliding TTL on.
local function touch(m, now)
  if m.ttl then change(m, 'x', str(now + tonumber(m.ttl))) end
end

-- Keeps Redis's own expiry of an expiring log's keys at or after its expiry: all of them when
-- \`px\` fell short of \`x\`, else only \`fresh\`, the keys the script may have made.
local function expire_keys(m, now, fresh)
  if not m.x then return end
  local keys = fresh
  if not m.px or tonumber(m.px) < tonumber(m.x) then
    change(m, 'px', str(reclaim_at(m)))
    keys = KEYS
  end
  if #keys > 0 then pexpire(keys, m, now) end
end

-- The key index keeps, per key, the oldest held entry and a chain to the next one with the same
-- key, so a repeated key still resolves to its oldest HELD entry after trims (as in memory).
local function index(key, seq)
  local first = redis.call('HGET', K_FIRST, key)
  if not first then
    redis.call('HSET', K_FIRST, key, seq)
    return
  end
  local last = redis.call('HGET', K_LAST, key) or first
  redis.call('HSET', K_NEXT, last, seq)
  redis.call('HSET', K_LAST, key, seq)
end

local function unindex(key, seq)
  if redis.call('HGET', K_FIRST, key) ~= seq then return end
  local next = redis.call('HGET', K_NEXT, seq)
  if next then
    redis.call('HSET', K_FIRST, key, next)
    redis.call('HDEL', K_NEXT, seq)
  else
    redis.call('HDEL', K_FIRST, key)
    redis.call('HDEL', K_LAST, key)
  end
end

local function oldest_entry()
  return redis.call('XRANGE', K_STREAM, '-', '+', 'COUNT', 1)[1]
end

-- The seq before the oldest entry held: reading after it is held.
local function floor_of(m)
  local oldest = oldest_entry()
  if oldest then return seq_of(oldest[1]) - 1 end
  return tonumber(m.t)
end

-- Drops what retention no longer keeps: past \`mn\` entries, then older than \`ma\` ms. Entries are
-- in time order, so the age scan stops at the first one young enough; its cost is paid once per
-- entry dropped. The first look reads one entry (almost every append finds it young), later ones
-- a page. The dropped entries' keys leave the index. Returns the floor it leaves (see floor_of)
-- when it read the stream, so that a head needs no other read; nil when it did not.
local function trim(m, now)
  -- Nothing can be trimmed while the log holds no more entries than it keeps and is younger than
  -- its age bound (every entry came after its creation): no stream read then.
  if tonumber(m.t) <= tonumber(m.mn) and (m.ma == '' or now - tonumber(m.ca) < tonumber(m.ma)) then return nil end
  local oldest = oldest_entry()
  local tail = tonumber(m.t)
  if not oldest then return tail end
  local first = seq_of(oldest[1])
  local keep = math.max(first, tail - tonumber(m.mn) + 1)
  if m.ma ~= '' then
    local cutoff = now - tonumber(m.ma)
    local young = false
    local count = 1
    -- The first look, where the count bound keeps the oldest, is at the oldest: loaded already.
    local page = keep == first and {oldest} or nil
    while not young and keep <= tail do
      page = page or redis.call('XRANGE', K_STREAM, str(keep) .. '-0', '+', 'COUNT', count)
      count = 64
      if #page == 0 then break end
      for _, entry in ipairs(page) do
        if tonumber(field(entry[2], 't')) >= cutoff then
          young = true
          break
        end
        keep = seq_of(entry[1]) + 1
      end
      page = nil
    end
  end
  if keep <= first then return first - 1 end
  local dropped = redis.call('EXISTS', K_FIRST) == 1 and redis.call('XRANGE', K_STREAM, '-', str(keep - 1) .. '-0')
  -- The XTRIM goes before the index's writes: Redis past its maxmemory lets it through, and after
  -- it a script's HSET too (see create), so a read or a head that trims still answers when full.
  redis.call('XTRIM', K_STREAM, 'MINID', str(keep) .. '-0')
  for _, entry in ipairs(dropped or {}) do
    local key = field(entry[2], 'k')
    if key then unindex(key, str(seq_of(entry[1]))) end
  end
  -- Entries run from the floor to the tail with none missing: the oldest left is \`keep\`.
  return keep - 1
end

-- What head() reports: epoch, tail, floor (\`floor\` when known, as trim returns it), closed, stop,
-- created at, expires at, config, owner, former epochs.
local function head_reply(m, floor)
  return {m.e, m.t, str(floor or floor_of(m)), m.c or '', m.st or '', m.ca, m.x or '', m.cfg, m.o or '', m.f or ''}
end

-- Replication forks. Redis replicates asynchronously, so a replica promoted in a failover may
-- lack its former master's last appends, though they were acknowledged: new appends would take
-- the lost entries' seqs, and a reader that saw a lost entry would skip its replacement unawares.
-- A promoted replica keeps its former master's replication id as its second one. An append that
-- finds its log last written under that id starts a new epoch first, which continues the old one
-- up to the tail it found: positions up to there still read, later ones are another epoch's.
-- (A restart, or a slot moved to another master, changes the id too, but leaves no second one:
-- the new id is noted, with no fork.) \`f\` lists the former epochs as "epoch:seq", the last seq
-- each shares with the current one, oldest first, at most ${MAX_FORMER_EPOCHS}.
local function replication_ids()
  local info = redis.call('INFO', 'replication')
  return string.match(info, 'master_replid:(%w+)'), string.match(info, 'master_replid2:(%w+)')
end

-- An epoch after \`epoch\` (8 base-36 digits) by a step drawn from \`salt\`, so that positions
-- keep their string order across a fork; one within 16^5 of the last epoch may wrap around.
local BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz'
local function later_epoch(epoch, salt)
  local n = tonumber(epoch, 36) + 1 + tonumber(string.sub(redis.sha1hex(salt), 1, 5), 16)
  n = n % 2821109907456
  local digits = {}
  for i = 8, 1, -1 do
    local digit = n % 36
    digits[i] = string.sub(BASE36, digit + 1, digit + 1)
    n = (n - digit) / 36
  end
  return table.concat(digits)
end

local function fork(m, id)
  local shared = tonumber(m.t)
  local former = {}
  for epoch, seq in string.gmatch(m.f or '', '(%w+):(%d+)') do
    former[#former + 1] = epoch .. ':' .. str(math.min(tonumber(seq), shared))
  end
  former[#former + 1] = m.e .. ':' .. m.t
  while #former > ${MAX_FORMER_EPOCHS} do table.remove(former, 1) end
  change(m, 'f', table.concat(former, ' '))
  change(m, 'e', later_epoch(m.e, m.e .. ':' .. id .. ':' .. m.t))
  change(m, 'r', id)
end

-- The last seq of the former epoch \`epoch\` that is one of the current epoch's, or nil.
local function shared_until(m, epoch)
  if not m.f then return nil end
  return tonumber(string.match(' ' .. m.f .. ' ', ' ' .. epoch .. ':(%d+) '))
end

-- Entry sizes. \`sz\` is "<known> <class>:<seq> …": the sizes of the entries after the seq <known>
-- are noted (0 for a log made with \`sz\`; for one made before, the tail at its first append
-- since). Each pair names the last entry of a size class, 2^class to 2^(class + 1) - 1 bytes,
-- from class ${MIN_SIZE_CLASS} up (smaller entries are not noted); an entry ends the pairs of
-- classes up to its own, so classes fall along the list, and every entry after a seq is at most
-- of the class of the first pair past that seq, or under 2^${MIN_SIZE_CLASS} bytes when there is
-- none. At most one pair per class: the list stays short. (A node of an older version appends
-- without noting: a bound may then be short, so a read trusts it for one growing page at a time.)
local function load_sizes(m)
  local known, rest = string.match(m.sz or '', '^(%d+)(.*)$')
  if not known then return nil end
  local sizes = {known = tonumber(known), classes = {}, seqs = {}}
  for class, seq in string.gmatch(rest, '(%d+):(%d+)') do
    sizes.classes[#sizes.classes + 1] = tonumber(class)
    sizes.seqs[#sizes.seqs + 1] = tonumber(seq)
  end
  return sizes
end

-- Notes the sizes of the \`n\` entries appended after seq \`tail\`, their data in ARGV from \`at\`
-- on, every other one.
local function note_sizes(m, tail, n, at)
  local sizes = load_sizes(m)
  local changed = not sizes
  sizes = sizes or {known = tail, classes = {}, seqs = {}}
  local classes, seqs = sizes.classes, sizes.seqs
  for i = 1, n do
    local size = #ARGV[at + 2 * (i - 1)]
    if size >= 2 ^ ${MIN_SIZE_CLASS} then
      local class, top = ${MIN_SIZE_CLASS}, 2 ^ ${MIN_SIZE_CLASS + 1}
      while size >= top do class, top = class + 1, top * 2 end
      while #classes > 0 and classes[#classes] <= class do
        classes[#classes] = nil
        seqs[#seqs] = nil
      end
      classes[#classes + 1] = class
      seqs[#seqs + 1] = tail + i
      changed = true
    end
  end
  if not changed then return end
  local parts = {str(sizes.known)}
  for i = 1, #classes do parts[#parts + 1] = str(classes[i]) .. ':' .. str(seqs[i]) end
  change(m, 'sz', table.concat(parts, ' '))
end

-- The most bytes an entry after seq \`after\` may hold; nil when not known.
local function size_bound(sizes, after)
  if not sizes or after < sizes.known then return nil end
  for i = 1, #sizes.seqs do
    if sizes.seqs[i] > after then return 2 ^ (sizes.classes[i] + 1) - 1 end
  end
  return 2 ^ ${MIN_SIZE_CLASS} - 1
end

-- Reads \`count\` field/value pairs from ARGV starting at \`at\`.
local function pairs_at(at, count)
  local fields = {}
  for i = 0, count - 1 do fields[i + 1] = ARGV[at + i] end
  return fields
end

local function bytes_after(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return #a > #b
end
`

/**
 * append. ARGV: now, origin token, publish command (PUBLISH or SPUBLISH), channel, close ("1"),
 * fence kind ("", "owner", "takeover"), fence owner or new owner, the number K of option ARGVs,
 * those K (the rarer options, as name/value pairs: \`p\` producer id, \`pe\` its epoch, \`ps\` its
 * seq, \`w\` writer seq hex, \`from\` the owner a takeover is from, \`leased\` "1" when that owner
 * holds a lease, \`ep\` the only epoch appended to), the number N of create meta ARGVs (0: no create), those N, the number of
 * entries, then per entry its data and its key ("" for none, else "k" + the key), and last the
 * entries as the notification carries them, JSON made by the caller (\`,"d":[data…],"k":[key or
 * false…]\`; "" for none). A token's append thus takes few arguments: each costs the client and
 * Redis some work. The caller encodes the notification's entries because JSON made in the script
 * (cjson) was the costliest step of an append in Redis.
 *
 * An append that makes its log first publishes that it was made (`publish_made`), whatever it then
 * does.
 *
 * Replies `{status, ...}`: appended (epoch, first seq, tail, closed, stop, created, published: its
 * entries or its close were published, so this node's feed delivers them), duplicate
 * (last producer seq, epoch, tail, closed), missing, closed (epoch, tail), stale-epoch (epoch),
 * invalid-epoch-seq, sequence-gap (expected, received), writer-seq-conflict (hex), fenced
 * (owner or ""), conflict (head).
 */
export const APPEND_LUA = `${PRODUCER_CHECK_LUA}${PRELUDE}
local now = tonumber(ARGV[1])
local close = ARGV[5] == '1'
local fence, fence_owner = ARGV[6], ARGV[7]
local options = {}
local option_count = tonumber(ARGV[8])
for i = 9, 8 + option_count, 2 do options[ARGV[i]] = ARGV[i + 1] end
local create_at = 10 + option_count
local create_count = tonumber(ARGV[create_at - 1])
local at = create_at + create_count
local n = tonumber(ARGV[at])

local m = load(now, create_count > 0, create_count > 0)
local created = false
if not m then
  if create_count == 0 then return {'missing'} end
  m = create(pairs_at(create_at, create_count), now)
  -- Said now: the checks below may refuse the append and leave the log made, unannounced.
  publish_made(ARGV[3], ARGV[4])
  created = true
elseif create_count > 0 and m.cfg ~= field(pairs_at(create_at, create_count), 'cfg') then
  return {'conflict', head_reply(m, trim(m, now))}
elseif options.ep and options.ep ~= m.e and not shared_until(m, options.ep) then
  return {'missing'}
end
if create_count > 0 and not created then adopt_engine_retention(m) end

-- Every check before anything changes: a refused append leaves the log as it was.
if fence == 'owner' then
  if m.o ~= fence_owner then return {'fenced', m.o or ''} end
elseif fence == 'takeover' then
  if m.o ~= options.from or options.leased == '1' then return {'fenced', m.o or ''} end
end

local producer = nil
if options.p then
  local check = check_producer(redis.call('HGET', K_PROD, options.p), tonumber(options.pe), tonumber(options.ps))
  if check[1] == 'duplicate' then return {'duplicate', check[2], m.e, m.t, m.c or ''} end
  if check[1] ~= 'accepted' then return check end
  producer = options.pe .. ':' .. options.ps
end

if m.c == '1' then
  if n == 0 and close then return {'appended', m.e, str(tonumber(m.t) + 1), m.t, '1', m.st or '', '', ''} end
  return {'closed', m.e, m.t}
end

if options.w and m.w and not bytes_after(options.w, m.w) then return {'writer-seq-conflict', m.w} end

-- The keys this append may make, which need the log's expiry (the others have it).
local fresh = {}
if fence == 'takeover' then change(m, 'o', fence_owner) end
if options.w then change(m, 'w', options.w) end
if producer then
  redis.call('HSET', K_PROD, options.p, producer)
  fresh[#fresh + 1] = K_PROD
end

if n > 0 then
  local id, former_id = replication_ids()
  if id and m.r ~= id then
    if m.r and m.r == former_id then fork(m, id) else change(m, 'r', id) end
  end
end

local tail = tonumber(m.t)
local first = tail + 1
local time = str(now)
-- Only the first entry of an incarnation makes its stream.
if n > 0 and first == 1 then fresh[#fresh + 1] = K_STREAM end
local indexed = false
for i = 1, n do
  local seq = str(tail + i)
  local d, k = ARGV[at + 2 * i - 1], ARGV[at + 2 * i]
  if k == '' then
    redis.call('XADD', K_STREAM, seq .. '-0', 't', time, 'd', d)
  else
    local key = string.sub(k, 2)
    redis.call('XADD', K_STREAM, seq .. '-0', 't', time, 'd', d, 'k', key)
    index(key, seq)
    indexed = true
  end
end
if indexed then
  fresh[#fresh + 1] = K_FIRST
  fresh[#fresh + 1] = K_LAST
  fresh[#fresh + 1] = K_NEXT
end
if n > 0 then
  change(m, 't', str(tail + n))
  note_sizes(m, tail, n, at + 1)
end
if close then change(m, 'c', '1') end
trim(m, now)
touch(m, now)
expire_keys(m, now, fresh)
save()

-- Store and notify in the same atomic step: the entries travel with the notification, so a
-- watching node rarely needs a read.
local published = n > 0 or close
if published then
  redis.call(ARGV[3], ARGV[4], '{"o":"' .. ARGV[2] .. '","e":"' .. m.e .. '","f":' .. str(first) .. ',"t":' .. time
    .. ',"c":' .. (close and '1' or '0') .. ARGV[at + 2 * n + 1] .. '}')
end
return {'appended', m.e, str(first), m.t, m.c or '', m.st or '', created and '1' or '', published and '1' or ''}
`

/**
 * fork. ARGV: now. Moves a log last written under the master this Redis was promoted from to a
 * later epoch now, as its next append would (see `fork`). Replies 1 when it did, else 0.
 */
export const FORK_LUA = `${PRELUDE}
local m = load(tonumber(ARGV[1]), false)
-- A close is a log's last write: one that reached the replica lost nothing before it.
if not m or not m.r or m.c == '1' then return 0 end
local id, former_id = replication_ids()
if not id or m.r == id or m.r ~= former_id then return 0 end
fork(m, id)
save()
return 1
`

/**
 * read. ARGV: now, the epoch of the position read after ("" for START), its seq, the most
 * entries to return, "1" to slide a TTL ("" for a read that must not), the most bytes of data
 * to return ("" for no bound; ReadOptions.maxBytes, in the UTF-8 bytes stored). A position of a
 * former epoch up to where the current one continues it reads as the current epoch's. Replies
 * `{status}` for missing, other-epoch, ahead, trimmed, or `{"held", epoch, after seq, tail,
 * closed, entries}` with entries as XRANGE gives them.
 */
export const READ_LUA = `${PRELUDE}
local now = tonumber(ARGV[1])
local m = load(now, false)
if not m then return {'missing'} end
trim(m, now)
if ARGV[5] == '1' then
  touch(m, now)
  expire_keys(m, now, {})
  save_unless_full()
end
local tail = tonumber(m.t)
-- The position read after; for START, the floor, which the first entry read says: no entry is
-- loaded only to learn it (an entry loaded here costs Redis as much as one replied).
local after = nil
if ARGV[2] ~= '' then
  after = tonumber(ARGV[3])
  if ARGV[2] ~= m.e then
    local shared = shared_until(m, ARGV[2])
    if not shared or after > shared then return {'other-epoch'} end
  end
  if after > tail then return {'ahead'} end
end
local entries = {}
local limit, budget = tonumber(ARGV[4]), tonumber(ARGV[6])
local from = after and str(after + 1) .. '-0' or '-'
if (after or -1) < tail and not budget then
  entries = redis.call('XRANGE', K_STREAM, from, '+', 'COUNT', limit)
elseif (after or -1) < tail then
  -- Each page asks for no more entries than fit by the largest size those ahead may have (one
  -- where that is not known), so that the only entry loaded past the bound is one that ends
  -- the read. A node of an older version appends without noting sizes, so that bound may be
  -- short: a page is also no larger than the entries read so far plus ${FIRST_READ_PAGE}, so a read
  -- loads past its bound at most one such page (with a limit of 1000, unnoted 256 KiB entries
  -- were all loaded at once, 50 MiB for a 1 MiB read).
  local sizes, bytes, last, full = load_sizes(m), 0, after or 0, false
  while not full and #entries < limit and last < tail and bytes < budget do
    local bound = size_bound(sizes, last)
    local count = bound and math.max(1, math.floor((budget - bytes) / bound)) or 1
    count = math.min(count, #entries + ${FIRST_READ_PAGE}, limit - #entries)
    local page = redis.call('XRANGE', K_STREAM, from, '+', 'COUNT', count)
    if #page == 0 then break end
    for _, entry in ipairs(page) do
      local size = #field(entry[2], 'd')
      if #entries > 0 and bytes + size > budget then
        full = true
        break
      end
      entries[#entries + 1] = entry
      bytes = bytes + size
    end
    last = seq_of(entries[#entries][1])
    from = str(last + 1) .. '-0'
  end
end
-- Entries run from the floor to the tail with none missing (a trim drops the oldest): a first
-- entry past the successor of \`after\`, or none before the tail, means it was trimmed.
local first = entries[1] and seq_of(entries[1][1])
if not after then
  after = first and first - 1 or tail
elseif (first or tail + 1) ~= after + 1 and after < tail then
  return {'trimmed'}
end
return {'held', m.e, str(after), m.t, m.c or '', entries}
`

/** head. ARGV: now. Replies the head fields (see head_reply) or nil. Not a read: no touch. */
export const HEAD_LUA = `${PRELUDE}
local now = tonumber(ARGV[1])
local m = load(now, true)
if not m then return false end
return head_reply(m, trim(m, now))
`

/**
 * create. ARGV: now, publish command (PUBLISH or SPUBLISH), channel, the number N of meta ARGVs,
 * those N (field/value pairs). A log it makes says so on its channel (`publish_made`); one it
 * finds does not. Replies `{created | exists | conflict, head}`.
 */
export const CREATE_LUA = `${PRELUDE}
local now = tonumber(ARGV[1])
local fields = pairs_at(5, tonumber(ARGV[4]))
local m = load(now, true, true)
if not m then
  m = create(fields, now)
  publish_made(ARGV[2], ARGV[3])
  -- Made just now, it holds no entry: its floor is its tail.
  return {'created', head_reply(m, tonumber(m.t))}
end
adopt_engine_retention(m)
save()
local floor = trim(m, now)
if m.cfg == field(fields, 'cfg') then return {'exists', head_reply(m, floor)} end
return {'conflict', head_reply(m, floor)}
`

/** locate. ARGV: now, key. Replies `{epoch, seq}` of the oldest held entry with the key, or nil. */
export const LOCATE_LUA = `${PRELUDE}
local now = tonumber(ARGV[1])
local m = load(now, false)
if not m then return false end
trim(m, now)
local seq = redis.call('HGET', K_FIRST, ARGV[2])
if not seq then return false end
return {m.e, seq}
`

/**
 * requestStop. ARGV: now, the only epoch to mark ("" for any; as append's \`ep\`, a former epoch
 * the current one continues counts as it). Replies 1, or 0 when there is no such log (in that
 * epoch): then nothing is marked.
 */
export const STOP_LUA = `${PRELUDE}
local m = load(tonumber(ARGV[1]), false)
if not m then return 0 end
local ep = ARGV[2]
if ep ~= '' and ep ~= m.e and not shared_until(m, ep) then return 0 end
redis.call('HSET', K_META, 'st', '1')
return 1
`

/**
 * delete. ARGV: now, publish command, channel. Tells the log's watchers on every node that their
 * feed lost track (they re-read and find the log missing). Replies 1, or 0 when there was none.
 */
export const DELETE_LUA = `${PRELUDE}
local m = load(tonumber(ARGV[1]), false)
drop()
if not m then return 0 end
redis.call(ARGV[2], ARGV[3], '{"x":1}')
return 1
`
