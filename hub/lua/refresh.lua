-- KEYS: owner, info, expiry, seq.  ARGV: hub, ttl_ms, presence channel, then id, info_json pairs.
-- Extends this hub's claims, re-claims ids that expired and were swept, returns the
-- ids now held by another hub.
local now = now_ms()
local ttl = tonumber(ARGV[2])
local lost = {}
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  local owner = redis.call('HGET', KEYS[1], id)
  if owner == ARGV[1] then
    redis.call('ZADD', KEYS[3], now + ttl, id)
  else
    local free = not owner
    if owner then
      local exp = tonumber(redis.call('ZSCORE', KEYS[3], id) or '0')
      if exp <= now then
        local s = redis.call('INCR', KEYS[4])
        redis.call('PUBLISH', ARGV[3], s .. '|L|' .. owner .. '|' .. id)
        free = true
      end
    end
    if free then
      redis.call('HSET', KEYS[1], id, ARGV[1])
      redis.call('HSET', KEYS[2], id, ARGV[i + 1])
      redis.call('ZADD', KEYS[3], now + ttl, id)
      local s = redis.call('INCR', KEYS[4])
      redis.call('PUBLISH', ARGV[3], s .. '|J|' .. ARGV[1] .. '|' .. ARGV[i + 1])
    else
      table.insert(lost, id)
    end
  end
end
return lost
