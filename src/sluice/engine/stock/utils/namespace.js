// The namespace of the key the call was made with.
function main() {
  return { namespace: process.env.__OW_NAMESPACE };
}
