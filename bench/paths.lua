-- wrk script: each request takes the next path from the file given after
-- "--", starting at a random line per thread, so a run spreads over many
-- certificates instead of one hot row.
local paths = {}
local i = 0

function init(args)
	for line in io.lines(args[1]) do
		paths[#paths + 1] = line
	end
	i = math.random(#paths)
end

function request()
	i = i % #paths + 1
	return wrk.format("GET", paths[i])
end
