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
  -- Sent as initializationOptions, over your user config file
  -- (~/.config/codeshell-lsp/config.toml, where `codeshell-lsp models install gemma
  -- --default` chose the model): put here only what Neovim should do differently. Every
  -- key is optional; the defaults are in the README's settings table. The same tree may
  -- instead go under settings.codeshell (answered when the server asks
  -- workspace/configuration; it wins). For example:
  --   model = { path = 'gemma' },  -- a model name or a GGUF file
  --   completion = { maxTokens = 64, multiline = 'auto' },
  init_options = vim.empty_dict(),
  settings = {},
}
