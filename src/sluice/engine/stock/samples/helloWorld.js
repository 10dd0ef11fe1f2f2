// Writes a greeting to the activation's logs; the result is empty.
function main(params) {
  console.log(`hello ${params.payload}!`);
  return {};
}
