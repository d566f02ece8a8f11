// CodeShell LSP for VS Code: starts `codeshell-lsp serve --stdio` and hands it the
// `codeshell.*` settings: the user's own in initializationOptions and unscoped
// workspace/configuration, the workspace's merged in when the server asks scoped to a
// folder (it trusts those less: no API key goes to a URL set there); a change is
// announced with didChangeConfiguration and pulled. Completions arrive as inline ghost
// text by default.
'use strict';

const vscode = require('vscode');
const {
  LanguageClient, TransportKind, DidChangeConfigurationNotification, WorkDoneProgressCreateRequest, WorkDoneProgress,
} = require('vscode-languageclient/node');
const { serverCommand, serverSettings, userValues, editorMode, chars } = require('./config');

let client;
let output;
// The suggestion on screen per document (uri -> { text, done }): `text` as first shown,
// `done` how much of it (UTF-16 units) partial accepts have inserted so far.
const showing = new Map();
// What each document's last edit added beyond the text it replaced (uri -> string). An
// accept inserts only what the user has not typed yet: VS Code may keep showing an
// older item whose first characters were typed since, and replaces them with the item.
const lastAdded = new Map();

function added(change) {
  return change.text.slice(change.rangeLength);
}

function settingsTree() {
  // A plain copy: the configuration object VS Code returns is not JSON-safe as is.
  return JSON.parse(JSON.stringify(vscode.workspace.getConfiguration().get('codeshell') || {}));
}

// Whether the user set `codeshell.<key>` anywhere (user, workspace or folder settings),
// rather than VS Code filling in its default.
function userSet(key) {
  const i = vscode.workspace.getConfiguration('codeshell').inspect(key);
  return !!i && [i.globalValue, i.workspaceValue, i.workspaceFolderValue].some((v) => v !== undefined);
}

// The tree as the user's own settings set it: no workspace or folder values (the server
// trusts these with the API key), and no defaults (they would hide the user config file).
function userSettingsTree() {
  const config = vscode.workspace.getConfiguration('codeshell');
  const own = (key) => {
    const i = config.inspect(key);
    return !!i && i.globalValue !== undefined;
  };
  return serverSettings(userValues(settingsTree(), (key) => config.inspect(key)), own);
}

// Acceptance statistics stay on this machine: they go to the local server only, which
// counts them in codeshell/stats. Nothing is sent while the client is not running.
function tellServer(method, params) {
  output.info(`${method} ${JSON.stringify(params)}`);
  if (client && client.isRunning()) client.sendNotification(method, params).catch(() => undefined);
}

// Keystrokes typed before the server was ready asked no one (no provider yet) or were
// answered empty (no model yet), and VS Code asks again only at the next keystroke:
// ask again for the editor in front once the server is up and once the model is ready.
function retrigger(why) {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editorMode(settingsTree()) === 'suggest') return;
  output.info(`${why}: asking again for the suggestion at the cursor`);
  vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
}

// The server reports the model load as work-done progress (begin "loading model", end
// "model ready"). Shown in the status bar; its end asks for a suggestion again.
function watchModelLoad() {
  client.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
    vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'CodeShell' }, (progress) =>
      new Promise((resolve) => {
        const watch = client.onProgress(WorkDoneProgress.type, token, (value) => {
          if (value.kind !== 'end') {
            if (value.message) progress.report({ message: value.message });
            return;
          }
          watch.dispose();
          resolve();
          retrigger(value.message || 'progress ended');
        });
      }));
    return null;
  });
}

function createClient() {
  const tree = settingsTree();
  const { command, args } = serverCommand(tree);
  const run = { command, args, transport: TransportKind.stdio };
  return new LanguageClient('codeshell', 'CodeShell LSP', { run, debug: run }, {
    documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
    initializationOptions: userSettingsTree(),
    outputChannel: output,
    middleware: {
      workspace: {
        // The server asks for section `codeshell` without a scope (the user's own values)
        // and scoped to the workspace folder (everything that applies there): answer
        // without the extension's own keys.
        configuration: async (params, token, next) => {
          const result = await next(params, token);
          const codeshell = (item, r) => (item.scopeUri ? serverSettings(r, userSet) : userSettingsTree());
          return Array.isArray(result)
            ? result.map((r, i) => (params.items[i].section === 'codeshell' ? codeshell(params.items[i], r) : r))
            : result;
        },
      },
      // The server runs one completion per document at a time, a newer request
      // superseding the older: asking for both kinds on each keystroke would make them
      // cancel each other, so only the configured kind is asked for.
      provideCompletionItem: (document, position, context, token, next) =>
        editorMode(settingsTree()) === 'inline' ? null : next(document, position, context, token),
      provideInlineCompletionItems: async (document, position, context, token, next) => {
        if (editorMode(settingsTree()) === 'suggest') return null;
        const result = await next(document, position, context, token);
        const items = Array.isArray(result) ? result : (result && result.items) || [];
        const uri = document.uri.toString();
        for (const item of items) {
          const text = typeof item.insertText === 'string' ? item.insertText : item.insertText.value;
          // Run after VS Code inserted the whole suggestion (Tab).
          item.command = { command: 'codeshell.accepted', title: 'CodeShell: suggestion accepted', arguments: [uri, text] };
        }
        // VS Code's stable API has no "shown" event: a suggestion counts as shown when it
        // is handed over for the document as it still is. The rest of one already on
        // screen (asked again after a partial accept) is the same suggestion.
        if (items.length && !token.isCancellationRequested) {
          const text = items[0].command.arguments[1];
          const current = showing.get(uri);
          if (text && !(current && current.text.slice(current.done) === text)) {
            showing.set(uri, { text, done: 0 });
            tellServer('codeshell/didShowCompletion', { uri, text });
          }
        }
        return result;
      },
    },
  });
}

// VS Code's accept-next-word / accept-next-line, plus the statistics: what the built-in
// command inserted is measured from the document change it makes.
async function acceptPart(builtin) {
  const editor = vscode.window.activeTextEditor;
  if (!editor) return;
  const document = editor.document;
  let inserted = '';
  const listener = vscode.workspace.onDidChangeTextDocument((e) => {
    if (e.document === document) for (const change of e.contentChanges) inserted += added(change);
  });
  try {
    await vscode.commands.executeCommand(builtin);
  } finally {
    listener.dispose();
  }
  const current = showing.get(document.uri.toString());
  if (inserted && current) {
    current.done += inserted.length;
    tellServer('codeshell/didPartiallyAcceptCompletion', {
      uri: document.uri.toString(), text: current.text, acceptedLength: chars(inserted),
    });
  }
}

async function restart() {
  if (client) await client.stop().catch(() => undefined);
  showing.clear();
  client = createClient();
  await client.start();
  watchModelLoad();
  retrigger('server started');
}

async function activate(context) {
  // vscode-languageclient 11 writes through a log output channel (info/warn/error).
  output = vscode.window.createOutputChannel('CodeShell LSP', { log: true });
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('codeshell.restart', restart),
    vscode.commands.registerCommand('codeshell.showLog', () => output.show(true)),
    vscode.commands.registerCommand('codeshell.showStats', async () => {
      const stats = await client.sendRequest('codeshell/stats', {});
      output.info(`codeshell/stats ${JSON.stringify(stats)}`);
      output.show(true);
      vscode.window.showInformationMessage(
        `codeshell-lsp: ${stats.completionsServed} completions served, ${stats.tokensReused} tokens reused, model ${stats.model}`
      );
      return stats;
    }),
    vscode.commands.registerCommand('codeshell.accepted', (uri, text) => {
      // Report what this accept inserted: the item's end, after what was typed through
      // or taken by partial accepts.
      showing.delete(uri);
      const inserted = lastAdded.get(uri);
      tellServer('codeshell/didAcceptCompletion', { uri, text: inserted && text.endsWith(inserted) ? inserted : text });
    }),
    vscode.workspace.onDidChangeTextDocument((e) => {
      const last = e.contentChanges[e.contentChanges.length - 1];
      if (last) lastAdded.set(e.document.uri.toString(), added(last));
    }),
    vscode.commands.registerCommand('codeshell.acceptNextWord', () => acceptPart('editor.action.inlineSuggest.acceptNextWord')),
    vscode.commands.registerCommand('codeshell.acceptNextLine', () => acceptPart('editor.action.inlineSuggest.acceptNextLine')),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration('codeshell.server')) {
        output.info('codeshell.server.* changed: restarting the server');
        await restart();
      } else if (e.affectsConfiguration('codeshell') && client) {
        // No tree: the server asks for the user's and the folder's values apart.
        output.info('codeshell.* changed: the server asks for the settings again');
        await client.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
      }
    }),
    { dispose: () => client && client.stop() }
  );
  await restart();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
