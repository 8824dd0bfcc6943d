/**
 * The nginx and Caddy configurations of docs/GATEWAYS.md, as text with three addresses to
 * fill in: the gateway tests run them as they are (wrapped in what a test needs around
 * them: temp paths, no daemon), and the documentation test checks the page shows them
 * with its example addresses. One text, so the page cannot drift from what is tested.
 */
export interface GatewayAddresses {
  /** Where the gateway listens: a port (`8080`), or `host:port`. */
  readonly listen: string;
  /** tokenwarden's `host:port`. */
  readonly tokenwarden: string;
  /** The protected service's `host:port`. */
  readonly upstream: string;
}

/** The addresses the documentation shows. */
export const DOCUMENTED_ADDRESSES: GatewayAddresses = {
  listen: '8080',
  tokenwarden: '127.0.0.1:3000',
  upstream: '127.0.0.1:9000',
};

const fill = (template: string, at: GatewayAddresses) =>
  template
    // Caddy's site address: `:8080` for a port, `http://host:port` for an address.
    .replaceAll('{CADDY_SITE}', at.listen.includes(':') ? `http://${at.listen}` : `:${at.listen}`)
    .replaceAll('{LISTEN}', at.listen)
    .replaceAll('{TOKENWARDEN}', at.tokenwarden)
    .replaceAll('{UPSTREAM}', at.upstream);

const NGINX = `upstream tokenwarden {
    server {TOKENWARDEN};
    keepalive 16;
}

server {
    listen {LISTEN};

    # Every path needs a valid access token; /admin/ needs the admin role too.
    location / {
        auth_request /_tokenwarden;
        include tokenwarden-identity.conf;
        proxy_pass http://{UPSTREAM};
    }
    location /admin/ {
        auth_request /_tokenwarden_admin;
        include tokenwarden-identity.conf;
        proxy_pass http://{UPSTREAM};
    }

    location = /_tokenwarden {
        internal;
        proxy_pass http://tokenwarden/api/v1/forward-auth;
        include tokenwarden-check.conf;
    }
    location = /_tokenwarden_admin {
        internal;
        proxy_pass http://tokenwarden/api/v1/forward-auth?role=admin;
        include tokenwarden-check.conf;
    }
}
`;

/** tokenwarden-check.conf: the subrequest carries the Authorization header, never the body. */
const NGINX_CHECK = `proxy_pass_request_body off;
proxy_set_header Content-Length "";
proxy_http_version 1.1;
proxy_set_header Connection "";
`;

/**
 * tokenwarden-identity.conf: the answer's identity headers to the upstream. proxy_set_header
 * replaces a header of the same name, so one a client sent never reaches it.
 */
const NGINX_IDENTITY = `auth_request_set $tokenwarden_sub $upstream_http_x_tokenwarden_sub;
auth_request_set $tokenwarden_sid $upstream_http_x_tokenwarden_sid;
auth_request_set $tokenwarden_role $upstream_http_x_tokenwarden_role;
proxy_set_header X-Tokenwarden-Sub $tokenwarden_sub;
proxy_set_header X-Tokenwarden-Sid $tokenwarden_sid;
proxy_set_header X-Tokenwarden-Role $tokenwarden_role;
`;

const CADDY = `{CADDY_SITE} {
	# Every path needs a valid access token; /admin/* needs the admin role too. The
	# X-Tokenwarden-* headers reach the upstream only from tokenwarden's answer: a client's
	# are dropped first, in either spelling (some servers read _ as -).
	@admin path /admin/*
	route @admin {
		request_header -X-Tokenwarden-*
		request_header -X_Tokenwarden_*
		forward_auth {TOKENWARDEN} {
			uri /api/v1/forward-auth?role=admin
			copy_headers X-Tokenwarden-Sub X-Tokenwarden-Sid X-Tokenwarden-Role
		}
		reverse_proxy {UPSTREAM}
	}
	route {
		request_header -X-Tokenwarden-*
		request_header -X_Tokenwarden_*
		forward_auth {TOKENWARDEN} {
			uri /api/v1/forward-auth
			copy_headers X-Tokenwarden-Sub X-Tokenwarden-Sid X-Tokenwarden-Role
		}
		reverse_proxy {UPSTREAM}
	}
}
`;

/** The nginx site and its two include files, as the documentation shows them. */
export function nginxConfig(at: GatewayAddresses): {
  readonly site: string;
  readonly check: string;
  readonly identity: string;
} {
  return { site: fill(NGINX, at), check: NGINX_CHECK, identity: NGINX_IDENTITY };
}

/** The Caddyfile site block, as the documentation shows it. */
export function caddySite(at: GatewayAddresses): string {
  return fill(CADDY, at);
}
