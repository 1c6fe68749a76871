-- release(prefix, body_key, refs_key, n, key) drops n references of a body; at
-- zero it deletes the body, its count and its foreign-id index entry, and
-- returns 1. body_keys(prefix, k) names the body and count of key k; tally and
-- release_counts drop references in bulk (one server: every body in reach).
--
-- requires: fid_index

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
