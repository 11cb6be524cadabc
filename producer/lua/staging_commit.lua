-- Queues a big run's staged jobs (producer.staging): every staged id goes onto the queue in
-- order, its job hash made permanent again (RQ keeps queued jobs without a TTL).
-- KEYS: [1] the staging list, [2] the queue
-- ARGV: [1] the job hash prefix
-- Returns how many jobs were queued.
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do
  redis.call('PERSIST', ARGV[1] .. id)
  redis.call('RPUSH', KEYS[2], id)
end
redis.call('DEL', KEYS[1])
return #ids
