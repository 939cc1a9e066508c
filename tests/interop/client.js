// The standard client libraries drive Portico's authorization server, as an integrator's
// application would: openid-client 6 (discovery, client_credentials with client_secret_basic and
// client_secret_post, code + PKCE for a confidential and a public client with ID-token
// validation, refresh, userinfo, introspection, revocation) and jose (the RFC 9068 access-token
// check against the JWKS).
//
// Usage: node client.js '<JSON>' where the JSON holds
//   { issuer, redirect_uri, api_scope,
//     confidential: { client_id, client_secret, audience }, public: { client_id, audience } }
// (`audience`: what the `aud` of the client's access tokens must hold; `api_scope`: an API scope
// to ask for in client_credentials, or null).
//
// It prints one JSON line per step: {"step", "ok": true, "data"} or {"step", "ok": false,
// "error"}; a failed step never stops the others. For the browser part of the code flow it
// prints {"authorize": "<url>"} and reads the callback URL (with the code) from its standard
// input: the test signs a person in and consents with plain HTTP requests carrying the session
// cookie. The last line is {"done": true}.

import readline from 'node:readline';
import * as client from 'openid-client';
import * as jose from 'jose';

const input = JSON.parse(process.argv[2]);
const issuer = new URL(input.issuer);
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
// Loopback http: allowed explicitly (openid-client refuses http otherwise).
const insecure = { execute: [client.allowInsecureRequests] };

const report = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

// Runs one step; what `show` makes of its value (or its error) is reported, and the value is
// returned for the steps after it.
const step = async (name, run, show = (value) => value) => {
  try {
    const value = await run();
    report({ step: name, ok: true, data: show(value) });
    return value;
  } catch (error) {
    const cause = error.cause ? ` (${JSON.stringify(error.cause)})` : '';
    report({ step: name, ok: false, error: `${error.name}: ${error.message}${cause}` });
    return undefined;
  }
};

const need = (value, what) => {
  if (value === undefined) throw new Error(`${what} failed before this step`);
  return value;
};

// The RFC 9068 check a resource server makes: signature against the published JWKS,
// `typ: at+jwt`, the issuer, the audience and the expiry.
const jwks = () => jose.createRemoteJWKSet(new URL('/oauth2/jwks', issuer));
const verifyAccessToken = async (token, audience) => {
  const { payload, protectedHeader } = await jose.jwtVerify(token, jwks(), {
    issuer: input.issuer,
    audience,
    typ: 'at+jwt',
    requiredClaims: ['exp', 'iat', 'jti', 'client_id', 'sub'],
  });
  return { header: protectedHeader, claims: payload };
};

// The browser part: the test answers with the URL the person's browser was sent back to.
const browse = async (url) => {
  report({ authorize: url.href });
  const answer = await lines.next();
  if (answer.done) throw new Error('no callback URL on stdin');
  return new URL(answer.value.trim());
};

// Code + PKCE through the browser, then the code exchange with ID-token validation.
const codeFlow = async (config, scope) => {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: input.redirect_uri,
    scope,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const callback = await browse(url);
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  return { tokens, nonce };
};

const { confidential, public: publicClient } = input;

// What a configuration shows of the server's metadata.
const metadataOf = (config) => {
  const metadata = config.serverMetadata();
  return {
    issuer: metadata.issuer,
    token_endpoint: metadata.token_endpoint,
    jwks_uri: metadata.jwks_uri,
    supports_pkce: metadata.supportsPKCE(),
  };
};

const basicConfig = await step(
  'discovery',
  () =>
    client.discovery(
      issuer,
      confidential.client_id,
      { redirect_uris: [input.redirect_uri] },
      client.ClientSecretBasic(confidential.client_secret),
      insecure,
    ),
  metadataOf,
);

const clientCredentials = async (config) => {
  const parameters = input.api_scope ? { scope: input.api_scope } : {};
  const tokens = await client.clientCredentialsGrant(need(config, 'discovery'), parameters);
  const checked = await verifyAccessToken(tokens.access_token, confidential.audience);
  return { token_type: tokens.token_type, scope: tokens.scope, ...checked };
};

await step('client_credentials_basic', () => clientCredentials(basicConfig));

const postConfig = await step(
  'discovery_post',
  () =>
    client.discovery(
      issuer,
      confidential.client_id,
      undefined,
      client.ClientSecretPost(confidential.client_secret),
      insecure,
    ),
  metadataOf,
);
await step('client_credentials_post', () => clientCredentials(postConfig));

// A token checked for another audience is refused by the same check.
await step('access_token_check_refuses_another_audience', async () => {
  const tokens = await client.clientCredentialsGrant(need(basicConfig, 'discovery'), {});
  try {
    await verifyAccessToken(tokens.access_token, 'https://another-api.example/');
  } catch (error) {
    return { refused: error.code };
  }
  throw new Error('a token for another audience passed the check');
});

const confidentialCode = await step(
  'code_pkce_confidential',
  async () => {
    const { tokens, nonce } = await codeFlow(
      need(basicConfig, 'discovery'),
      'openid profile email offline_access',
    );
    // openid-client has validated the ID token (signature, iss, aud, exp, iat, nonce).
    const access = await verifyAccessToken(tokens.access_token, confidential.audience);
    return { tokens, nonce, id_token: tokens.claims(), access };
  },
  ({ tokens, nonce, id_token, access }) => ({
    nonce,
    id_token,
    access_token: access.claims,
    access_token_header: access.header,
    scope: tokens.scope,
    has_refresh_token: typeof tokens.refresh_token === 'string',
  }),
);

await step('userinfo', async () => {
  const { tokens, id_token } = need(confidentialCode, 'the code flow');
  // The subject check is openid-client's own: userinfo's sub must be the ID token's.
  return client.fetchUserInfo(basicConfig, tokens.access_token, id_token.sub);
});

const refreshed = await step(
  'refresh',
  async () => {
    const { tokens, id_token } = need(confidentialCode, 'the code flow');
    const next = await client.refreshTokenGrant(basicConfig, tokens.refresh_token);
    const access = await verifyAccessToken(next.access_token, confidential.audience);
    return {
      access_token: next.access_token,
      rotated:
        next.refresh_token !== tokens.refresh_token && next.access_token !== tokens.access_token,
      same_subject: access.claims.sub === id_token.sub,
    };
  },
  ({ access_token: _, ...shown }) => shown,
);

await step('introspection', async () => {
  const { access_token } = need(refreshed, 'refresh');
  return client.tokenIntrospection(basicConfig, access_token);
});

await step('revocation', async () => {
  const { access_token } = need(refreshed, 'refresh');
  await client.tokenRevocation(basicConfig, access_token, { token_type_hint: 'access_token' });
  const after = await client.tokenIntrospection(basicConfig, access_token);
  return { active_after: after.active };
});

await step('code_pkce_public', async () => {
  const config = await client.discovery(
    issuer,
    publicClient.client_id,
    { redirect_uris: [input.redirect_uri] },
    client.None(),
    insecure,
  );
  const { tokens } = await codeFlow(config, 'openid profile');
  const access = await verifyAccessToken(tokens.access_token, publicClient.audience);
  return { id_token: tokens.claims(), access_token: access.claims, scope: tokens.scope };
});

report({ done: true });
process.exit(0);
