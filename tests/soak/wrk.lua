-- wrk script of the soak: each thread reads the list of paths (pages,
-- parts and .eml of delivered messages, one a line) given after --, walks
-- it from a random place, and counts the answers by status; done() prints
-- "status CODE COUNT" lines and the latency percentiles in microseconds.
local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	paths = {}
	for line in io.lines(args[1]) do
		paths[#paths + 1] = line
	end
	i = math.random(#paths)
	codes = {}
end

function request()
	i = i % #paths + 1
	return wrk.format("GET", paths[i])
end

function response(status, headers, body)
	codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
	local all = {}
	for _, t in ipairs(threads) do
		for k, v in pairs(t:get("codes")) do
			all[k] = (all[k] or 0) + v
		end
	end
	for k, v in pairs(all) do
		io.write(string.format("status %d %d\n", k, v))
	end
	io.write(string.format("requests %d\nerrors %d %d %d %d %d\n",
		summary.requests, summary.errors.connect, summary.errors.read,
		summary.errors.write, summary.errors.status,
		summary.errors.timeout))
	io.write(string.format("p50_us %d\np99_us %d\n",
		latency:percentile(50), latency:percentile(99)))
end
