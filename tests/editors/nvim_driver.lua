-- Drives a headless Neovim that loaded editors/nvim as its config: types like a user
-- (nvim_input), waits for the completion popup, accepts with the config's <Tab>, and
-- writes what it saw to $CODESHELL_TEST_OUT as JSON for test_nvim.py to judge.
--
-- Env: CODESHELL_TEST_MODEL (GGUF), CODESHELL_TEST_FILE (a Python file), CODESHELL_TEST_OUT.

local out = { steps = {} }
local buf
-- How long a popup may take (a cold real model on a busy machine takes longer).
local POPUP_MS = tonumber(vim.env.CODESHELL_TEST_POPUP_MS) or 15000

local function finish(err)
  out.error = err
  out.messages = vim.api.nvim_exec2('messages', { output = true }).output
  local f = assert(io.open(vim.env.CODESHELL_TEST_OUT, 'w'))
  f:write(vim.json.encode(out))
  f:close()
  vim.cmd('qa!')
end

local function lines()
  return vim.api.nvim_buf_get_lines(buf, 0, -1, true)
end

-- Polls `check` every 25 ms (the editor keeps running in between) until it returns a
-- value, then calls `next` with it; fails after `ms`.
local function poll(what, ms, check, next)
  local deadline = vim.uv.now() + ms
  local function tick()
    local ok, value = pcall(check)
    if not ok then
      return finish(what .. ': ' .. tostring(value))
    elseif value ~= nil then
      return next(value)
    elseif vim.uv.now() > deadline then
      return finish('timed out waiting for ' .. what)
    end
    vim.defer_fn(tick, 25)
  end
  vim.defer_fn(tick, 25)
end

local function popup_items()
  local info = vim.fn.complete_info({ 'pum_visible', 'items', 'selected' })
  if info.pum_visible == 1 and #info.items > 0 then
    return info
  end
end

-- Enter insert mode at the end of line `row` with `keys`, wait for the popup, accept it
-- with <Tab>, record everything under out.steps[name], then call `next`.
local function scenario(name, row, keys, next)
  local step = {}
  out.steps[name] = step
  vim.api.nvim_win_set_cursor(0, { row, 0 })
  step.before = lines()
  step.tick = vim.b[buf].changedtick
  vim.api.nvim_input(keys)
  poll(name .. ': the completion popup', POPUP_MS, popup_items, function(info)
    step.mode = vim.api.nvim_get_mode().mode
    step.typed = lines()
    step.popup = {}
    for _, it in ipairs(info.items) do
      table.insert(step.popup, { word = it.word, abbr = it.abbr, item = vim.tbl_get(it, 'user_data', 'nvim', 'lsp', 'completion_item') })
    end
    step.selected = info.selected
    local typed_tick = vim.b[buf].changedtick
    vim.api.nvim_input('<Tab>')
    poll(name .. ': the accepted text', 5000, function()
      if vim.fn.pumvisible() == 0 and vim.b[buf].changedtick ~= typed_tick then
        return true
      end
    end, function()
      step.after = lines()
      step.cursor = vim.api.nvim_win_get_cursor(0)
      vim.api.nvim_input('<Esc>')
      poll(name .. ': normal mode', 2000, function()
        return vim.api.nvim_get_mode().mode == 'n' or nil
      end, next)
    end)
  end)
end

-- Opens the test file and waits for the client (nil: gave up).
local function open_attached()
  vim.cmd.edit(vim.env.CODESHELL_TEST_FILE)
  buf = vim.api.nvim_get_current_buf()
  local client
  if not vim.wait(20000, function()
    client = vim.lsp.get_clients({ bufnr = buf, name = 'codeshell' })[1]
    return client ~= nil and client.initialized and vim.lsp.buf_is_attached(buf, client.id)
  end, 25) then
    finish('codeshell-lsp did not attach to ' .. vim.env.CODESHELL_TEST_FILE)
    return nil
  end
  return client
end

-- The same with the test model.
local function attach()
  vim.lsp.config('codeshell', {
    init_options = { model = { path = vim.env.CODESHELL_TEST_MODEL, threads = 1 }, completion = { maxTokens = 16 } },
  })
  return open_attached()
end

-- The README's setup as it is, no model setting anywhere: type `self.` at the end of
-- the file (the `.` asks by itself), wait for the popup, accept it with <Tab>.
local function bare()
  local client = open_attached()
  if not client then
    return
  end
  out.init_options = client.config.init_options
  out.encoding = client.offset_encoding
  scenario('bare', vim.api.nvim_buf_line_count(buf), 'A' .. vim.env.CODESHELL_TEST_TYPE, function()
    local stats = client:request_sync('codeshell/stats', {}, 5000, buf)
    out.stats = stats and stats.result
    finish(nil)
  end)
end

local function main()
  vim.o.showmode = false
  local client = attach()
  if not client then
    return
  end
  out.version = tostring(vim.version())
  out.encoding = client.offset_encoding
  out.init_options = client.config.init_options

  -- The server's own answer for the end of line 2, asked directly.
  local line = vim.api.nvim_buf_get_lines(buf, 1, 2, true)[1]
  local direct = client:request_sync('textDocument/completion', {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    position = { line = 1, character = vim.str_utfindex(line, client.offset_encoding) },
  }, 15000, buf)
  out.direct = direct and (direct.result or { error = direct.err })

  scenario('manual', 2, 'A<C-Space>', function()
    scenario('autotrigger', 4, 'A ', function()
      local stats = client:request_sync('codeshell/stats', {}, 5000, buf)
      out.stats = stats and stats.result
      finish(nil)
    end)
  end)
end

-- Typed before the server is up (its command sleeps first): the popup must come by itself.
local function early()
  vim.lsp.config('codeshell', {
    cmd = { vim.env.CODESHELL_TEST_SLOW_CMD, 'serve', '--stdio' },
    init_options = { model = { path = vim.env.CODESHELL_TEST_MODEL, threads = 1 }, completion = { maxTokens = 16 } },
  })
  vim.cmd.edit(vim.env.CODESHELL_TEST_FILE)
  buf = vim.api.nvim_get_current_buf()
  vim.api.nvim_win_set_cursor(0, { 4, 0 })
  vim.api.nvim_input('A ')
  poll('typed', 2000, function() return vim.api.nvim_get_mode().mode == 'i' or nil end, function()
    local client = vim.lsp.get_clients({ bufnr = buf, name = 'codeshell' })[1]
    out.typed_before_ready = not (client and client.initialized)
    out.typed = lines()
    poll('the popup after the server came up', 30000, popup_items, function(info)
      out.popup = {}
      for _, it in ipairs(info.items) do
        table.insert(out.popup, { word = it.word, item = vim.tbl_get(it, 'user_data', 'nvim', 'lsp', 'completion_item') })
      end
      finish(nil)
    end)
  end)
end

-- <M-Right> takes the next word of the suggestion, <M-C-Right> the next line.
local function partial()
  local client = attach()
  if not client then
    return
  end
  out.steps = {}
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.api.nvim_input('A<C-Space>')
  local function accept(keys, name, next)
    poll(name .. ': the popup', 15000, popup_items, function(info)
      local step = { name = name, before = lines(), popup = vim.tbl_get(info.items[1], 'user_data', 'nvim', 'lsp', 'completion_item') }
      table.insert(out.steps, step)
      local tick = vim.b[buf].changedtick
      vim.api.nvim_input(keys)
      poll(name .. ': the inserted part', 5000, function()
        return vim.b[buf].changedtick ~= tick and vim.api.nvim_get_mode().mode:sub(1, 1) == 'i' or nil
      end, function()
        vim.defer_fn(function()
          step.after = lines()
          next()
        end, 100)
      end)
    end)
  end
  accept('<M-Right>', 'word', function()
    accept('<M-C-Right>', 'line', function()
      vim.api.nvim_input('<Esc>')
      vim.defer_fn(function()
        local stats = client:request_sync('codeshell/stats', {}, 5000, buf)
        out.stats = stats and stats.result
        finish(nil)
      end, 300)
    end)
  end)
end

-- Polls codeshell/stats every 25 ms until `check(stats)` holds, then calls `next(stats)`.
local function stats_until(client, what, check, next)
  poll(what, POPUP_MS, function()
    local r = client:request_sync('codeshell/stats', {}, 5000, buf)
    return r and r.result and check(r.result) and r.result or nil
  end, next)
end

-- The file's project is the root the config finds (.git), with the settings a user puts
-- in vim.lsp.config ($CODESHELL_TEST_SETTINGS): once the server has indexed it, type at
-- the end of the file; the autotriggered request runs to the backend and back.
local function workspace()
  vim.lsp.config('codeshell', { init_options = vim.json.decode(vim.env.CODESHELL_TEST_SETTINGS) })
  local client = open_attached()
  if not client then
    return
  end
  out.workspace_folders = client.workspace_folders
  stats_until(client, 'the workspace indexed', function(s) return s.workspaceIndexed end, function()
    vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(buf), 0 })
    vim.api.nvim_input('A' .. vim.env.CODESHELL_TEST_TYPE)
    stats_until(client, 'a completion run by the backend', function(s) return s.tokensEvaluated > 0 end, function(s)
      out.typed = lines()
      out.stats = s
      finish(nil)
    end)
  end)
end

local scenarios = { early = early, partial = partial, bare = bare, workspace = workspace }
local ok, err = pcall(scenarios[vim.env.CODESHELL_TEST_SCENARIO or ''] or main)
if not ok then
  finish(tostring(err))
end
