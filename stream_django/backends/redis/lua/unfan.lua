-- Removal from a batch of holders on one server, as FANOUT writes them.
--
-- KEYS[1] the source's flat entries; ARGV: prefix, source feed id, min, max
-- (ZRANGEBYLEX bounds over the source's holders), limit, a JSON object
-- {slug: "f" / "a" / "n"}, then keys. Removes the keys the source no longer
-- holds from those holders, where the source is their origin, and releases
-- their references. Returns {the last holder read, how many were read}.
--
-- requires: find, group_remove, release

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
