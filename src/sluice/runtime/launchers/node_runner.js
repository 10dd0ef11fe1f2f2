// Sluice's Node.js runner: one process, one action, one call at a time.
//
// The parent talks to this process over the socket on the fd given as argv[2], one JSON line
// each way; stdout and stderr belong to the function (its logs). After every call, and after a
// failed init, the line XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX goes to stdout and to stderr.
//
//   {"op":"init","main":"main","env":{...},"code":"..."}  or  ..."dir":"/unpacked/zip"}
//       -> {"ok":true} | {"error":"<why>"}
//   {"op":"run","value":{...},"env":{"__OW_...":"..."},"limit":<result bytes>}
//       -> {"result":<json>} | {"error":"<developer error message>"} | {"oversize":<bytes>}
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');

const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n';
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const channel = new net.Socket({ fd: Number(process.argv[2]), readable: true, writable: true });
channel.setEncoding('utf8');

let mainFn = null;
let callEnv = [];
let pending = [];
let queue = Promise.resolve();

channel.on('data', (chunk) => {
  // look for line ends in the new chunk only: big messages stay linear
  let start = 0;
  let end;
  while ((end = chunk.indexOf('\n', start)) >= 0) {
    pending.push(chunk.slice(start, end));
    const line = pending.join('');
    pending = [];
    start = end + 1;
    queue = queue.then(() => handle(line));
  }
  if (start < chunk.length) pending.push(chunk.slice(start));
});
channel.on('end', () => process.exit(0));
channel.on('error', () => process.exit(0));

function reply(answer) {
  channel.write(answer + '\n');
}

function endOfActivation() {
  process.stdout.write(SENTINEL);
  process.stderr.write(SENTINEL);
}

async function handle(line) {
  let message;
  try {
    message = JSON.parse(line);
  } catch (e) {
    reply(JSON.stringify({ error: 'bad message: ' + e }));
    return;
  }
  if (message.op === 'init') {
    reply(JSON.stringify(init(message)));
  } else if (message.op === 'run') {
    reply(await run(message));
  } else {
    reply(JSON.stringify({ error: 'unknown op ' + message.op }));
  }
}

function init(message) {
  if (mainFn !== null) {
    endOfActivation();
    return { error: 'Cannot initialize the action more than once.' };
  }
  try {
    for (const [key, value] of Object.entries(message.env || {})) {
      process.env[key] = String(value);
    }
    const name = message.main || 'main';
    mainFn = message.dir !== undefined ? loadDir(message.dir, name) : loadText(message.code, name);
    return { ok: true };
  } catch (e) {
    console.error(e && e.stack ? e.stack : String(e));
    endOfActivation();
    return { error: String(e) };
  }
}

function loadText(code, name) {
  if (typeof code !== 'string' || code.trim() === '') {
    throw 'Missing main/no code to execute.';
  }
  const dir = path.join(process.cwd(), 'action');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'index.js');
  // OpenWhisk also finds a top-level `function main` that is not exported
  const tail = IDENTIFIER.test(name)
    ? `\n;module.__sluiceMain = typeof ${name} === 'function' ? ${name} : undefined;\n`
    : '\n';
  fs.writeFileSync(file, code + tail);
  const exported = require(file);
  return entry(exported, name, require.cache[require.resolve(file)]);
}

function loadDir(dir, name) {
  // the package's main: package.json "main", else index.js
  return entry(require(dir), name, null);
}

function entry(exported, name, mod) {
  if (exported && typeof exported[name] === 'function') {
    return exported[name];
  }
  if (mod && typeof mod.__sluiceMain === 'function') {
    return mod.__sluiceMain;
  }
  if (typeof exported === 'function' && name === 'main') {
    return exported;
  }
  throw new Error(`Action entrypoint '${name}' is not a function.`);
}

function setCallEnv(env) {
  for (const key of callEnv) {
    if (!(key in env)) delete process.env[key];
  }
  callEnv = Object.keys(env);
  for (const key of callEnv) process.env[key] = String(env[key]);
}

async function run(message) {
  let answer;
  try {
    answer = await outcome(message);
  } catch (e) {
    answer = JSON.stringify({ error: 'An error has occurred: ' + e });
  }
  endOfActivation();
  return answer;
}

async function outcome(message) {
  if (mainFn === null) {
    return JSON.stringify({ error: 'The action has not been initialized.' });
  }
  setCallEnv(message.env || {});
  let result;
  try {
    result = mainFn(message.value);
  } catch (e) {
    console.error(e && e.stack ? e.stack : String(e));
    return JSON.stringify({ error: 'An error has occurred: ' + e });
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    try {
      result = await result;
    } catch (e) {
      // a rejected promise is the function's own failure: an application error
      result = { error: e === undefined || e === null ? {} : serializeError(e) };
    }
  }
  if (result === undefined) result = {};
  if (result === null || typeof result !== 'object') {
    return JSON.stringify({ error: 'The action did not return a dictionary.' });
  }
  const text = JSON.stringify(result);
  if (text === undefined) {
    return JSON.stringify({ error: 'The action did not return a dictionary.' });
  }
  const size = Buffer.byteLength(text);
  if (size > message.limit) return `{"oversize":${size}}`;
  return `{"result":${text}}`;
}

// As the serialize-error package OpenWhisk's runtime uses: own enumerable fields (functions
// dropped, cycles marked), then name, message and stack.
function serializeError(value) {
  if (typeof value === 'function') return `[Function: ${value.name || 'anonymous'}]`;
  if (typeof value !== 'object') return value;
  return destroyCircular(value, []);
}

function destroyCircular(from, seen) {
  const to = Array.isArray(from) ? [] : {};
  seen.push(from);
  for (const key of Object.keys(from)) {
    const value = from[key];
    if (typeof value === 'function') continue;
    if (!value || typeof value !== 'object') {
      to[key] = value;
    } else if (seen.indexOf(value) === -1) {
      to[key] = destroyCircular(value, seen.slice(0));
    } else {
      to[key] = '[Circular]';
    }
  }
  if (typeof from.name === 'string') to.name = from.name;
  if (typeof from.message === 'string') to.message = from.message;
  if (typeof from.stack === 'string') to.stack = from.stack;
  return to;
}
