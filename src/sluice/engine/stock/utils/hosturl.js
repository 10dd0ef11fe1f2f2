// The URL that invokes an action (or fires a trigger, or calls a web action) of the caller.
const EXTENSIONS = ['.html', '.http', '.json', '.svg', '.text'];

function main(params) {
  const host = process.env.__OW_API_HOST;
  const namespace = process.env.__OW_NAMESPACE;
  const web = params.web === true;
  const path = typeof params.path === 'string' ? params.path : '';
  if (web && params.trigger) {
    return { error: 'triggers are not allowed for web actions.' };
  }
  if (web && params.ext && !EXTENSIONS.includes(params.ext)) {
    return { error: `extension for web action must be one of [${EXTENSIONS.map((e) => `"${e}"`).join(', ')}].` };
  }
  if (!web && params.trigger && path.includes('/')) {
    return { error: 'triggers are not allowed in packages.' };
  }
  const collection = params.trigger === true ? 'triggers' : 'actions';
  const base = web
    ? `${host}/api/v1/web/${namespace}`
    : `${host}/api/v1/namespaces/${namespace}/${collection}`;
  if (!path) {
    return { url: base };
  }
  const where = web && !path.includes('/') ? `default/${path}` : path;
  return { url: `${base}/${where}${web ? params.ext || '' : ''}` };
}
