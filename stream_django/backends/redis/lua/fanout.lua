-- Fan-out on one server, one batch of holders per call: every key is in
-- reach, so the condition on the source, the entries and the references
-- change together. (On a cluster the backend sends HOLDERS, BODY_REF, one
-- FLAT_ADD / GROUP_ADD per feed, then checks the source again.)
--
-- KEYS[1] the source's flat entries; ARGV: prefix, source feed id, min, max
-- (ZRANGEBYLEX bounds over the source's holders), limit, then a JSON spec
-- {"k": [keys], "s": {slug: ["f", max_length, slack] or ["a" / "n",
-- max_length, slack, [[group, actor] or false per key], activities per
-- group]}}. Writes the keys
-- the source still holds into those holders that follow it now, with the
-- source as origin; raises the references by the entries written and
-- releases those trimmed. Returns {the last holder read, how many were read}.
--
-- requires: find, flat_add, group_add, release, following

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
        group_add(P .. '{' .. m .. '}:', cfg[1] == 'n', cfg[2], cfg[3], cfg[5], t.keys, t.names, t.actors, t.origins, added, trimmed)
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
