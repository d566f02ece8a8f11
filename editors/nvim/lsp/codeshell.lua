-- codeshell-lsp for Neovim >= 0.11: local AI code completion from a CodeShell GGUF model.
--
-- Neovim reads this file by itself when it is on the runtimepath as lsp/codeshell.lua
-- (e.g. ~/.config/nvim/lsp/codeshell.lua); `vim.lsp.enable('codeshell')` in init.lua
-- starts the server. Change any field from init.lua with vim.lsp.config('codeshell', {...}):
-- tables are merged key by key.

---@type vim.lsp.Config
return {
  -- `codeshell-lsp` must be on PATH (pipx/pip install), or give its full path here.
  cmd = { 'codeshell-lsp', 'serve', '--stdio' },
  -- The languages to complete in; the server itself works for any text.
  filetypes = {
    'c', 'cpp', 'cs', 'css', 'go', 'html', 'java', 'javascript', 'javascriptreact', 'json',
    'kotlin', 'lua', 'php', 'python', 'ruby', 'rust', 'scala', 'sh', 'sql', 'swift',
    'typescript', 'typescriptreact', 'vim', 'yaml', 'zig',
  },
  root_markers = { '.git' },
  -- Sent as initializationOptions. Every key is optional; the server's defaults are
  -- listed in the README's settings table. The same tree may instead go under
  -- settings.codeshell (answered when the server asks workspace/configuration; it wins).
  init_options = {
    model = {
      -- GGUF file or model name (gemma, embedded); empty: $CODESHELL_LSP_MODEL, then the
      -- user config's (`codeshell-lsp models install gemma --default`), then the model
      -- shipped with the server.
      path = '',
    },
    completion = {
      maxTokens = 64,
      -- auto: one line when text follows the cursor, else a block.
      multiline = 'auto',
    },
  },
  settings = {},
}
