// CodeShell LSP for VSCode: starts `codeshell-lsp serve --stdio` and hands it the
// `codeshell.*` settings (initializationOptions, workspace/configuration and
// didChangeConfiguration). Completions arrive as inline ghost text by default.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind, DidChangeConfigurationNotification } = require('vscode-languageclient/node');
const { serverCommand, serverSettings, editorMode } = require('./config');

let client;
let output;

function settingsTree() {
  // A plain copy: the configuration object VSCode returns is not JSON-safe as is.
  return JSON.parse(JSON.stringify(vscode.workspace.getConfiguration().get('codeshell') || {}));
}

function createClient() {
  const tree = settingsTree();
  const { command, args } = serverCommand(tree);
  const run = { command, args, transport: TransportKind.stdio };
  return new LanguageClient('codeshell', 'CodeShell LSP', { run, debug: run }, {
    documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
    initializationOptions: serverSettings(tree),
    outputChannel: output,
    middleware: {
      workspace: {
        // The server asks for section `codeshell`: answer without the extension's own keys.
        configuration: async (params, token, next) => {
          const result = await next(params, token);
          return Array.isArray(result)
            ? result.map((r, i) => (params.items[i].section === 'codeshell' ? serverSettings(r) : r))
            : result;
        },
      },
      // The server runs one completion per document at a time, a newer request
      // superseding the older: asking for both kinds on each keystroke would make them
      // cancel each other, so only the configured kind is asked for.
      provideCompletionItem: (document, position, context, token, next) =>
        editorMode(settingsTree()) === 'inline' ? null : next(document, position, context, token),
      provideInlineCompletionItems: (document, position, context, token, next) =>
        editorMode(settingsTree()) === 'suggest' ? null : next(document, position, context, token),
    },
  });
}

async function restart() {
  if (client) await client.stop().catch(() => undefined);
  client = createClient();
  await client.start();
}

async function activate(context) {
  output = vscode.window.createOutputChannel('CodeShell LSP');
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('codeshell.restart', restart),
    vscode.commands.registerCommand('codeshell.showLog', () => output.show(true)),
    vscode.commands.registerCommand('codeshell.showStats', async () => {
      const stats = await client.sendRequest('codeshell/stats', {});
      output.appendLine(`codeshell/stats ${JSON.stringify(stats)}`);
      output.show(true);
      vscode.window.showInformationMessage(
        `codeshell-lsp: ${stats.completionsServed} completions served, ${stats.tokensReused} tokens reused, model ${stats.model}`
      );
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration('codeshell.server')) {
        await restart();
      } else if (e.affectsConfiguration('codeshell') && client) {
        await client.sendNotification(DidChangeConfigurationNotification.type, {
          settings: { codeshell: serverSettings(settingsTree()) },
        });
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
