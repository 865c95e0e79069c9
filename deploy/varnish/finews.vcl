# finews behind Varnish 7 with vmod-xkey (Debian: apt-get install varnish varnish-modules).
#
#   varnishd -a :80 -f /srv/finews/current/deploy/varnish/finews.vcl -s malloc,1g -p vsl_mask=-Timestamp,-ReqAcct,-Hit
#
# (deploy/varnish/varnish.service.d/finews.conf says why the log leaves those records out).
#
# finews names in an xkey header what each public page shows and, after every change, sends
# "PURGE /" with the affected keys in xkey-purge to each Varnish in FRONT_CACHE_URLS. Pages stay
# cached until a purge names one of their keys (or s-maxage, the fallback, runs out).
vcl 4.1;

import directors;
import std;
import var;
import xkey;

# finews answers while its database does. A probe waits as long as a reader's request would for
# a finews-web that is restarting (an upgrade: its socket holds the requests until the new workers
# are up, tens of seconds on a loaded host), rather than calling it down and answering 503 to every
# request that is not kept. Sick after 3 of the last 5 probes failed: 6 s when nothing listens, 36 s
# when finews does not answer; healthy again after 3 good ones.
probe finews_health {
    .url = "/healthz";
    .interval = 2s;
    .timeout = 10s;
    .window = 5;
    .threshold = 3;
    .initial = 3;
}

# Every gunicorn serving finews: one backend each (finews_2, finews_3, … like this one), each added
# to the director in vcl_init. Requests go to them in turn, skipping those the probe finds down.
backend finews_1 {
    .host = "127.0.0.1";
    .port = "8000";
    .probe = finews_health;
}

sub vcl_init {
    new finews = directors.round_robin();
    finews.add_backend(finews_1);
}

# Who may purge: every host that runs finews (its web workers and its import).
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    set req.backend_hint = finews.backend();
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Purging is not allowed from this address"));
        }
        if (req.http.xkey-purge !~ "^[A-Za-z0-9_ -]+$") {
            return (synth(400, "xkey-purge must hold the keys to purge"));
        }
        # The newest announcement purged: see vcl_backend_response.
        if (std.integer(req.http.X-Announced, 0) > std.integer(var.global_get("announced"), 0)) {
            var.global_set("announced", req.http.X-Announced);
        }
        # Soft: a purged page is fetched again, but kept for grace while finews is down.
        set req.http.x-purged = xkey.softpurge(req.http.xkey-purge);
        return (synth(200, "Purged " + req.http.x-purged));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # Never shared: the admin, the API, health and metrics, and whatever carries credentials or a
    # session (editors, who may preview drafts): passed both ways, never stored.
    if (req.url ~ "^/(admin|api|healthz|metrics)(/|$|\?)" || req.http.Authorization || req.http.Cookie ~ "(^|;\s*)sessionid=") {
        return (pass);
    }
    # Readers' cookies (analytics, csrftoken) change nothing finews serves them.
    unset req.http.Cookie;
    # Fresh while finews answers (purges keep pages right); stale copies only while it does not,
    # or after a fetch failed (the restart from vcl_synth).
    if (req.restarts == 0 && std.healthy(req.backend_hint)) {
        set req.grace = 0s;
    } else {
        # The page's own stale-if-error (its grace) is the limit.
        set req.grace = 365d;
    }
    return (hash);
}

sub vcl_hash {
    # Pages embed their scheme (canonical links, feeds): https and http are different pages.
    hash_data(req.http.X-Forwarded-Proto);
}

sub vcl_backend_response {
    # Only what finews says a shared cache may keep (public pages, static files): never a 404 that
    # a new article will fill, a redirect, an error or anything that sets a cookie.
    if (beresp.http.Cache-Control !~ "public" || beresp.http.Set-Cookie) {
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        return (deliver);
    }
    # A page rendered before an announcement that has been purged meanwhile may show what the
    # change replaced, and its purge came too early to remove it: not kept. (X-Announced is the
    # announcement finews had seen when it began the page.)
    if (std.integer(beresp.http.X-Announced, 0) < std.integer(var.global_get("announced"), 0)) {
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        return (deliver);
    }
    # Compressed once, as it is stored, rather than by the TLS proxy on every hit; Varnish unzips
    # it for the rare client that does not take gzip. (Static files come compressed by WhiteNoise.)
    if (!beresp.http.Content-Encoding && beresp.http.Content-Type ~ "^(text/|application/([a-z+]*xml|json|javascript))") {
        set beresp.do_gzip = true;
    }
    # stale-if-error: how long past its TTL a page may be served while finews is down.
    set beresp.grace = std.duration(regsub(beresp.http.Cache-Control, "^.*stale-if-error=([0-9]+).*$", "\1s"), 0s);
    # Kept a while longer still, to be revalidated with If-None-Match (often a 304 from finews).
    set beresp.keep = 1h;
    return (deliver);
}

sub vcl_backend_error {
    # A failed fetch goes to vcl_synth, which tries again allowing a stale copy.
    return (abandon);
}

sub vcl_synth {
    if (resp.status == 503 && req.restarts == 0 && (req.method == "GET" || req.method == "HEAD")) {
        return (restart);
    }
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    unset resp.http.xkey;
    unset resp.http.X-Announced;
}
