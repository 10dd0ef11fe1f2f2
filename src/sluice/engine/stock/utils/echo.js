// The parameters, as they came.
function main(params) {
  return params || {};
}
