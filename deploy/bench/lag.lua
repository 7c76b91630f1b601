-- Redis script (EVAL, KEYS[1] the stream, ARGV[1] the group): how far the group is behind, as
-- {entries not yet delivered, entries delivered but not acknowledged, age in ms of the oldest of
-- either (0 when there is none)}. Stream ids start with their time in ms.
local group
local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])
if not ok then return {0, 0, 0} end
for _, g in ipairs(groups) do
  local f = {}
  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
  if f['name'] == ARGV[1] then group = f end
end
if not group then return {0, 0, 0} end
local function ms(id) return tonumber(string.match(id, '^(%d+)')) end
local oldest
local undelivered = 0
local after = group['last-delivered-id']
local next_entry = redis.call('XRANGE', KEYS[1], '(' .. after, '+', 'COUNT', 1)
if #next_entry > 0 then
  oldest = ms(next_entry[1][1])
  undelivered = tonumber(group['lag']) or -1
end
local summary = redis.call('XPENDING', KEYS[1], ARGV[1])
if summary[2] then
  local p = ms(summary[2])
  if not oldest or p < oldest then oldest = p end
end
local age = 0
if oldest then
  local t = redis.call('TIME')
  age = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - oldest
end
return {undelivered, tonumber(summary[1]), age}
