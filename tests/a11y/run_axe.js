#!/usr/bin/env node
// Accessibility check of self-contained HTML files with axe-core, run in
// Debian's headless Chromium through playwright-core (which downloads no
// browser of its own).
//
//   node run_axe.js FILE.html [FILE2.html ...]
//
// Prints ONE JSON document on stdout, one entry per file, in argument order:
//   [{"file": "/abs/path.html",
//     "violations": [{"id", "impact", "help", "nodes": <count>,
//                     "targets": [<first 5 target selectors>]}],
//     "blocked_requests": ["https://...", ...]}]
// An entry that could not be checked (missing file, load or axe failure,
// timeout) has "error": "<message>" and an empty "violations" list.
//
// Exit status: 0 when it ran, whatever it found; 2 on bad usage; 3 with a
// one-line message on stderr when the browser cannot start.
//
// Environment: CHROMIUM (default /usr/bin/chromium) is the browser binary;
// A11Y_TIMEOUT_MS (default 60000) bounds each file's load + axe run.
'use strict';

const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

const EXECUTABLE = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT_MS = Number(process.env.A11Y_TIMEOUT_MS) || 60000;
const MAX_TARGETS = 5;
const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// Schemes that never leave the machine. Anything else is aborted and recorded.
const LOCAL_SCHEMES = new Set(['file:', 'data:', 'blob:', 'about:']);

function die(code, message) {
  process.stderr.write(`run_axe: ${String(message).split('\n')[0]}\n`);
  process.exit(code);
}

function oneLine(err) {
  return String((err && err.message) || err).split('\n')[0];
}

function isLocal(url) {
  try {
    return LOCAL_SCHEMES.has(new URL(url).protocol);
  } catch (_) {
    return false;
  }
}

// axe's node.target is a list of selectors, one per frame level; a level in
// a shadow tree is itself a list (host selector, then inner selectors).
function targetString(target) {
  if (!Array.isArray(target)) return String(target);
  return target
    .map((level) => (Array.isArray(level) ? level.join(' >>> ') : String(level)))
    .join(' | ');
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function checkFile(browser, axePath, file) {
  const abs = path.resolve(file);
  const entry = { file: abs, violations: [], blocked_requests: [] };
  if (!fs.existsSync(abs) || !fs.statSync(abs).isFile()) {
    entry.error = 'no such file';
    return entry;
  }
  const blocked = new Set();
  const context = await browser.newContext({ serviceWorkers: 'block' });
  try {
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (isLocal(url)) return route.continue();
      blocked.add(url);
      return route.abort('blockedbyclient');
    });
    if (typeof context.routeWebSocket === 'function') {
      await context.routeWebSocket(/.*/, (ws) => {
        blocked.add(ws.url());
        ws.close();
      });
    }
    const page = await context.newPage();
    // Requests the route handler never sees (e.g. refused before routing).
    page.on('requestfailed', (req) => {
      if (!isLocal(req.url())) blocked.add(req.url());
    });
    const run = async () => {
      await page.goto(pathToFileURL(abs).href, { waitUntil: 'load', timeout: TIMEOUT_MS });
      await page.addScriptTag({ path: axePath });
      return page.evaluate(async () => {
        if (document.fonts && document.fonts.ready) await document.fonts.ready;
        // eslint-disable-next-line no-undef
        // WCAG 2.2 AA (target-size and the other 2.2 rules run only when their tag is asked for) and best practice.
        const r = await axe.run(document, { resultTypes: ['violations'], runOnly: { type: 'tag', values: [
          'wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } });
        return r.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          nodes: v.nodes.length,
          rawTargets: v.nodes.map((n) => n.target),
        }));
      });
    };
    const violations = await withTimeout(run(), TIMEOUT_MS, 'load + axe run');
    entry.violations = violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes,
      targets: v.rawTargets.slice(0, MAX_TARGETS).map(targetString),
    }));
  } catch (err) {
    entry.error = oneLine(err);
  } finally {
    entry.blocked_requests = [...blocked].sort();
    await context.close().catch(() => {});
  }
  return entry;
}

async function main() {
  const files = process.argv.slice(2);
  if (files.length === 0 || files.includes('-h') || files.includes('--help')) {
    die(2, 'usage: node run_axe.js FILE.html [FILE2.html ...]');
  }

  let chromium;
  let axePath;
  try {
    ({ chromium } = require('playwright-core'));
    axePath = require.resolve('axe-core/axe.min.js');
  } catch (err) {
    die(3, `node modules missing (run tests/a11y/install.sh): ${oneLine(err)}`);
  }
  if (!fs.existsSync(EXECUTABLE)) {
    die(3, `browser cannot start: ${EXECUTABLE} not found (set CHROMIUM or install Debian's chromium)`);
  }

  let browser;
  try {
    browser = await chromium.launch({
      executablePath: EXECUTABLE,
      headless: true,
      args: LAUNCH_ARGS,
      timeout: 60000,
    });
  } catch (err) {
    die(3, `browser cannot start (${EXECUTABLE}): ${oneLine(err)}`);
  }

  const results = [];
  try {
    for (const file of files) {
      results.push(await checkFile(browser, axePath, file));
    }
  } finally {
    await browser.close().catch(() => {});
  }
  process.stdout.write(JSON.stringify(results, null, 2) + '\n');
}

main().catch((err) => die(1, `unexpected failure: ${oneLine(err)}`));
