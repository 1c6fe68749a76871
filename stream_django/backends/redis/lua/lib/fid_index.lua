-- fid_index(prefix, body, fid): the foreign-id index key of fid, in the slot of
-- the body key body (the node digits of an activity key hash its foreign id).

local function fid_index(prefix, body, fid)
  return prefix .. 'f:' .. string.match(body, '{[^}]*}') .. fid
end
