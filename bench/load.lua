-- load.lua — the request mix of bench/load for wrk: what a county's users do
-- on a working day, as the three county-wide accounts load_setup.py made.
--   35 %  household page            GET /api/v1/households/:id (10 % of all as the
--                                   村级信息员, who sees full 身份证号: an audited read)
--   25 %  household search          GET /api/v1/households?… : a township's list (1/5),
--                                   a surname within a village (1/5), county-wide the
--                                   first two characters of a name, three pinyin
--                                   initials, a 身份证号's last 4 digits or a 户编号
--                                   (3/5; terms drawn from the district by load_setup.py)
--   10 %  a household's visits or timeline
--   15 %  visit written             POST /api/v1/households/:id/visits
--    5 %  case queue                GET /api/v1/cases?limit=20 (乡镇审核)
--   10 %  case action               POST /api/v1/cases/:id/advance (入户核查, 村级信息员)
--                                   or /return (信息比对, 乡镇审核): each thread owns
--                                   its share of the cases and keeps one action in
--                                   flight at a time, so an action always finds its
--                                   case at the step it expects; when one is in
--                                   flight a household page is sent instead
-- Run: wrk -t2 -c64 -d60s --latency -s bench/load.lua URL -- CONFIG.lua 2 (the -t count)
local cfg
local threads = {}
local nthreads = 1
local mine, step, inflight = {}, {}, nil
-- globals, read by done() through thread:get()
id = 1
counts = { page = 0, search = 0, sub = 0, visit = 0, queue = 0, case = 0 }
errors, samples = 0, {}


local function urlencode(s)
	return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function setup(thread)
	table.insert(threads, thread)
	thread:set("id", #threads)
end

function init(args)
	cfg = dofile(args[1])
	nthreads = tonumber(args[2]) or 2
	math.randomseed(id * 7919 + os.time())
	for i, c in ipairs(cfg.cases) do
		if (i - 1) % nthreads == id - 1 then
			table.insert(mine, c[1])
			step[c[1]] = c[2]
		end
	end
end

local function auth(tok, extra)
	local h = { ["Authorization"] = "Bearer " .. tok }
	if extra then
		h["Content-Type"] = "application/json"
	end
	return h
end

local function household()
	return math.random(cfg.hh_lo, cfg.hh_hi)
end

local next_case = 0

request = function()
	local r = math.random(100)
	if r <= 35 or (r > 90 and (inflight or #mine == 0)) then
		counts.page = counts.page + 1
		local tok = (r <= 10) and cfg.clerk or cfg.dept
		return wrk.format("GET", "/api/v1/households/" .. household(), auth(tok))
	elseif r <= 60 then
		counts.search = counts.search + 1
		local p, k = nil, math.random(10)
		if k <= 2 then -- a township's list
			p = "region=" .. cfg.towns[math.random(#cfg.towns)] .. "&limit=20"
		elseif k <= 4 then -- a surname within a village (a village cadre's search)
			p = "region=" .. cfg.villages[math.random(#cfg.villages)] .. "&q="
				.. urlencode(cfg.surnames[math.random(#cfg.surnames)]) .. "&limit=20"
		else -- a name's first two characters, initials, an ID tail or a 户编号, county-wide
			p = "q=" .. urlencode(cfg.terms[math.random(#cfg.terms)]) .. "&limit=20"
		end
		return wrk.format("GET", "/api/v1/households?" .. p, auth(cfg.dept))
	elseif r <= 70 then
		counts.sub = counts.sub + 1
		local what = (math.random(2) == 1) and "/visits" or "/timeline"
		return wrk.format("GET", "/api/v1/households/" .. household() .. what, auth(cfg.dept))
	elseif r <= 85 then
		counts.visit = counts.visit + 1
		return wrk.format("POST", "/api/v1/households/" .. household() .. "/visits",
			auth(cfg.clerk, true),
			'{"visit_date":"2025-06-01","note":"压力测试：入户走访，了解家庭收入和就业情况","risk_found":false}')
	elseif r <= 90 then
		counts.queue = counts.queue + 1
		return wrk.format("GET", "/api/v1/cases?limit=20", auth(cfg.reviewer))
	else
		counts.case = counts.case + 1
		next_case = next_case % #mine + 1
		local c = mine[next_case]
		inflight = c
		if step[c] == 1 then
			return wrk.format("POST", "/api/v1/cases/" .. c .. "/advance", auth(cfg.clerk, true),
				'{"note":"入户核查属实"}')
		end
		return wrk.format("POST", "/api/v1/cases/" .. c .. "/return", auth(cfg.reviewer, true),
			'{"reason":"请补充收入证明"}')
	end
end

response = function(status, headers, body)
	if status >= 400 then
		errors = errors + 1
		if #samples < 5 then
			table.insert(samples, status .. " " .. string.sub(body, 1, 200))
		end
	end
	if inflight and string.find(body, '"step_title"', 1, true) then
		local cid = tonumber(string.match(body, '^{"id":(%d+)'))
		if cid == inflight then
			if status == 200 then
				step[cid] = (step[cid] == 1) and 2 or 1
			end
			inflight = nil
		end
	elseif inflight and status >= 400 and string.find(body, "E_STEP_ROLE", 1, true) then
		inflight = nil
	end
end

function done(summary, latency, requests)
	local tot = { page = 0, search = 0, sub = 0, visit = 0, queue = 0, case = 0 }
	local errs = 0
	for _, t in ipairs(threads) do
		local c = t:get("counts")
		for k, v in pairs(c) do
			tot[k] = tot[k] + v
		end
		errs = errs + t:get("errors")
		for _, s in ipairs(t:get("samples")) do
			io.write("error sample: " .. s .. "\n")
		end
	end
	io.write(string.format("mix: %d pages, %d searches, %d visits/timelines, %d visits written, "
		.. "%d case queues, %d case actions; HTTP errors (4xx/5xx): %d\n",
		tot.page, tot.search, tot.sub, tot.visit, tot.queue, tot.case, errs))
end
