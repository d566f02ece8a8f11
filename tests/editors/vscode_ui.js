// Drives a real VS Code (code-server, already started by test_vscode_ui.py) through
// Debian's chromium with playwright-core: opens the workspace file from the explorer,
// types like a user, and writes what it saw to spec.out as JSON for the test to judge.
//
// Usage: node vscode_ui.js SPEC.json, where SPEC has url, chromium, file (name in the
// workspace), scenario, out, screenshot, settingsFile, and what the scenario needs.
'use strict';

const fs = require('fs');
const { chromium } = require('playwright-core');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const t0 = Date.now();
const report = { scenario: spec.scenario, steps: [], error: null };

function step(what, extra = {}) {
  report.steps.push({ what, ms: Date.now() - t0, ...extra });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls `check` (async, returns a value or undefined) every 100 ms for up to `ms`.
async function until(what, ms, check) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

// The ghost text on screen: the inline part and any further lines, as plain text.
async function ghostText(page) {
  return page.evaluate(() => {
    const parts = [...document.querySelectorAll('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text-decoration-preview')]
      .map((e) => e.textContent);
    const lines = [...document.querySelectorAll('.monaco-editor .ghost-text .view-line')].map((e) => e.textContent);
    const text = [parts.join(''), ...lines].join('\n').replace(/\u00a0/g, ' ');
    return text.trim() ? text : '';
  });
}

async function waitGhost(page, ms) {
  const text = await until('ghost text', ms, async () => (await ghostText(page)) || undefined);
  step('ghost text', { text });
  return text;
}

async function notifications(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.notifications-toasts .notification-list-item-message, .notifications-center .notification-list-item-message')]
      .map((e) => e.textContent));
}

async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout: 10000 });
  await page.keyboard.press('Enter');
  step('command', { title });
}

async function openFile(page) {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: spec.file }).first();
  await row.waitFor({ state: 'visible', timeout: 30000 });
  await row.dblclick();
  const editor = page.locator('.monaco-editor[data-uri$="' + spec.file + '"] .view-lines, .editor-instance .monaco-editor .view-lines').first();
  await editor.waitFor({ state: 'visible', timeout: 15000 });
  await editor.click();
  await page.keyboard.press('Control+End');
  step('file open');
  await until('the server ready', 30000, async () => serverReady() || undefined);
  step('server ready');
}

function serverLogSays(what) {
  return fs.existsSync(spec.readyMarker) && fs.readFileSync(spec.readyMarker, 'utf8').includes(what);
}

function serverReady() {
  return serverLogSays('ready in');
}

async function typeAtEnd(page, text) {
  await page.keyboard.type(text, { delay: 40 });
  step('typed', { text });
}

async function save(page) {
  const before = fs.statSync(spec.path).mtimeMs;
  await page.keyboard.press('Control+S');
  await until('the file saved', 10000, async () => fs.statSync(spec.path).mtimeMs !== before || undefined);
  report.saved = fs.readFileSync(spec.path, 'utf8');
  step('saved');
}

// Open the file, type at its end and wait for the ghost text (kept in the report).
async function typeForGhost(page) {
  await openFile(page);
  await typeAtEnd(page, spec.type);
  report.ghost = await waitGhost(page, 30000);
}

async function saveAndShowStats(page) {
  await save(page);
  await runCommand(page, 'CodeShell: Show server statistics');
  await sleep(1000);
}

// As a user editing the workspace's .vscode/settings.json in another editor.
function writeSettings(extra) {
  fs.mkdirSync(spec.workspaceSettings.replace(/\/[^/]*$/, ''), { recursive: true });
  fs.writeFileSync(spec.workspaceSettings, JSON.stringify(extra, null, 2));
  step('settings written', { extra });
}

// Each scenario gets the page with the workbench loaded.
const scenarios = {
  async activate(page) {
    await openFile(page);
    // The server's log says it is up (the test reads it); here: the extension's commands exist.
    await runCommand(page, 'CodeShell: Show server statistics');
    report.notifications = await until('the statistics message', 30000, async () => {
      const n = await notifications(page);
      return n.some((m) => m.includes('codeshell-lsp:')) ? n : undefined;
    });
  },

  async ghost(page) {
    await typeForGhost(page);
    // The editor alone, small enough for the README.
    await page.locator('.part.editor').screenshot({ path: spec.screenshot.replace(/\.png$/, '-editor.png') });
  },

  async accept(page) {
    await typeForGhost(page);
    await page.keyboard.press('Tab');
    await until('the ghost text gone', 5000, async () => !(await ghostText(page)) || undefined);
    step('accepted');
    await saveAndShowStats(page);
  },

  async partial(page) {
    await typeForGhost(page);
    report.partial = [];
    for (const [keys, name] of [['Control+ArrowRight', 'word'], ['Control+Alt+ArrowRight', 'line']]) {
      const before = await ghostText(page);
      await page.keyboard.press(keys);
      const after = await until(`the ghost text after accepting a ${name}`, 5000, async () => {
        const now = await ghostText(page);
        return now !== before ? { now } : undefined;
      });
      report.partial.push({ name, before, after: after.now });
      step(`accepted a ${name}`);
      if (!after.now) break;
    }
    await saveAndShowStats(page);
  },

  async suggest(page) {
    await openFile(page);
    await typeAtEnd(page, spec.type);
    await page.keyboard.press('Control+Space');
    const rows = page.locator('.suggest-widget .monaco-list-row');
    await rows.first().waitFor({ state: 'visible', timeout: 30000 });
    report.suggest = await rows.evaluateAll((els) => els.map((e) => ({
      label: (e.querySelector('.label-name') || e).textContent.replace(/\u00a0/g, ' '),
      aria: e.getAttribute('aria-label'),
    })));
    step('suggest widget', { rows: report.suggest.length });
    await page.keyboard.press('Enter');
    await sleep(300);
    await save(page);
  },

  async settings(page) {
    await openFile(page);
    await runCommand(page, 'CodeShell: Show server statistics');
    await until('the server up', 30000, async () => (await notifications(page)).some((m) => m.includes('codeshell-lsp:')) || undefined);
    writeSettings(spec.change);
    report.notifications = await until('the server telling about the changed setting', 30000, async () => {
      const n = await notifications(page);
      return n.some((m) => m.includes(spec.expectMessage)) ? n : undefined;
    });
  },

  async commands(page) {
    await openFile(page);
    await runCommand(page, 'CodeShell: Show server statistics');
    report.notifications = await until('the statistics message', 30000, async () => {
      const n = await notifications(page);
      return n.some((m) => m.includes('completions served')) ? n : undefined;
    });
    await runCommand(page, 'CodeShell: Show the server log');
    report.output = await until('the CodeShell LSP output', 10000, async () => page.evaluate(() => {
      const panel = document.querySelector('.part.panel');
      if (!panel || !panel.offsetParent) return undefined;
      const text = panel.innerText;
      return text.includes('CodeShell LSP') ? text.slice(0, 4000) : undefined;
    }));
    step('output shown');
    await runCommand(page, 'CodeShell: Restart the language server');
    await sleep(spec.afterRestartMs || 3000);
    await runCommand(page, 'CodeShell: Show server statistics');
    await sleep(1500);
  },

  // The folder code-server opened is the workspace: once the server's log says it was
  // indexed, type; the ghost text is the backend's answer; the statistics go to the log.
  async workspace(page) {
    await openFile(page);
    await until('the workspace indexed', 30000, async () => serverLogSays('workspace index:') || undefined);
    await typeAtEnd(page, spec.type);
    report.ghost = await waitGhost(page, 30000);
    await runCommand(page, 'CodeShell: Show server statistics');
    await until('the statistics message', 30000, async () =>
      (await notifications(page)).some((m) => m.includes('completions served')) || undefined);
  },

  // Keystrokes typed before the server is up: the suggestion must come by itself.
  async early(page) {
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: spec.file }).first();
    await row.waitFor({ state: 'visible', timeout: 30000 });
    await row.dblclick();
    const editor = page.locator('.editor-instance .monaco-editor .view-lines').first();
    await editor.waitFor({ state: 'visible', timeout: 15000 });
    await editor.click();
    await page.keyboard.press('Control+End');
    await typeAtEnd(page, spec.type);
    report.typedBeforeReady = !serverReady();
    report.ghost = await waitGhost(page, 40000);
  },
};

async function main() {
  const browser = await chromium.launch({
    executablePath: spec.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
  page.setDefaultTimeout(15000);
  try {
    await page.goto(spec.url, { waitUntil: 'domcontentloaded', timeout: 60000 });
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60000 });
    step('workbench');
    await scenarios[spec.scenario](page);
  } catch (e) {
    report.error = String(e && e.stack ? e.stack : e);
  }
  try {
    await page.screenshot({ path: spec.screenshot });
  } catch (e) {
    report.screenshotError = String(e);
  }
  report.notificationsAtEnd = await notifications(page).catch(() => []);
  report.ms = Date.now() - t0;
  fs.writeFileSync(spec.out, JSON.stringify(report, null, 2));
  await browser.close();
}

main().catch((e) => {
  report.error = String(e && e.stack ? e.stack : e);
  fs.writeFileSync(spec.out, JSON.stringify(report, null, 2));
  process.exit(1);
});
