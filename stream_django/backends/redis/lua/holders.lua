-- KEYS[1] the source's flat entries; ARGV: the source's key base, min, max
-- (ZRANGEBYLEX bounds over its holders), limit, current ('1': only feeds that
-- follow it now), then keys. Returns {the keys the source holds, the holders
-- read (followers only, with current), the last holder read, how many were
-- read}. (Used on a cluster, where the holders' feeds are in other slots.)
--
-- requires: find, following

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
