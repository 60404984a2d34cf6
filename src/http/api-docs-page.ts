import type { OpenApiDocument, Operation } from './openapi.js';

/**
 * `/docs`: the OpenAPI document as one readable page, rendered on the server from the document
 * itself (no script, no third-party viewer to ship): every operation with its parameters, request
 * body, answers and a curl line, then every schema.
 */

const METHODS = ['get', 'post', 'put', 'delete'] as const;

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A document field as text: strings as they are, anything else as JSON. */
function field(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Escapes, then shows `backticked` words as code, as the descriptions write them. */
function prose(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function anchor(method: string, path: string): string {
  return `${method}-${path.replace(/[^a-zA-Z0-9]+/g, '-').replace(/^-+|-+$/g, '')}`;
}

/** A schema in one line: a link for a reference, else its type and constraints. */
function schemaSummary(schema: unknown): string {
  if (schema === null || typeof schema !== 'object') return '';
  const s = schema as Record<string, unknown>;
  const target = s['$ref'];
  if (typeof target === 'string') {
    const name = target.split('/').pop() ?? target;
    return `<a href="#schema-${escapeHtml(name)}">${escapeHtml(name)}</a>`;
  }
  const oneOf = s['oneOf'] ?? s['anyOf'];
  if (Array.isArray(oneOf)) return oneOf.map(schemaSummary).join(' or ');
  const parts: string[] = [];
  if (typeof s['type'] === 'string') parts.push(s['type']);
  for (const key of ['pattern', 'minimum', 'maximum', 'maxLength', 'minItems']) {
    if (s[key] !== undefined) parts.push(`${key} ${JSON.stringify(s[key])}`);
  }
  return `<code>${escapeHtml(parts.join(', ') || 'any JSON')}</code>`;
}

/** The bearer token an operation takes, if any: the first security scheme it names. */
function tokenOf(operation: Operation): string | undefined {
  return Object.keys(operation.security?.[0] ?? {})[0];
}

function curlLine(method: string, path: string, operation: Operation): string {
  const url = `http://127.0.0.1:8000${path.replace('{id}', '1').replace('{name}', 'sub1')}`;
  const auth =
    tokenOf(operation) === 'clusterToken' ? ` -H "Authorization: Bearer $CLUSTER_TOKEN"` : '';
  if (method === 'get') return `curl${auth} ${url}`;
  const body = path.includes('/faults') ? '{"partitioned":true}' : '{"message":"hello","w":2}';
  return `curl -X ${method.toUpperCase()}${auth} ${url} -H 'content-type: application/json' -d '${body}'`;
}

function renderOperation(method: string, path: string, operation: Operation): string {
  const parameters = operation.parameters ?? [];
  const rows = parameters
    .map((parameter) => {
      const name = field(parameter['name']);
      const where = field(parameter['in']);
      const required = parameter['required'] === true ? 'yes' : 'no';
      const description =
        typeof parameter['description'] === 'string' ? prose(parameter['description']) : '';
      return `<tr><td><code>${escapeHtml(name)}</code></td><td>${where}</td><td>${required}</td><td>${schemaSummary(parameter['schema'])}</td><td>${description}</td></tr>`;
    })
    .join('');
  const parameterTable =
    parameters.length === 0
      ? ''
      : `<table><caption>Parameters</caption><thead><tr><th scope="col">name</th><th scope="col">in</th><th scope="col">required</th><th scope="col">schema</th><th scope="col">meaning</th></tr></thead><tbody>${rows}</tbody></table>`;
  const bodySchema = (
    operation.requestBody?.['content'] as Record<string, { schema?: unknown }> | undefined
  )?.['application/json']?.schema;
  const body =
    bodySchema === undefined ? '' : `<p><strong>Body:</strong> ${schemaSummary(bodySchema)}</p>`;
  const responses = Object.entries(operation.responses)
    .map(([status, response]) => {
      const content = response['content'] as Record<string, { schema?: unknown }> | undefined;
      const schema = content === undefined ? '' : schemaSummary(Object.values(content)[0]?.schema);
      return `<li><span class="status s${status[0] ?? ''}">${escapeHtml(status)}</span> ${prose(field(response['description']))}${schema === '' ? '' : ` — ${schema}`}</li>`;
    })
    .join('');
  const token = tokenOf(operation);
  const security =
    token === 'clusterToken'
      ? '<p class="note">Needs <code>Authorization: Bearer &lt;CLUSTER_TOKEN&gt;</code> when the cluster has a token.</p>'
      : token === 'apiToken'
        ? '<p class="note">Needs <code>Authorization: Bearer &lt;API_TOKEN&gt;</code> when the master was started with one.</p>'
        : '';
  return `<section class="operation" id="${anchor(method, path)}" aria-labelledby="${anchor(method, path)}-title">
<h3 id="${anchor(method, path)}-title"><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code> — ${escapeHtml(operation.summary)}</h3>
<p>${prose(operation.description)}</p>${security}${parameterTable}${body}
<h4>Answers</h4><ul class="responses">${responses}</ul>
<pre><code>${escapeHtml(curlLine(method, path, operation))}</code></pre>
</section>`;
}

export function renderApiPage(document: OpenApiDocument): string {
  const operations: string[] = [];
  const index: string[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation === undefined) continue;
      operations.push(renderOperation(method, path, operation));
      index.push(
        `<li><a href="#${anchor(method, path)}"><span class="method ${method}">${method.toUpperCase()}</span> ${escapeHtml(path)}</a></li>`,
      );
    }
  }
  const schemas = Object.entries(document.components['schemas'] as Record<string, unknown>)
    .map(
      ([name, schema]) =>
        `<section id="schema-${escapeHtml(name)}" aria-labelledby="schema-${escapeHtml(name)}-title"><h3 id="schema-${escapeHtml(name)}-title">${escapeHtml(name)}</h3><pre><code>${escapeHtml(JSON.stringify(schema, null, 2))}</code></pre></section>`,
    )
    .join('\n');
  const info = document.info;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(field(info['title']))} API</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1a1a1a; background: #fff; }
header, main { max-width: 60rem; margin: 0 auto; padding: 0 1rem; }
header { border-bottom: 1px solid #ccc; }
a { color: #0b4f9c; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.9em; }
pre { background: #f3f3f3; padding: 0.75rem; overflow-x: auto; border-radius: 4px; }
table { border-collapse: collapse; margin: 0.5rem 0; width: 100%; }
caption { text-align: left; font-weight: 600; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
.method { display: inline-block; min-width: 3.5rem; font: 700 0.8rem ui-monospace, monospace; padding: 0.1rem 0.3rem; border-radius: 3px; color: #fff; text-align: center; }
.get { background: #0b5e2a; } .post { background: #0b4f9c; } .put { background: #7a4a00; } .delete { background: #9c1b1b; }
.status { font: 700 0.9rem ui-monospace, monospace; }
.s2 { color: #0b5e2a; } .s4 { color: #7a4a00; } .s5 { color: #9c1b1b; }
.operation { border-top: 1px solid #ddd; padding-top: 0.5rem; }
.note { background: #fff6e0; padding: 0.25rem 0.5rem; }
nav ul { columns: 2; list-style: none; padding: 0; }
@media (max-width: 40rem) { nav ul { columns: 1; } }
</style>
</head>
<body>
<header>
<h1>${escapeHtml(field(info['title']))} <small>API ${escapeHtml(field(info['version']))}</small></h1>
<p>${prose(field(info['description']))}</p>
<p>This page is generated from <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escapeHtml(document.openapi)}).</p>
</header>
<main>
<nav aria-label="Operations"><h2>Operations</h2><ul>${index.join('')}</ul></nav>
<h2>Endpoints</h2>
${operations.join('\n')}
<h2>Schemas</h2>
${schemas}
</main>
</body>
</html>
`;
}
