// The lines in JavaScript's default order (as text), and how many there are.
function main(params) {
  const lines = Array.isArray(params.lines) ? [...params.lines].sort() : [];
  return { lines, length: lines.length };
}
