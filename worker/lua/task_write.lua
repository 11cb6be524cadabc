-- A flush of one job's task starts and ends, in one round trip (worker.task_writer).
-- KEYS: [1] run, [2] tasks, [3] order, [4] running, [5] throughput-second, [6] alive-workers,
--   [7] served, [8] ended-runs, [9] run-ends (a stream)
-- ARGV: [1] ttl_s, [2] now, [3] history_ttl_s, [4] first_started_at, [5] alive_ttl_s,
--   [6] worker, [7] `host|first|last` of this batch's ends (empty if none of them ran),
--   [8] run id, [9] how many starts follow, [10] the ends' facts as one JSON array of
--   [index, state, started_at, finished_at, cpu_s] (null for a time the task never had, or a
--   CPU time not measured), then (index, start_json) pairs, then each end's record_json, in the
--   order of its facts. The facts travel as one argument, not five per end: redis-py packs each
--   argument of a command in Python, a float through repr(), which costs the worker CPU.
-- Returns how many ends were new; -1 when the run does not exist (expired or unknown).
--
-- Starts: a task without an end yet is marked running, and the first start marks the run
-- started, noting how many workers were alive (the slots of a queued run).
-- Ends: first writer wins. The run's totals (`t_*`: timed tasks, sums and maxima of durations
-- and of CPU time, first start, last end) are kept as records land, so a summary never reads
-- the tasks. The first records of a run also mark it started, as a start would (starts are not
-- always written: see worker.recorder). The worker's first start and last end over the run
-- widen its span for the capacity (`contract.capacity`); the run's end puts it in the ended
-- set, for the reconcilers to finalize, and an entry in the run-ends stream, for the producers
-- that wait on it (`producer.wait`): once per run, so a flush costs the same.
-- The run's head, read once: its total, whether it started, the totals' kept maxima.
local head = redis.call('HMGET', KEYS[1], 'total', 'started_at', 't_max_d', 't_max_c',
  't_first', 't_last')
if not head[1] and redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local started = head[2]
-- Marks the run started at `at` unless it is already (HSETNX: the first writer's time stays).
local function mark_started(at)
  if started then return end
  started = at
  if redis.call('HSETNX', KEYS[1], 'started_at', at) == 1 then
    local alive = redis.call('ZCOUNT', KEYS[6], tonumber(ARGV[2]) - tonumber(ARGV[5]), '+inf')
    redis.call('HSET', KEYS[1], 'state', 'running', 'workers_at_start', alive)
  end
end
local starts_end = 11 + 2 * tonumber(ARGV[9])
if starts_end > 11 then
  for i = 11, starts_end - 1, 2 do
    if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then
      redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
    end
  end
  redis.call('EXPIRE', KEYS[4], ARGV[1])
  mark_started(ARGV[2])
end
local total = tonumber(head[1] or '0')
local added = 0
local timed, sum_d, sum_c, max_d, max_c, first, last = 0, 0, 0, nil, nil, nil, nil
local facts = cjson.decode(ARGV[10])
for k = 1, #facts do
  local fact = facts[k]
  local n = tonumber(fact[1])
  if n and n >= 0 and n < total and n == math.floor(n) then
    local index = string.format('%d', n)
    if redis.call('HSETNX', KEYS[2], index, ARGV[starts_end + k - 1]) == 1 then
      redis.call('RPUSH', KEYS[3], index)
      redis.call('HINCRBY', KEYS[1], 'n_' .. fact[2], 1)
      added = added + 1
      local b, e = tonumber(fact[3]), tonumber(fact[4])
      if b and e then
        local d = e - b
        local c = tonumber(fact[5]) or d
        timed, sum_d, sum_c = timed + 1, sum_d + d, sum_c + c
        if not max_d or d > max_d then max_d = d end
        if not max_c or c > max_c then max_c = c end
        if not first or b < first then first = b end
        if not last or e > last then last = e end
      end
    end
    redis.call('HDEL', KEYS[4], index)
  end
end
if timed > 0 then
  if head[3] and tonumber(head[3]) > max_d then max_d = tonumber(head[3]) end
  if head[4] and tonumber(head[4]) > max_c then max_c = tonumber(head[4]) end
  if head[5] and tonumber(head[5]) < first then first = tonumber(head[5]) end
  if head[6] and tonumber(head[6]) > last then last = tonumber(head[6]) end
  redis.call('HINCRBY', KEYS[1], 't_timed', timed)
  redis.call('HINCRBYFLOAT', KEYS[1], 't_sum_d', sum_d)
  redis.call('HINCRBYFLOAT', KEYS[1], 't_sum_c', sum_c)
  redis.call('HSET', KEYS[1], 't_max_d', string.format('%.17g', max_d),
    't_max_c', string.format('%.17g', max_c), 't_first', string.format('%.17g', first),
    't_last', string.format('%.17g', last))
end
local sent = #facts
if sent > added then
  redis.call('HINCRBY', KEYS[1], 'duplicates', sent - added)
end
if added > 0 then
  mark_started(ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[3], ARGV[1])
  redis.call('INCRBY', KEYS[5], added)
  redis.call('EXPIRE', KEYS[5], ARGV[3])
  if ARGV[7] ~= '' then
    local host, first, last = string.match(ARGV[7], '^(.*)|([^|]+)|([^|]+)$')
    local seen = redis.call('HGET', KEYS[7], ARGV[6])
    if seen then
      local _, f0, l0 = string.match(seen, '^(.*)|([^|]+)|([^|]+)$')
      if tonumber(f0) < tonumber(first) then first = f0 end
      if tonumber(l0) > tonumber(last) then last = l0 end
    end
    redis.call('HSET', KEYS[7], ARGV[6], host .. '|' .. first .. '|' .. last)
    redis.call('EXPIRE', KEYS[7], ARGV[1])
  end
  local done = redis.call('HINCRBY', KEYS[1], 'done', added)
  if done >= total then
    redis.call('HSET', KEYS[1], 'state', 'done', 'finished_at', ARGV[2])
    redis.call('SADD', KEYS[8], ARGV[8])
    redis.call('XADD', KEYS[9], 'MAXLEN', '~', 1000, '*', 'run', ARGV[8])  -- keys.STREAM_KEPT
  end
end
return added
