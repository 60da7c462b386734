-- perf/api_mix.lua - wrk script: the read API's endpoint mix (perf/bench_api.sh).
-- Each request is the next line of $API_TARGETS ("PATH" or "PATH<TAB>TOKEN",
-- the same file build/api-load paces), starting at a random line per thread,
-- with "Authorization: Bearer TOKEN" when the line has one.
local paths, toks = {}, {}
for line in io.lines(os.getenv("API_TARGETS")) do
	local p, t = line:match("^([^\t]+)\t?(.*)$")
	if p then
		paths[#paths + 1] = p
		toks[#toks + 1] = t
	end
end
assert(#paths > 0, "no targets in " .. tostring(os.getenv("API_TARGETS")))
math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
local i = math.random(#paths)

request = function()
	i = i % #paths + 1
	if toks[i] ~= "" then
		return wrk.format("GET", paths[i], { ["Authorization"] = "Bearer " .. toks[i] })
	end
	return wrk.format("GET", paths[i])
end
