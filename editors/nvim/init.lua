-- codeshell-lsp in Neovim: AI completion from a local CodeShell GGUF model.
--
-- Paste this into your init.lua and put lsp/codeshell.lua (next to this file) into
-- ~/.config/nvim/lsp/. Or try the folder as a whole config without touching yours:
--   ln -s "$PWD/editors/nvim" ~/.config/codeshell && NVIM_APPNAME=codeshell nvim file.py
--
-- Neovim 0.11: suggestions come through the completion popup (vim.lsp.completion),
-- asked for automatically after . ( space and newline, or with <C-Space>;
-- <Tab> accepts the selected one.
-- Neovim 0.12+: suggestions are ghost text (vim.lsp.inline_completion) instead;
-- <Tab> accepts, <M-]> / <M-[> cycle. Only one of the two is switched on: the server
-- runs one completion per document, and a newer request supersedes the older, so
-- asking for both on each keystroke would make them cancel each other.

-- Your model (else $CODESHELL_LSP_MODEL, else the server's default model):
-- vim.lsp.config('codeshell', {
--   init_options = { model = { path = vim.fn.expand('~/models/codeshell-7b-chat-q4_0.gguf') } },
-- })

vim.lsp.enable('codeshell')

vim.opt.completeopt = { 'menuone', 'noinsert', 'popup' }

-- Neovim 0.11 inserts only the first word of an accepted plain-text item (up to the
-- first space); a suggestion is a whole line or block. After an accept, replace what
-- was inserted with the item's full textEdit.
local function insert_whole_suggestion(client)
  return function()
    local item = vim.tbl_get(vim.v.completed_item, 'user_data', 'nvim', 'lsp', 'completion_item')
    local from = vim.tbl_get(vim.v.completed_item, 'user_data', 'nvim', 'lsp', 'client_id')
    if vim.v.event.reason ~= 'accept' or from ~= client.id or not (item and item.textEdit) then
      return
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
    vim.api.nvim_create_autocmd('CompleteDone', {
      group = vim.api.nvim_create_augroup('codeshell-lsp-' .. buf, { clear = true }),
      buffer = buf,
      callback = insert_whole_suggestion(client),
    })
    vim.keymap.set('i', '<C-Space>', vim.lsp.completion.get, { buffer = buf, desc = 'codeshell: ask for a suggestion' })
    vim.keymap.set('i', '<Tab>', function()
      return vim.fn.pumvisible() == 1 and '<C-y>' or '<Tab>'
    end, { expr = true, buffer = buf, desc = 'codeshell: accept the suggestion' })
  end,
})
