// The payload cut at each separator (a string, or line ends when none is given).
function main(params) {
  if (params.payload === undefined || params.payload === null) {
    return { error: "The parameter 'payload' is required." };
  }
  const separator = params.separator || /\r?\n/;
  return { lines: String(params.payload).split(separator), payload: params.payload };
}
