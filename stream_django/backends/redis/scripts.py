"""
The Lua scripts of the Redis backend.

Each script touches the keys of ONE feed (or one activity body and its
foreign-id index), which share a hash tag and so one cluster slot; a script
runs atomically, so every write to a feed is all or nothing and readers
never see half of it. ``KEYS[1]`` is
the key the cluster routes by; the other keys of the same feed are derived
from the feed's key base (``ARGV[1]``, e.g. ``"sd:{user:1}:"``), which hashes
to the same slot.

Flat feed entries are members of a sorted set whose scores are all 0, so the
set is ordered by member bytes: a member is the activity's 31-character
storage key followed by the origin feed (empty for a direct entry). The
entries of one key are the members in ``[key, key .. "\\255")``: origins are
UTF-8, which never contains byte 255.

Scripts never read activity bodies: those live in other slots.
"""

from __future__ import annotations

import hashlib

#: Byte 255, the upper bound of every member that starts with a key.
_FIND = """
local function find(e, k)
  return redis.call('ZRANGEBYLEX', e, '[' .. k, '(' .. k .. '\\255', 'LIMIT', 0, 1)[1]
end
"""

_FLAT_ADD_FN = (
    _FIND
    + """
-- The members to write, with their lexical bounds, built once per batch.
local function flat_items(keys, origins)
  local items = {}
  for i, k in ipairs(keys) do
    items[i] = {k, '[' .. k, '(' .. k .. '\\255', k .. origins[i]}
  end
  return items
end

local function flat_add(e, maxlen, slack, items, added, trimmed)
  for _, it in ipairs(items) do
    if not redis.call('ZRANGEBYLEX', e, it[2], it[3], 'LIMIT', 0, 1)[1] then
      redis.call('ZADD', e, 0, it[4])
      added[#added + 1] = it[1]
    end
  end
  if maxlen > 0 then
    local n = redis.call('ZCARD', e)
    if n > maxlen + slack then
      local doomed = redis.call('ZRANGE', e, 0, n - maxlen - 1)
      redis.call('ZREMRANGEBYRANK', e, 0, n - maxlen - 1)
      for _, m in ipairs(doomed) do trimmed[#trimmed + 1] = string.sub(m, 1, 31) end
    end
  end
end
"""
)

#: KEYS[1] flat entries; ARGV: max_length (0 = unbounded), slack, then pairs
#: (key, origin). Returns {added keys, trimmed keys}.
FLAT_ADD = (
    _FLAT_ADD_FN
    + """
local keys, origins, added, trimmed = {}, {}, {}, {}
for i = 3, #ARGV, 2 do
  keys[#keys + 1] = ARGV[i]
  origins[#origins + 1] = ARGV[i + 1]
end
flat_add(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), flat_items(keys, origins), added, trimmed)
return {added, trimmed}
"""
)

#: KEYS[1] flat entries; ARGV: restrict ('1': only entries whose origin is
#: listed), n origins, the origins, then keys. Returns the removed keys.
FLAT_REMOVE = (
    _FIND
    + """
local e = KEYS[1]
local restrict = ARGV[1] == '1'
local norig = tonumber(ARGV[2])
local allowed = {}
for i = 3, 2 + norig do allowed[ARGV[i]] = true end
local removed = {}
for i = 3 + norig, #ARGV do
  local k = ARGV[i]
  local m = find(e, k)
  if m and (not restrict or allowed[string.sub(m, 32)]) then
    redis.call('ZREM', e, m)
    removed[#removed + 1] = k
  end
end
return removed
"""
)

#: KEYS[1] flat entries; ARGV: origin, then optionally the origin's
#: followers zset and this feed's id: nothing happens while the feed is
#: among them (a purge overtaken by a new follow). Removes every entry that
#: came from that origin (unfollow); O(feed), and feeds are bounded by
#: max_length. Returns the removed keys.
FLAT_PURGE = """
local e, origin = KEYS[1], ARGV[1]
if ARGV[2] and redis.call('ZSCORE', ARGV[2], ARGV[3]) then return {} end
local removed = {}
for _, m in ipairs(redis.call('ZRANGE', e, 0, -1)) do
  if string.sub(m, 32) == origin then
    redis.call('ZREM', e, m)
    removed[#removed + 1] = string.sub(m, 1, 31)
  end
end
return removed
"""

#: KEYS[1] flat entries; ARGV keys. Returns {key, origin} pairs of the keys held.
FLAT_FIND = (
    _FIND
    + """
local found = {}
for i = 1, #ARGV do
  local m = find(KEYS[1], ARGV[i])
  if m then
    found[#found + 1] = ARGV[i]
    found[#found + 1] = string.sub(m, 32)
  end
end
return found
"""
)

# -- aggregated and notification feeds -------------------------------------
#
# With base B (``sd:{timeline_aggregated:1}:``):
#   B.g            zset, scores 0: latest key .. group name (groups by recency)
#   B.ge:<group>   zset, scores 0: the activity keys of a group
#   B.ga:<group>   hash actor -> number of the group's activities by that actor
#   B.gc           hash group -> key of the activity that created the group
#   B.x            hash key -> JSON [group, actor, origin] (membership index)
#   B.us, B.ur     sets of unseen / unread group names (notification feeds)

_GROUP_REMOVE_FN = """
local function drop_group(B, name, latest)
  redis.call('ZREM', B .. 'g', latest .. name)
  redis.call('DEL', B .. 'ge:' .. name, B .. 'ga:' .. name)
  redis.call('HDEL', B .. 'gc', name)
  redis.call('SREM', B .. 'us', name)
  redis.call('SREM', B .. 'ur', name)
end

local function remove_key(B, k, allowed)
  local v = redis.call('HGET', B .. 'x', k)
  if not v then return false end
  local t = cjson.decode(v)
  local name, actor, origin = t[1], t[2], t[3]
  if allowed and not allowed[origin] then return false end
  redis.call('HDEL', B .. 'x', k)
  local ge, ga = B .. 'ge:' .. name, B .. 'ga:' .. name
  local latest = redis.call('ZREVRANGE', ge, 0, 0)[1]
  redis.call('ZREM', ge, k)
  if redis.call('HINCRBY', ga, actor, -1) <= 0 then redis.call('HDEL', ga, actor) end
  local newest = redis.call('ZREVRANGE', ge, 0, 0)[1]
  if not newest then
    drop_group(B, name, latest)
  elseif newest ~= latest then
    redis.call('ZREM', B .. 'g', latest .. name)
    redis.call('ZADD', B .. 'g', 0, newest .. name)
  end
  return true
end
"""

_GROUP_ADD_FN = (
    _GROUP_REMOVE_FN
    + """
local function group_add(B, notify, maxlen, slack, keys, names, actors, origins, added, trimmed)
  local g = B .. 'g'
  for i, k in ipairs(keys) do
    local name, actor = names[i], actors[i]
    if redis.call('HSETNX', B .. 'x', k, cjson.encode({name, actor, origins[i]})) == 1 then
      local ge = B .. 'ge:' .. name
      local latest = redis.call('ZREVRANGE', ge, 0, 0)[1]
      redis.call('ZADD', ge, 0, k)
      if not latest then
        redis.call('HSET', B .. 'gc', name, k)
        redis.call('ZADD', g, 0, k .. name)
      elseif k > latest then
        redis.call('ZREM', g, latest .. name)
        redis.call('ZADD', g, 0, k .. name)
      end
      redis.call('HINCRBY', B .. 'ga:' .. name, actor, 1)
      if notify then
        redis.call('SADD', B .. 'us', name)
        redis.call('SADD', B .. 'ur', name)
      end
      added[#added + 1] = k
    end
  end
  if maxlen > 0 then
    local n = redis.call('ZCARD', g)
    if n > maxlen + slack then
      for _, m in ipairs(redis.call('ZRANGE', g, 0, n - maxlen - 1)) do
        local name = string.sub(m, 32)
        for _, k in ipairs(redis.call('ZRANGE', B .. 'ge:' .. name, 0, -1)) do
          redis.call('HDEL', B .. 'x', k)
          trimmed[#trimmed + 1] = k
        end
        drop_group(B, name, string.sub(m, 1, 31))
      end
    end
  end
end
"""
)

#: KEYS[1] B.g; ARGV: B, notification ('1'/'0'), max groups (0 = unbounded),
#: slack, then quads (key, group, actor, origin). Returns {added, trimmed}.
GROUP_ADD = (
    _GROUP_ADD_FN
    + """
local keys, names, actors, origins, added, trimmed = {}, {}, {}, {}, {}, {}
for i = 5, #ARGV, 4 do
  keys[#keys + 1], names[#names + 1] = ARGV[i], ARGV[i + 1]
  actors[#actors + 1], origins[#origins + 1] = ARGV[i + 2], ARGV[i + 3]
end
group_add(ARGV[1], ARGV[2] == '1', tonumber(ARGV[3]), tonumber(ARGV[4]), keys, names, actors, origins, added, trimmed)
return {added, trimmed}
"""
)

#: KEYS[1] B.g; ARGV: B, restrict, n origins, origins, keys. Returns removed keys.
GROUP_REMOVE = (
    _GROUP_REMOVE_FN
    + """
local B = ARGV[1]
local norig = tonumber(ARGV[3])
local allowed = nil
if ARGV[2] == '1' then
  allowed = {}
  for i = 4, 3 + norig do allowed[ARGV[i]] = true end
end
local removed = {}
for i = 4 + norig, #ARGV do
  if remove_key(B, ARGV[i], allowed) then removed[#removed + 1] = ARGV[i] end
end
return removed
"""
)

#: KEYS[1] B.g; ARGV: B, origin, then optionally the origin's followers
#: zset and this feed's id (as FLAT_PURGE). Removes the entries that came
#: from origin.
GROUP_PURGE = (
    _GROUP_REMOVE_FN
    + """
local B, origin = ARGV[1], ARGV[2]
if ARGV[3] and redis.call('ZSCORE', ARGV[3], ARGV[4]) then return {} end
local doomed = {}
local all = redis.call('HGETALL', B .. 'x')
for i = 1, #all, 2 do
  if cjson.decode(all[i + 1])[3] == origin then doomed[#doomed + 1] = all[i] end
end
local only = {[origin] = true}
local removed = {}
for _, k in ipairs(doomed) do
  if remove_key(B, k, only) then removed[#removed + 1] = k end
end
return removed
"""
)

#: KEYS[1] B.g; ARGV: B, keys. Returns {key, origin} pairs of the keys held.
GROUP_FIND = """
local B = ARGV[1]
local found = {}
for i = 2, #ARGV do
  local v = redis.call('HGET', B .. 'x', ARGV[i])
  if v then
    found[#found + 1] = ARGV[i]
    found[#found + 1] = cjson.decode(v)[3]
  end
end
return found
"""

#: KEYS[1] B.g; ARGV: B, max, min (ZREVRANGEBYLEX bounds), offset, limit,
#: activities per group, notification, mark_seen mode, n, names...,
#: mark_read mode, n, names... (mode: '0' none, 'a' all, 'l' the names).
#: Returns {unseen, unread, {name, latest, created, count, actors, seen,
#: read, {key, origin, ...}}...}; marks apply after the page is read.
GROUP_READ = """
local B, g = ARGV[1], KEYS[1]
local offset, limit, per = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local notify = ARGV[7] == '1'
local us, ur = B .. 'us', B .. 'ur'
local out = {0, 0}
if notify then
  out[1] = redis.call('SCARD', us)
  out[2] = redis.call('SCARD', ur)
end
if limit > 0 then
  local members = redis.call('ZREVRANGEBYLEX', g, ARGV[2], ARGV[3], 'LIMIT', offset, limit)
  for _, m in ipairs(members) do
    local name = string.sub(m, 32)
    local ge = B .. 'ge:' .. name
    local keys = redis.call('ZREVRANGE', ge, 0, per - 1)
    local entries = {}
    if #keys > 0 then
      local meta = redis.call('HMGET', B .. 'x', unpack(keys))
      for j, k in ipairs(keys) do
        entries[#entries + 1] = k
        entries[#entries + 1] = meta[j] and cjson.decode(meta[j])[3] or ''
      end
    end
    local seen, read = 0, 0
    if notify then
      seen = 1 - redis.call('SISMEMBER', us, name)
      read = 1 - redis.call('SISMEMBER', ur, name)
    end
    out[#out + 1] = {
      name, string.sub(m, 1, 31), redis.call('HGET', B .. 'gc', name) or string.sub(m, 1, 31),
      redis.call('ZCARD', ge), redis.call('HLEN', B .. 'ga:' .. name), seen, read, entries
    }
  end
end
if notify then
  local i = 8
  for _, set in ipairs({us, ur}) do
    local mode, n = ARGV[i], tonumber(ARGV[i + 1])
    if mode == 'a' then
      redis.call('DEL', set)
    elseif mode == 'l' and n > 0 then
      redis.call('SREM', set, unpack(ARGV, i + 2, i + 1 + n))
    end
    i = i + 2 + n
  end
end
return out
"""

# -- follows ----------------------------------------------------------------
#
# B.fr  zset follower feed -> created (microseconds), on the followed feed
# B.frc hash follower slug -> count
# B.fk  zset feeds that unfollowed with keep_history -> when (microseconds)
# B.fl  zset, scores 0: the feeds that may hold entries from this feed (its
#       followers and those in B.fk), ordered by feed id: fan-out and
#       removal chunks cover ranges of it
# B.fg  zset followed feed -> created (microseconds), on the following feed
# B.fgc hash followed slug -> count
#
# Scores grow strictly within a set (a new member scores above the highest),
# so listings keep the order of the follows.

_NEXT_SCORE = """
local function next_score(z, now)
  local last = redis.call('ZREVRANGE', z, 0, 0, 'WITHSCORES')[2]
  if last and tonumber(last) >= now then return tonumber(last) + 1 end
  return now
end
"""

#: KEYS[1] the zset; ARGV: counts hash, kept zset and holders zset ('' on
#: the following side), now (µs), then feeds. A follower leaves the kept set.
FOLLOW_ADD = (
    _NEXT_SCORE
    + """
local z, counts, kept, holders = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local now = next_score(z, tonumber(ARGV[4]))
local added = 0
for i = 5, #ARGV do
  local f = ARGV[i]
  if not redis.call('ZSCORE', z, f) then
    redis.call('ZADD', z, string.format('%.0f', now), f)
    redis.call('HINCRBY', counts, string.match(f, '^[^:]*'), 1)
    now = now + 1
    added = added + 1
  end
  if kept ~= '' then
    redis.call('ZREM', kept, f)
    redis.call('ZADD', holders, 0, f)
  end
end
return added
"""
)

#: KEYS[1] the zset; ARGV: counts hash, kept zset and holders zset ('' on
#: the following side), keep history ('1'/'0'), now (µs), then feeds. A
#: follower that keeps its history joins the kept set and stays among the
#: holders (removals still reach its copies).
FOLLOW_REMOVE = (
    _NEXT_SCORE
    + """
local z, counts, kept, holders, keep = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1'
local removed = 0
for i = 6, #ARGV do
  local f = ARGV[i]
  if redis.call('ZREM', z, f) == 1 then
    local slug = string.match(f, '^[^:]*')
    if redis.call('HINCRBY', counts, slug, -1) <= 0 then redis.call('HDEL', counts, slug) end
    removed = removed + 1
    if kept ~= '' and keep then
      redis.call('ZADD', kept, string.format('%.0f', next_score(kept, tonumber(ARGV[5]))), f)
    end
  end
  if kept ~= '' and not keep then
    redis.call('ZREM', kept, f)
    redis.call('ZREM', holders, f)
  end
end
return removed
"""
)

_FOLLOWING_FN = """
local function following(z, members)
  local out = {}
  for i = 1, #members, 1000 do
    local scores = redis.call('ZMSCORE', z, unpack(members, i, math.min(i + 999, #members)))
    for j = 1, #scores do out[i + j - 1] = scores[j] end
  end
  return out
end
"""

#: KEYS[1] the holders zset; ARGV: size. Returns the members at positions
#: size, 2 * size, ... (1-based), stopping before the last member.
HOLDER_MARKS = """
local n = redis.call('ZCARD', KEYS[1])
local size = tonumber(ARGV[1])
local marks = {}
for p = size, n - 1, size do
  marks[#marks + 1] = redis.call('ZRANGE', KEYS[1], p - 1, p - 1)[1]
end
return marks
"""

#: KEYS[1] the source's flat entries; ARGV: the source's key base, min, max
#: (ZRANGEBYLEX bounds over its holders), limit, current ('1': only feeds
#: that follow it now), then keys. Returns {the keys the source holds, the
#: holders read (followers only, with current), the last holder read, how
#: many were read}. (Used on a cluster, where the holders' feeds are in
#: other slots.)
HOLDERS = (
    _FIND
    + _FOLLOWING_FN
    + """
local SB = ARGV[1]
local held = {}
for i = 6, #ARGV do
  if find(KEYS[1], ARGV[i]) then held[#held + 1] = ARGV[i] end
end
local members = redis.call('ZRANGEBYLEX', SB .. 'fl', ARGV[2], ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
local out = members
if ARGV[5] == '1' and #members > 0 then
  out = {}
  local now = following(SB .. 'fr', members)
  for j, m in ipairs(members) do
    if now[j] then out[#out + 1] = m end
  end
end
return {held, out, members[#members] or '', #members}
"""
)

# -- activity bodies ----------------------------------------------------------
#
# P.a:<time and clock sequence>{<node>}  string: the activity's JSON
# P.n:<time and clock sequence>{<node>}  string: how many feed entries
#     reference the body (never below the true number: raised before entries
#     are written, lowered after they are deleted)
# P.f:{<node>}<foreign id>  string: the keys with that foreign id, separated
#     by spaces (usually one)
# The node (last 12 hex digits of a key) is a hash of the foreign id, so a
# body, its reference count and its foreign-id index share a hash tag, a
# slot, and one script.

_FID_INDEX = """
local function fid_index(prefix, body, fid)
  return prefix .. 'f:' .. string.match(body, '{[^}]*}') .. fid
end
"""

#: KEYS[1] body, KEYS[2] references; ARGV: json, foreign id, references to
#: add, prefix, key.
BODY_PUT = (
    _FID_INDEX
    + """
redis.call('SET', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then
  local index = fid_index(ARGV[4], KEYS[1], ARGV[2])
  local held = redis.call('GET', index)
  if not held then
    redis.call('SET', index, ARGV[5])
  elseif not string.find(' ' .. held .. ' ', ' ' .. ARGV[5] .. ' ', 1, true) then
    redis.call('SET', index, held .. ' ' .. ARGV[5])
  end
end
return redis.call('INCRBY', KEYS[2], tonumber(ARGV[3]))
"""
)

#: KEYS[1] body, KEYS[2] references; ARGV: references to add. Returns 1 if
#: the body exists.
BODY_REF = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('INCRBY', KEYS[2], tonumber(ARGV[1]))
return 1
"""

_RELEASE_FN = (
    _FID_INDEX
    + """
local function release(prefix, body_key, refs_key, n, key)
  if redis.call('EXISTS', refs_key) == 0 then return 0 end
  if redis.call('DECRBY', refs_key, n) > 0 then return 0 end
  local body = redis.call('GET', body_key)
  redis.call('DEL', body_key, refs_key)
  local fid = body and cjson.decode(body)['foreign_id']
  if type(fid) == 'string' and fid ~= '' then
    local index = fid_index(prefix, body_key, fid)
    local kept = {}
    for k in string.gmatch(redis.call('GET', index) or '', '%S+') do
      if k ~= key then kept[#kept + 1] = k end
    end
    if #kept == 0 then redis.call('DEL', index) else redis.call('SET', index, table.concat(kept, ' ')) end
  end
  return 1
end

local function body_keys(prefix, k)
  local tail = string.sub(k, 1, 19) .. '{' .. string.sub(k, 20) .. '}'
  return prefix .. 'a:' .. tail, prefix .. 'n:' .. tail
end

-- {key: how many times it occurs in keys}
local function tally(keys)
  local counts = {}
  for _, k in ipairs(keys) do counts[k] = (counts[k] or 0) + 1 end
  return counts
end

-- Drop n references of each key of counts (one server: bodies in reach).
local function release_counts(prefix, counts)
  for k, n in pairs(counts) do
    local body, refs = body_keys(prefix, k)
    release(prefix, body, refs, n, k)
  end
end
"""
)

#: KEYS[1] body, KEYS[2] references; ARGV: references to drop, prefix, key.
#: At zero, deletes the body, its count and its foreign-id index entry;
#: returns 1 when it did.
BODY_RELEASE = (
    _RELEASE_FN
    + """
return release(ARGV[2], KEYS[1], KEYS[2], tonumber(ARGV[1]), ARGV[3])
"""
)

# -- fan-out on one server ----------------------------------------------------
#
# On one server every key is reachable from one script, so a chunk of
# follower feeds is written (or cleaned) by one call: the condition on the
# source feed, the entries and the reference counts change together. (On a
# cluster, feeds live in different slots: the backend sends HOLDERS, then one
# FLAT_ADD / GROUP_ADD per feed, then checks the source again.)

#: KEYS[1] the source's flat entries; ARGV: prefix, source feed id, min, max
#: (ZRANGEBYLEX bounds over the source's holders), limit, then a JSON spec
#: {"k": [keys], "s": {slug: ["f", max_length, slack] or ["a" / "n",
#: max_length, slack, [[group, actor] or false per key]]}}. Writes the keys
#: the source still holds into those holders that follow it now, with the
#: source as origin; raises the references by the entries written and
#: releases those trimmed. Returns {the last holder read, how many were read}.
FANOUT = (
    _FLAT_ADD_FN
    + _GROUP_ADD_FN
    + _RELEASE_FN
    + _FOLLOWING_FN
    + """
local P, S = ARGV[1], ARGV[2]
local SB = P .. '{' .. S .. '}:'
local spec = cjson.decode(ARGV[6])
local held = {}
for i, k in ipairs(spec.k) do
  if find(KEYS[1], k) then held[#held + 1] = i end
end
local members = redis.call('ZRANGEBYLEX', SB .. 'fl', ARGV[3], ARGV[4], 'LIMIT', 0, tonumber(ARGV[5]))
if #held > 0 then
  local per_slug = {}
  for slug, cfg in pairs(spec.s) do
    local t = {cfg = cfg, keys = {}, names = {}, actors = {}, origins = {}}
    for _, i in ipairs(held) do
      local named = cfg[4] and cfg[4][i]
      if cfg[1] == 'f' or type(named) == 'table' then
        t.keys[#t.keys + 1] = spec.k[i]
        t.origins[#t.origins + 1] = S
        if named then
          t.names[#t.names + 1] = named[1]
          t.actors[#t.actors + 1] = named[2]
        end
      end
    end
    if cfg[1] == 'f' then t.items = flat_items(t.keys, t.origins) end
    per_slug[slug] = t
  end
  local now = following(SB .. 'fr', members)
  local added, trimmed = {}, {}
  for j, m in ipairs(members) do
    local t = per_slug[string.match(m, '^[^:]*')]
    if t and #t.keys > 0 and now[j] then
      local cfg = t.cfg
      if cfg[1] == 'f' then
        flat_add(P .. '{' .. m .. '}:e', cfg[2], cfg[3], t.items, added, trimmed)
      else
        group_add(P .. '{' .. m .. '}:', cfg[1] == 'n', cfg[2], cfg[3], t.keys, t.names, t.actors, t.origins, added, trimmed)
      end
    end
  end
  for k, n in pairs(tally(added)) do
    local _, refs = body_keys(P, k)
    redis.call('INCRBY', refs, n)
  end
  release_counts(P, tally(trimmed))
end
return {members[#members] or '', #members}
"""
)

#: KEYS[1] the source's flat entries; ARGV: prefix, source feed id, min, max
#: (ZRANGEBYLEX bounds over the source's holders), limit, a JSON object
#: {slug: "f" / "a" / "n"}, then keys. Removes the keys the source no longer
#: holds from those holders, where the source is their origin, and releases
#: their references. Returns {the last holder read, how many were read}.
UNFAN = (
    _FIND
    + _GROUP_REMOVE_FN
    + _RELEASE_FN
    + """
local P, S = ARGV[1], ARGV[2]
local SB = P .. '{' .. S .. '}:'
local kinds = cjson.decode(ARGV[6])
local gone = {}
for i = 7, #ARGV do
  if not find(KEYS[1], ARGV[i]) then gone[#gone + 1] = ARGV[i] end
end
local members = redis.call('ZRANGEBYLEX', SB .. 'fl', ARGV[3], ARGV[4], 'LIMIT', 0, tonumber(ARGV[5]))
if #gone > 0 then
  local only = {[S] = true}
  local counts = {}
  for _, m in ipairs(members) do
    local kind = kinds[string.match(m, '^[^:]*')]
    if kind then
      local B = P .. '{' .. m .. '}:'
      for _, k in ipairs(gone) do
        local hit
        if kind == 'f' then
          hit = redis.call('ZREM', B .. 'e', k .. S) == 1
        else
          hit = remove_key(B, k, only)
        end
        if hit then counts[k] = (counts[k] or 0) + 1 end
      end
    end
  end
  release_counts(P, counts)
end
return {members[#members] or '', #members}
"""
)

#: KEYS[1] body; ARGV: json. Replaces the data of an existing body; 1 if it existed.
BODY_REPLACE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""

SCRIPTS: dict[str, str] = {
    name: source
    for name, source in globals().items()
    if name.isupper() and not name.startswith("_") and isinstance(source, str)
}
#: SHA1 of each script, as EVALSHA names it (computed here: no SCRIPT LOAD
#: round trip until a server answers NOSCRIPT).
SHAS: dict[str, str] = {name: hashlib.sha1(source.encode("utf-8")).hexdigest() for name, source in SCRIPTS.items()}
