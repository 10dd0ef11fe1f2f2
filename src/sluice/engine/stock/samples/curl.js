// What a GET of the payload's URL answers (http:// when it names no scheme), or why it failed.
// It reaches only what the function's network allows.
async function main(params) {
  const target = String(params.payload || '');
  if (!target) {
    return { error: "The parameter 'payload' is required." };
  }
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(target) ? target : `http://${target}`;
  console.log(`Curl to ${url}`);
  try {
    const answer = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return { msg: await answer.text() };
  } catch (error) {
    const reason = error.cause ? `${error.message}: ${error.cause.message || error.cause}` : error.message;
    console.log(reason);
    return { msg: reason };
  }
}
