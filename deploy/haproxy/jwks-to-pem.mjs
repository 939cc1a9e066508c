// Writes Portico's active public signing key as PEM, for HAProxy's jwt_verify (which takes a
// PEM file, not a JWKS). Node.js 18 or later; no packages.
//
// Usage: node jwks-to-pem.mjs <Portico's public URL> <output.pem>
// Prints the key's `kid` and `alg` (set PORTICO_ALG to the latter). Portico publishes its
// active key first; run this again and reload HAProxy after a key rotation.

import crypto from 'node:crypto';
import fs from 'node:fs';

const [portico, output] = process.argv.slice(2);
if (!portico || !output) {
  console.error('usage: node jwks-to-pem.mjs <Portico URL> <output.pem>');
  process.exit(2);
}
const url = new URL('oauth2/jwks', portico.endsWith('/') ? portico : `${portico}/`);
const response = await fetch(url);
if (!response.ok) throw new Error(`${url} answered ${response.status}`);
const { keys } = await response.json();
const [jwk] = keys ?? [];
if (!jwk) throw new Error(`${url} lists no key`);
const pem = crypto.createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
fs.writeFileSync(output, pem);
console.log(JSON.stringify({ kid: jwk.kid, alg: jwk.alg }));
