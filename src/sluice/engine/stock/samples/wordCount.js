// How many words (separated by spaces) the payload has.
function main(params) {
  if (params.payload === undefined || params.payload === null) {
    return { error: "The parameter 'payload' is required." };
  }
  const text = String(params.payload);
  const count = text.split(' ').length;
  console.log(`The message '${text}' has ${count} words`);
  return { count };
}
