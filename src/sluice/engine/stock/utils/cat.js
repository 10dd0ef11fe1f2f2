// The lines, and their text joined with newlines.
function main(params) {
  const lines = Array.isArray(params.lines) ? params.lines : [];
  return { lines, payload: lines.join('\n') };
}
