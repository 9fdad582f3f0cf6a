-- GCRA over several counters, all or nothing.
-- KEYS[i]: counter i, holding its theoretical arrival time (TAT) in
-- microseconds of Redis's clock.
-- ARGV[1]: cost; ARGV[2]: "1" to give cost back instead of taking it;
-- ARGV[1+2i]: emission interval of counter i (us); ARGV[2+2i]: its
-- capacity, burst * interval (us).
-- Returns {allowed, refused (1-based, 0 for none), retry_after_us, now_us,
--          remaining_1, reset_us_1, ...}.
-- Times stay below 2^53 (exact in Lua's doubles): now is about 2^51 us and
-- a capacity at most 146 years.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local give = ARGV[2] == '1'
local n = #KEYS
local tats, news = {}, {}
local refused, retry = 0, 0
for i = 1, n do
  local interval = tonumber(ARGV[1 + 2 * i])
  local cap = tonumber(ARGV[2 + 2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  tats[i] = tat
  if give then
    news[i] = tat - cost * interval
  else
    local nxt = tat + cost * interval
    news[i] = nxt
    if nxt - now > cap and refused == 0 then
      refused = i
      retry = nxt - now - cap
    end
  end
end
local out = {refused == 0 and 1 or 0, refused, retry, now}
for i = 1, n do
  local interval = tonumber(ARGV[1 + 2 * i])
  local cap = tonumber(ARGV[2 + 2 * i])
  local tat = tats[i]
  if refused == 0 then
    tat = news[i]
    if tat <= now then
      redis.call('DEL', KEYS[i])
    else
      redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
    end
  end
  if tat < now then tat = now end
  out[#out + 1] = math.floor((cap - (tat - now)) / interval)
  out[#out + 1] = tat - now
end
return out
