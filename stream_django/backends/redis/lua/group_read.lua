-- KEYS[1] B.g; ARGV: B, max, min (ZREVRANGEBYLEX bounds), offset, limit,
-- activities per group, notification, mark_seen mode, n, names...,
-- mark_read mode, n, names... (mode: '0' none, 'a' all, 'l' the names).
-- Returns {unseen, unread, {name, latest, created, count, actors, seen,
-- read, {key, origin, ...}}...}; marks apply after the page is read.

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
      tonumber(redis.call('HGET', B .. 'gn', name) or redis.call('ZCARD', ge)), redis.call('HLEN', B .. 'ga:' .. name),
      seen, read, entries
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
