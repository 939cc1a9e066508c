// nginx's njs handler for `auth_request`: asks Portico's introspection endpoint (RFC 7662)
// about the request's bearer token, as a gateway client, and lets the request through only
// when the token is active, its application holds an active subscription to this API, the
// token is meant for this API (its `aud` holds the API's resource identifier) and it carries
// the scope the operation requires. Introspection answers for the token as it stands now: a
// revoked token, a cancelled subscription or a blocked application is refused at once.
//
// It reads the nginx variables set in nginx.conf.template ($portico_introspection_endpoint,
// $api_context, $api_audience, $api_required_scope) and the gateway client's credentials from
// the environment (PORTICO_GATEWAY_ID, PORTICO_GATEWAY_SECRET; nginx passes them on through
// its `env` directives).

const CHALLENGE = 'Bearer realm="api"';

// Answers the subrequest: 401 and 403 deny, with the challenge the client is shown.
function deny(r, status, error, description) {
  r.headersOut['WWW-Authenticate'] = `${CHALLENGE}, error="${error}", error_description="${description}"`;
  r.return(status);
}

async function introspect(r) {
  const match = /^Bearer +([\x21-\x7e]+)$/i.exec(r.headersIn.Authorization || '');
  if (!match) {
    r.headersOut['WWW-Authenticate'] = CHALLENGE;
    r.return(401);
    return;
  }
  const credentials = Buffer.from(
    `${process.env.PORTICO_GATEWAY_ID}:${process.env.PORTICO_GATEWAY_SECRET}`,
  ).toString('base64');
  let answer;
  try {
    const response = await ngx.fetch(r.variables.portico_introspection_endpoint, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${credentials}`,
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
      },
      body: `token=${encodeURIComponent(match[1])}`,
    });
    if (response.status !== 200) throw new Error(`introspection answered ${response.status}`);
    answer = await response.json();
  } catch (e) {
    // Not a verdict on the token: nginx answers 500, the log says why.
    r.error(`Portico's introspection failed: ${e}`);
    r.return(502);
    return;
  }
  if (answer.active !== true) {
    deny(r, 401, 'invalid_token', 'The token is not active');
    return;
  }
  const subscribed = (answer.subscriptions || []).some((s) => s.context === r.variables.api_context);
  if (!subscribed) {
    deny(r, 403, 'insufficient_scope', 'The application is not subscribed to this API');
    return;
  }
  if (![].concat(answer.aud || []).includes(r.variables.api_audience)) {
    deny(r, 401, 'invalid_token', 'The token is not for this API');
    return;
  }
  const needed = r.variables.api_required_scope;
  if (!(answer.scope || '').split(' ').includes(needed)) {
    r.headersOut['WWW-Authenticate'] = `${CHALLENGE}, error="insufficient_scope", scope="${needed}"`;
    r.return(403);
    return;
  }
  // The API learns who calls it.
  r.headersOut['X-Client-Id'] = answer.client_id;
  r.return(204);
}

export default { introspect };
