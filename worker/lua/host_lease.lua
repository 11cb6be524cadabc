-- Renews a host-name lease if this supervisor holds it, else takes it if it is free.
-- KEYS: [1] the lease
-- ARGV: [1] this supervisor's instance id, [2] the lease's time to live in seconds
-- Returns 1 if held after the call, else 0.
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('expire', KEYS[1], ARGV[2])
end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
return 0
