// VSCode's own protocol library (vscode-languageserver-protocol) driving codeshell-lsp
// the way the extension in editors/vscode does: same command, same settings answers,
// VSCode's client capabilities. Prints one JSON report on stdout; test_vscode.py judges it.
//
// usage: node vscode_client.js SPEC.json   (SPEC: capabilities, settings, file, text)
'use strict';

const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const rpc = require('vscode-languageserver-protocol/node');
const { TextDocument } = require('vscode-languageserver-textdocument');
const extensionConfig = require('../../editors/vscode/config');

const P = rpc;

async function main() {
  const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const tree = spec.settings;
  const report = { logs: [], shown: [], configurationAsked: [], steps: {} };

  const { command, args } = extensionConfig.serverCommand(tree);
  report.command = [command, ...args];
  report.defaultCommand = extensionConfig.serverCommand({});
  const proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));

  const conn = P.createProtocolConnection(
    new P.StreamMessageReader(proc.stdout),
    new P.StreamMessageWriter(proc.stdin)
  );
  // What vscode-languageclient answers (ConfigurationFeature + the extension's middleware).
  conn.onRequest(P.ConfigurationRequest.type, (params) => {
    report.configurationAsked.push(params.items.map((i) => i.section));
    return params.items.map((i) => (i.section === 'codeshell' ? extensionConfig.serverSettings(tree) : null));
  });
  conn.onRequest(P.WorkDoneProgressCreateRequest.type, () => null);
  conn.onNotification(P.LogMessageNotification.type, (m) => report.logs.push(m.message));
  conn.onNotification(P.ShowMessageNotification.type, (m) => report.shown.push(m.message));
  conn.onNotification('$/progress', () => undefined);
  conn.listen();

  const uri = 'file://' + path.resolve(spec.file);
  let doc = TextDocument.create(uri, 'python', 1, spec.text);

  const init = await conn.sendRequest(P.InitializeRequest.type, {
    processId: process.pid,
    clientInfo: { name: 'Visual Studio Code', version: '1.95.0' },
    locale: 'en',
    rootUri: 'file://' + path.dirname(path.resolve(spec.file)),
    workspaceFolders: [{ uri: 'file://' + path.dirname(path.resolve(spec.file)), name: 'ws' }],
    capabilities: spec.capabilities,
    initializationOptions: extensionConfig.serverSettings(tree),
  });
  report.serverCapabilities = init.capabilities;
  conn.sendNotification(P.InitializedNotification.type, {});
  conn.sendNotification(P.DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: 'python', version: doc.version, text: doc.getText() },
  });

  const endOf = (line) => ({ line, character: doc.getText({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } }).replace(/\r?\n$/, '').length });
  const type = (text, at) => {
    const change = { range: { start: at, end: at }, text };
    doc = TextDocument.update(doc, [change], doc.version + 1);
    conn.sendNotification(P.DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version: doc.version },
      contentChanges: [change],
    });
  };
  const outcome = (p) =>
    p.then(
      (r) => ({ result: r }),
      (e) => ({ error: { code: e.code, message: e.message } })
    );

  // The first keystroke once the workspace folder is indexed (the status bar's progress ended).
  for (let i = 0; !(await conn.sendRequest('codeshell/stats', {})).workspaceIndexed; i++) {
    if (i > 200) throw new Error('the workspace folder was not indexed in 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  // 1. Inline completion (ghost text) at the end of the cursor line.
  const pos = endOf(spec.line);
  const inline = await conn.sendRequest(P.InlineCompletionRequest.type, {
    textDocument: { uri },
    position: pos,
    context: { triggerKind: P.InlineCompletionTriggerKind.Automatic },
  });
  const ghost = inline && inline.items && inline.items[0];
  report.steps.inline = { position: pos, result: inline };
  if (ghost) {
    const accepted = TextDocument.applyEdits(doc, [{ range: ghost.range || { start: pos, end: pos }, newText: ghost.insertText }]);
    report.steps.inline.before = doc.getText();
    report.steps.inline.after = accepted;
  }

  // 2. Suggest-widget completion at the same place: its textEdit applied to the document.
  const list = await conn.sendRequest(P.CompletionRequest.type, {
    textDocument: { uri },
    position: pos,
    context: { triggerKind: P.CompletionTriggerKind.Invoked },
  });
  report.steps.completion = { position: pos, result: list };
  const item = list && list.items && list.items[0];
  if (item && item.textEdit) {
    report.steps.completion.before = doc.getText();
    report.steps.completion.after = TextDocument.applyEdits(doc, [item.textEdit]);
  }

  // 3. Typing on: an incremental didChange, then two quick requests for one document.
  //    The older is superseded (empty or RequestCancelled), the newer answers with text.
  type('x', endOf(spec.line));
  const older = outcome(conn.sendRequest(P.CompletionRequest.type, { textDocument: { uri }, position: endOf(spec.line) }));
  type('y', endOf(spec.line));
  const newer = outcome(conn.sendRequest(P.CompletionRequest.type, { textDocument: { uri }, position: endOf(spec.line) }));
  report.steps.superseded = { older: await older, newer: await newer, text: doc.getText() };

  // 4. What VSCode does when it moves on: $/cancelRequest for the pending request.
  type('z', endOf(spec.line));
  const source = new P.CancellationTokenSource();
  const cancelled = outcome(
    conn.sendRequest(P.InlineCompletionRequest.type, {
      textDocument: { uri },
      position: endOf(spec.line),
      context: { triggerKind: P.InlineCompletionTriggerKind.Automatic },
    }, source.token)
  );
  source.cancel();
  report.steps.cancelled = await cancelled;

  // 5. Both kinds asked at one keystroke (what VSCode does with both providers on).
  type('w', endOf(spec.line));
  const bothAt = endOf(spec.line);
  const both = await Promise.all([
    outcome(conn.sendRequest(P.InlineCompletionRequest.type, { textDocument: { uri }, position: bothAt, context: { triggerKind: P.InlineCompletionTriggerKind.Automatic } })),
    outcome(conn.sendRequest(P.CompletionRequest.type, { textDocument: { uri }, position: bothAt })),
  ]);
  report.steps.both = { inline: both[0], completion: both[1] };

  report.stats = await conn.sendRequest('codeshell/stats', {});
  await conn.sendRequest(P.ShutdownRequest.type);
  conn.sendNotification(P.ExitNotification.type);
  report.exitCode = await new Promise((resolve) => {
    const timer = setTimeout(() => { proc.kill(); resolve('killed'); }, 5000);
    proc.on('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
  report.stderr = stderr.slice(-2000);
  conn.dispose();
  process.stdout.write(JSON.stringify(report) + '\n');
}

const deadline = setTimeout(() => {
  process.stderr.write('vscode_client.js: no result in 45 s\n');
  process.exit(3);
}, 45000);
main().then(
  () => { clearTimeout(deadline); process.exit(0); },
  (e) => { process.stderr.write(`vscode_client.js: ${e && e.stack ? e.stack : e}\n`); process.exit(2); }
);
