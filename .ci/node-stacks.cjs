// Usage: node --experimental-websocket .ci/node-stacks.cjs REPORTS_DIR PID...
//
// For .ci/watchdog.sh: prints what each hung Node.js process is doing. A process whose event loop
// runs wrote a diagnostic report on SIGUSR2 (its JavaScript stack, live handles, heap); one whose
// loop is blocked cannot, so it is asked through the inspector instead (SIGUSR1 opens it on
// 127.0.0.1:9229, Debugger.pause interrupts the running script) and then killed, which frees the
// port for the next one. Bounded: a few seconds per process.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [dir, ...pids] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function printReport(r) {
  console.log(`\nwatchdog: pid ${r.header?.processId}: ${(r.header?.commandLine ?? []).join(' ').slice(0, 200)}`);
  const js = r.javascriptStack ?? {};
  console.log(`  JavaScript stack: ${js.message ?? ''}`);
  for (const frame of (js.stack ?? []).slice(0, 25)) console.log(`    ${frame}`);
  const counts = {};
  for (const h of (r.libuv ?? []).filter((h) => h.is_active)) counts[h.type] = (counts[h.type] ?? 0) + 1;
  console.log(`  active libuv handles: ${JSON.stringify(counts)}`);
  const heap = r.javascriptHeap ?? {};
  console.log(`  heap used ${Math.round((heap.usedMemory ?? 0) / 1048576)} MiB of ${Math.round((heap.totalMemory ?? 0) / 1048576)} MiB`);
}

async function pausedStack(pid) {
  process.kill(pid, 'SIGUSR1');
  let target;
  for (let i = 0; i < 20 && target === undefined; i++) {
    await sleep(250);
    try {
      const list = await (await fetch('http://127.0.0.1:9229/json/list', { signal: AbortSignal.timeout(1000) })).json();
      target = list[0]?.webSocketDebuggerUrl;
    } catch { /* not listening yet */ }
  }
  if (target === undefined) return ['(inspector did not open)'];
  const ws = new WebSocket(target);
  const frames = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(['(no answer to Debugger.pause)']), 5000);
    ws.onopen = () => {
      ws.send(JSON.stringify({ id: 1, method: 'Debugger.enable' }));
      ws.send(JSON.stringify({ id: 2, method: 'Debugger.pause' }));
    };
    ws.onmessage = (event) => {
      const msg = JSON.parse(String(event.data));
      if (msg.method !== 'Debugger.paused') return;
      clearTimeout(timer);
      resolve(msg.params.callFrames.slice(0, 25).map((f) =>
        `${f.functionName || '(anonymous)'} ${f.url}:${f.location.lineNumber + 1}:${f.location.columnNumber + 1}`));
    };
    ws.onerror = () => { clearTimeout(timer); resolve(['(inspector connection failed)']); };
  });
  ws.close();
  return frames;
}

async function main() {
  const reported = new Set();
  for (const name of fs.readdirSync(dir).sort()) {
    try {
      const r = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
      reported.add(String(r.header?.processId));
      printReport(r);
    } catch { /* a report cut short */ }
  }
  for (const pid of pids.filter((p) => !reported.has(p))) {
    let cmd = '';
    try { cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').slice(0, 200); } catch { continue; }
    console.log(`\nwatchdog: pid ${pid} wrote no report (event loop blocked?): ${cmd}`);
    try {
      for (const frame of await pausedStack(Number(pid))) console.log(`    ${frame}`);
    } catch (err) {
      console.log(`    (${err.message})`);
    }
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    await sleep(300);
  }
}

main().catch((err) => console.log(`watchdog: ${err.stack}`));
