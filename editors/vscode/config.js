// What the extension derives from the `codeshell.*` configuration, with no `vscode`
// import, so tests/editors can check it in plain Node.
'use strict';

// Keys under `codeshell` that configure the extension (or vscode-languageclient's
// `codeshell.trace.server`), not the server: they are kept out of what the server sees
// (it would report them as unknown settings).
const EXTENSION_KEYS = ['server', 'editor', 'trace'];

/** The command that starts the server: `codeshell-lsp serve --stdio [args...]`. */
function serverCommand(tree) {
  const server = (tree && tree.server) || {};
  const command = typeof server.command === 'string' && server.command.trim() ? server.command.trim() : 'codeshell-lsp';
  const extra = Array.isArray(server.args) ? server.args.filter((a) => typeof a === 'string') : [];
  return { command, args: ['serve', '--stdio', ...extra] };
}

/**
 * The settings tree the server understands (initializationOptions, workspace/configuration):
 * only the keys `isSet(dottedKey)` says the user set. VS Code fills in every default, and a
 * default sent to the server would hide the user config file it reads under the editor's
 * settings (~/.config/codeshell-lsp/config.toml).
 */
function serverSettings(tree, isSet = () => true) {
  const pick = (node, prefix) => {
    const out = {};
    for (const [key, value] of Object.entries(node || {})) {
      const path = prefix ? `${prefix}.${key}` : key;
      if ((!prefix && EXTENSION_KEYS.includes(key)) || value === null || value === undefined) continue;
      if (typeof value === 'object' && !Array.isArray(value)) {
        const inner = pick(value, path);
        if (Object.keys(inner).length) out[key] = inner;
      } else if (isSet(path)) {
        out[key] = value;
      }
    }
    return out;
  };
  return pick(tree, '');
}

/**
 * The user's own values of `tree` (VS Code's user settings, else the defaults), leaving
 * out what a workspace or folder sets: `inspect(key)` is
 * `workspace.getConfiguration('codeshell').inspect`. The server trusts these (it sends an
 * API key only to a URL set here) and asks for the workspace's values apart, scoped to
 * the folder, as less trusted.
 */
function userValues(tree, inspect, prefix = '') {
  const out = {};
  for (const [key, value] of Object.entries(tree || {})) {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      out[key] = userValues(value, inspect, `${prefix}${key}.`);
      continue;
    }
    const seen = inspect(prefix + key) || {};
    const mine = seen.globalValue !== undefined ? seen.globalValue : seen.defaultValue;
    if (mine !== undefined) out[key] = mine;
  }
  return out;
}

/** Where completions are shown: 'inline' (ghost text), 'suggest' (suggest widget) or 'both'. */
function editorMode(tree) {
  const mode = tree && tree.editor && tree.editor.mode;
  return ['inline', 'suggest', 'both'].includes(mode) ? mode : 'inline';
}

/** Length in characters (code points), as the server counts them; JS strings count UTF-16 units. */
function chars(text) {
  return [...text].length;
}

module.exports = { EXTENSION_KEYS, serverCommand, serverSettings, userValues, editorMode, chars };
