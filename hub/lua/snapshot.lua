-- KEYS: owner, info, expiry, seq -> {seq, now, id, owner, info, expiry, ...}
local now = now_ms()
local out = {tonumber(redis.call('GET', KEYS[4]) or '0'), now}
local owners = redis.call('HGETALL', KEYS[1])
for i = 1, #owners, 2 do
  local id = owners[i]
  local info = redis.call('HGET', KEYS[2], id)
  if info then
    table.insert(out, id)
    table.insert(out, owners[i + 1])
    table.insert(out, info)
    table.insert(out, tonumber(redis.call('ZSCORE', KEYS[3], id) or '0'))
  end
end
return out
