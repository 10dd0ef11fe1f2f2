// Sluice's Node.js runner: one process, one action, up to `concurrency` calls at once.
//
// The parent talks to this process over the socket on the fd given as argv[2], one JSON line
// each way; every message carries the id of its call and every answer line starts with that
// id and a space. stdout and stderr belong to the function (its logs).
//
//   {"op":"init","id":1,"main":"main","env":{...},"concurrency":N,"code":"..."}  or  "dir":...
//       -> 1 {"ok":true} | 1 {"error":"<why>"}
//   {"op":"run","id":2,"value":{...},"env":{"__OW_...":"..."},"limit":<result bytes>}
//       -> 2 {"result":<json>} | 2 {"error":"<developer error message>"} | 2 {"oversize":<bytes>}
//   {"op":"cancel","id":2}    (concurrency > 1: the call timed out; its output is closed)
//
// With concurrency 1, after every call and after a failed init the line
// XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX goes to stdout and to stderr. With concurrency > 1 the
// calls run side by side: AsyncLocalStorage follows each call through its callbacks and
// promises, and every line it writes through process.stdout / process.stderr (console.*
// included) starts with TAG + id + TAG_END, its end marked by such a tagged sentinel. What is
// written outside any call (or straight to the file descriptors) carries no tag: the parent
// keeps it in its own log. process.env shows each call its own __OW_* variables.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const { AsyncLocalStorage } = require('async_hooks');

const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n';
const TAG = '\x1esluice:';
const TAG_END = '\x1e';
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const channel = new net.Socket({ fd: Number(process.argv[2]), readable: true, writable: true });
channel.setEncoding('utf8');

let mainFn = null;
let callEnv = [];
let pending = [];
let queue = Promise.resolve();
// concurrency > 1: the call each piece of async work belongs to, and the calls still running
let calls = null;
const running = new Map();

channel.on('data', (chunk) => {
  // look for line ends in the new chunk only: big messages stay linear
  let start = 0;
  let end;
  while ((end = chunk.indexOf('\n', start)) >= 0) {
    pending.push(chunk.slice(start, end));
    const line = pending.join('');
    pending = [];
    start = end + 1;
    if (calls === null) {
      queue = queue.then(() => handle(line));
    } else {
      handle(line); // calls run side by side
    }
  }
  if (start < chunk.length) pending.push(chunk.slice(start));
});
channel.on('end', () => process.exit(0));
channel.on('error', () => process.exit(0));

function reply(id, answer) {
  channel.write(id + ' ' + answer + '\n');
}

function endOfActivation() {
  const call = calls === null ? undefined : calls.getStore();
  if (call !== undefined) {
    endOfCall(call);
    return;
  }
  process.stdout.write(SENTINEL);
  process.stderr.write(SENTINEL);
}

async function handle(line) {
  let message;
  try {
    message = JSON.parse(line);
  } catch (e) {
    reply(0, JSON.stringify({ error: 'bad message: ' + e }));
    return;
  }
  const id = message.id;
  if (message.op === 'init') {
    reply(id, JSON.stringify(init(message)));
  } else if (message.op === 'run') {
    const answer = await (calls === null ? run(message) : runTagged(message));
    if (answer !== null) reply(id, answer);
  } else if (message.op === 'cancel') {
    const call = running.get(id);
    if (call !== undefined) endOfCall(call);
  } else {
    reply(id, JSON.stringify({ error: 'unknown op ' + message.op }));
  }
}

// Concurrency > 1 ------------------------------------------------------------------------

function shareProcess() {
  calls = new AsyncLocalStorage();
  tagWrites(process.stdout, 'stdout');
  tagWrites(process.stderr, 'stderr');
  process.env = callScopedEnv(process.env);
}

function newCall(id, env) {
  return { id, env, tag: TAG + id + TAG_END, partial: { stdout: '', stderr: '' }, done: false };
}

// Each line a running call writes gets its tag; a partial line waits for its end (or the
// call's end) in the call's own buffer, so calls never share a line.
function tagWrites(stream, name) {
  const write = stream.write.bind(stream);
  stream.write = function (chunk, encoding, callback) {
    const call = calls.getStore();
    if (call === undefined || call.done) return write(chunk, encoding, callback);
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    const text =
      typeof chunk === 'string'
        ? chunk
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString(
            typeof encoding === 'string' ? encoding : 'utf8'
          );
    const lines = (call.partial[name] + text).split('\n');
    call.partial[name] = lines.pop();
    if (lines.length === 0) {
      if (callback) process.nextTick(callback);
      return true;
    }
    return write(call.tag + lines.join('\n' + call.tag) + '\n', 'utf8', callback);
  };
  stream.writeUntagged = write;
}

function endOfCall(call) {
  if (call.done) return;
  call.done = true;
  running.delete(call.id);
  for (const name of ['stdout', 'stderr']) {
    process[name].writeUntagged(call.tag + call.partial[name] + SENTINEL);
    call.partial[name] = '';
  }
}

// Work left behind by the code's loading (timers, listeners) is no call's: untagged from now
function closeLines(call) {
  call.done = true;
  for (const name of ['stdout', 'stderr']) {
    if (call.partial[name] !== '') process[name].writeUntagged(call.tag + call.partial[name] + '\n');
    call.partial[name] = '';
  }
}

// __OW_* variables differ per call: each call reads its own, the rest is the process's
function callScopedEnv(base) {
  const own = (key) => {
    const call = calls.getStore();
    return call !== undefined && typeof key === 'string' && Object.hasOwn(call.env, key)
      ? call
      : undefined;
  };
  return new Proxy(base, {
    get(target, key) {
      const call = own(key);
      return call !== undefined ? call.env[key] : target[key];
    },
    has(target, key) {
      return own(key) !== undefined || key in target;
    },
    ownKeys(target) {
      const call = calls.getStore();
      const keys = Reflect.ownKeys(target);
      if (call === undefined) return keys;
      return [...new Set([...keys, ...Object.keys(call.env)])];
    },
    getOwnPropertyDescriptor(target, key) {
      const call = own(key);
      if (call === undefined) return Reflect.getOwnPropertyDescriptor(target, key);
      return { value: call.env[key], writable: true, enumerable: true, configurable: true };
    },
  });
}

async function runTagged(message) {
  const env = {};
  for (const [key, value] of Object.entries(message.env || {})) env[key] = String(value);
  const call = newCall(message.id, env);
  running.set(call.id, call);
  return calls.run(call, async () => {
    let answer;
    try {
      answer = await outcome(message);
    } catch (e) {
      answer = JSON.stringify({ error: 'An error has occurred: ' + e });
    }
    if (call.done) return null; // timed out: the parent has stopped waiting
    endOfCall(call);
    return answer;
  });
}

// ----------------------------------------------------------------------------------------

function init(message) {
  if (mainFn !== null) {
    endOfActivation();
    return { error: 'Cannot initialize the action more than once.' };
  }
  if (message.concurrency > 1) {
    shareProcess();
    // what the code prints while it loads belongs to the call that started the init
    const loading = newCall(message.id, {});
    const answer = calls.run(loading, () => load(message));
    closeLines(loading);
    return answer;
  }
  return load(message);
}

function load(message) {
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
  if (calls === null) setCallEnv(message.env || {});
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
