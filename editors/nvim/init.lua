-- codeshell-lsp in Neovim: AI completion from a local CodeShell GGUF model.
--
-- Paste this into your init.lua and put lsp/codeshell.lua (next to this file) into
-- ~/.config/nvim/lsp/. Or try the folder as a whole config without touching yours:
--   ln -s "$PWD/editors/nvim" ~/.config/codeshell && NVIM_APPNAME=codeshell nvim file.py
--
-- Neovim 0.11: suggestions come through the completion popup (vim.lsp.completion),
-- asked for automatically after . ( space and newline, or with <C-Space>;
-- <Tab> accepts the selected one, <M-Right> only its next word, <M-C-Right> its next line.
-- Typed while the server was still starting or loading its model: the popup comes by
-- itself once the model is ready.
-- Neovim 0.12+: suggestions are ghost text (vim.lsp.inline_completion) instead;
-- <Tab> accepts, <M-]> / <M-[> cycle. Only one of the two is switched on: the server
-- runs one completion per document, and a newer request supersedes the older, so
-- asking for both on each keystroke would make them cancel each other.

-- Another model in Neovim only (else $CODESHELL_LSP_MODEL, else the user config's, as
-- `codeshell-lsp models install gemma --default` wrote it, else the embedded model):
-- vim.lsp.config('codeshell', {
--   init_options = { model = { path = vim.fn.expand('~/models/codeshell-7b-chat-q4_0.gguf') } },
-- })

vim.lsp.enable('codeshell')

vim.opt.completeopt = { 'menuone', 'noinsert', 'popup' }

-- The suggestion on screen per buffer: { text = as first shown, done = bytes of it
-- inserted by partial accepts }. Acceptance statistics go to the local server only
-- (codeshell/stats counts them); nothing leaves the machine.
local showing = {}

-- The suggestion a popup item carries, after what is typed already (nil: not ours).
local function suggestion(client, completed)
  local item = vim.tbl_get(completed or {}, 'user_data', 'nvim', 'lsp', 'completion_item')
  if vim.tbl_get(completed or {}, 'user_data', 'nvim', 'lsp', 'client_id') ~= client.id
      or not (item and item.textEdit) then
    return nil
  end
  local edit = item.textEdit
  local col = vim.api.nvim_win_get_cursor(0)[2]
  local line = vim.api.nvim_get_current_line()
  local start = vim.str_byteindex(line, client.offset_encoding, edit.range.start.character, false)
  local typed = line:sub(start + 1, col)
  if edit.newText:sub(1, #typed) ~= typed then
    return nil
  end
  return edit.newText:sub(#typed + 1)
end

local function on_shown(client, buf)
  return function()
    local text = suggestion(client, vim.v.event.completed_item)
    local current = showing[buf]
    if not text or text == '' or (current and current.text:sub(current.done + 1) == text) then
      return
    end
    showing[buf] = { text = text, done = 0 }
    client:notify('codeshell/didShowCompletion', { uri = vim.uri_from_bufnr(buf), text = text })
  end
end

-- Neovim 0.11 inserts only the first word of an accepted plain-text item (up to the
-- first space); a suggestion is a whole line or block. After an accept, replace what
-- was inserted with the item's full textEdit.
local function insert_whole_suggestion(client)
  return function(args)
    local item = vim.tbl_get(vim.v.completed_item, 'user_data', 'nvim', 'lsp', 'completion_item')
    local from = vim.tbl_get(vim.v.completed_item, 'user_data', 'nvim', 'lsp', 'client_id')
    if vim.v.event.reason ~= 'accept' or from ~= client.id or not (item and item.textEdit) then
      return
    end
    local current = showing[args.buf]
    showing[args.buf] = nil
    if current then
      client:notify('codeshell/didAcceptCompletion',
        { uri = vim.uri_from_bufnr(args.buf), text = current.text:sub(current.done + 1) })
    end
    local edit = item.textEdit
    local row, col = unpack(vim.api.nvim_win_get_cursor(0))
    local line = vim.api.nvim_get_current_line()
    local start = vim.str_byteindex(line, client.offset_encoding, edit.range.start.character, false)
    local lines = vim.split(edit.newText, '\n', { plain = true })
    vim.api.nvim_buf_set_text(0, row - 1, start, row - 1, col, lines)
    local last = #lines == 1 and start + #lines[1] or #lines[#lines]
    vim.api.nvim_win_set_cursor(0, { row + #lines - 1, last })
  end
end

-- <M-Right> / <M-C-Right>: insert the next word / line of the selected suggestion only,
-- then ask again (the server answers the rest from its cache).
local pending
local function put_pending()
  local client, buf, piece = unpack(pending or {})
  pending = nil
  if not piece then
    return
  end
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local lines = vim.split(piece, '\n', { plain = true })
  vim.api.nvim_buf_set_text(buf, row - 1, col, row - 1, col, lines)
  local last = #lines == 1 and col + #lines[1] or #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { row + #lines - 1, last })
  local current = showing[buf]
  current.done = current.done + #piece
  client:notify('codeshell/didPartiallyAcceptCompletion',
    { uri = vim.uri_from_bufnr(buf), text = current.text, acceptedLength = vim.fn.strchars(piece) })
  vim.lsp.completion.get()
end
vim.keymap.set('i', '<Plug>(codeshell-put)', put_pending, { desc = 'codeshell: insert the accepted part' })

local function next_piece(rest, how)
  if how == 'line' then
    return rest:match('^\n[^\n]*') or rest:match('^[^\n]+')
  end
  return rest:match('^%s*[%w_]+') or rest:match('^%s*[^%w_%s]+') or rest:match('^%s+')
end

local function accept_part(client, buf, how, key)
  return function()
    local info = vim.fn.complete_info({ 'pum_visible', 'items', 'selected' })
    local rest = info.pum_visible == 1 and suggestion(client, info.items[math.max(info.selected, 0) + 1])
    if not rest or rest == '' then
      return key
    end
    local current = showing[buf]
    if not current or current.text:sub(current.done + 1) ~= rest then
      showing[buf] = { text = rest, done = 0 }
    end
    pending = { client, buf, next_piece(rest, how) }
    return '<C-e><Plug>(codeshell-put)'
  end
end

-- Keystrokes typed before the server was up, or answered while the model was loading,
-- showed nothing: ask again when the client attaches and when the load ends.
local function ask_again(buf)
  if vim.api.nvim_get_current_buf() == buf and vim.api.nvim_get_mode().mode:sub(1, 1) == 'i' then
    vim.lsp.completion.get()
  end
end

vim.api.nvim_create_autocmd('LspAttach', {
  group = vim.api.nvim_create_augroup('codeshell-lsp', { clear = true }),
  callback = function(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    if not client or client.name ~= 'codeshell' then
      return
    end
    local buf = args.buf

    if vim.lsp.inline_completion then -- Neovim 0.12+
      vim.lsp.inline_completion.enable(true, { bufnr = buf })
      vim.keymap.set('i', '<Tab>', function()
        if not vim.lsp.inline_completion.get() then
          return '<Tab>'
        end
      end, { expr = true, buffer = buf, desc = 'codeshell: accept the suggestion' })
      vim.keymap.set('i', '<M-]>', function() vim.lsp.inline_completion.select({ count = 1 }) end,
        { buffer = buf, desc = 'codeshell: next suggestion' })
      vim.keymap.set('i', '<M-[>', function() vim.lsp.inline_completion.select({ count = -1 }) end,
        { buffer = buf, desc = 'codeshell: previous suggestion' })
      return
    end

    vim.lsp.completion.enable(true, client.id, buf, {
      autotrigger = true,
      -- Show (and preview) the whole first line, not only its first word.
      convert = function(item)
        local text = item.textEdit and item.textEdit.newText or item.label
        return { word = vim.split(text, '\n', { plain = true })[1] }
      end,
    })
    local group = vim.api.nvim_create_augroup('codeshell-lsp-' .. buf, { clear = true })
    vim.api.nvim_create_autocmd('CompleteDone', { group = group, buffer = buf, callback = insert_whole_suggestion(client) })
    vim.api.nvim_create_autocmd('CompleteChanged', { group = group, buffer = buf, callback = on_shown(client, buf) })
    vim.api.nvim_create_autocmd('LspProgress', {
      group = group,
      pattern = 'end',
      callback = function(ev)
        if ev.data.client_id == client.id then
          ask_again(buf)
        end
      end,
    })
    vim.schedule(function() ask_again(buf) end)
    vim.keymap.set('i', '<M-Right>', accept_part(client, buf, 'word', '<M-Right>'),
      { expr = true, remap = true, buffer = buf, desc = 'codeshell: accept the next word of the suggestion' })
    vim.keymap.set('i', '<M-C-Right>', accept_part(client, buf, 'line', '<M-C-Right>'),
      { expr = true, remap = true, buffer = buf, desc = 'codeshell: accept the next line of the suggestion' })
    vim.keymap.set('i', '<C-Space>', vim.lsp.completion.get, { buffer = buf, desc = 'codeshell: ask for a suggestion' })
    vim.keymap.set('i', '<Tab>', function()
      return vim.fn.pumvisible() == 1 and '<C-y>' or '<Tab>'
    end, { expr = true, buffer = buf, desc = 'codeshell: accept the suggestion' })
  end,
})
